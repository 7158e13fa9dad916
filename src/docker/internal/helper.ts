/**
 * Runs a host helper program (`nsenter`, `iptables`, `tc`, `ip`) so that only shiftup decides
 * when it ends. A terminal's Ctrl-C goes to its whole foreground process group: a helper in that
 * group dies with the first or second Ctrl-C, in the middle of a rollback, leaving a DROP rule
 * or a tbf behind. So every helper starts in a process group (and session) of its own, and is
 * killed — the whole group, by the helper's own pid — only by its deadline or by the fiber that
 * waits for it being interrupted.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { Effect } from "effect"

export interface HelperOptions {
  readonly timeoutMs: number
  /** Open file descriptors the helper gets as its fds 3, 4…: a namespace held open, say. */
  readonly fds?: ReadonlyArray<number>
  /** Written to its standard input (then closed). */
  readonly input?: string
}

/** How a helper ended when it did not exit 0. */
export interface HelperFailure {
  /** An errno string (`ENOENT`: not installed) when it could not be started, else its exit code. */
  readonly code?: string | number
  /** Killed by its deadline (the whole group, SIGKILL). */
  readonly killed: boolean
  readonly signal: string | null
  readonly stderr: string
  readonly message: string
}

const maxOutput = 16 * 1024 * 1024

/** Kills a helper's process group (by the helper's pid, which leads it). */
const killGroup = (child: ChildProcess): void => {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, "SIGKILL")
  } catch (e) {
    // ESRCH: every process of the group has exited already. Anything else: at least the helper itself.
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") child.kill("SIGKILL")
  }
}

/** Signals a terminal sends to its foreground process group. */
const terminalSignals = new Set(["SIGINT", "SIGQUIT", "SIGHUP", "SIGTSTP"])

/**
 * Runs `file args` (no shell) in its own process group; resolves with its stdout.
 *
 * A terminal's signal can still reach a helper in one instant: between the fork and its
 * `setsid`, the child is in this process's group, its signals blocked; the signal stays pending
 * and ends it right before it would have run its program. So a helper that dies of a terminal's
 * signal never ran, and is started again (a few times: Ctrl-C pressed again and again).
 */
export const runHelper = (file: string, args: ReadonlyArray<string>, options: HelperOptions): Effect.Effect<string, HelperFailure> =>
  spawnHelper(file, args, options).pipe(
    Effect.retry({ while: (e) => !e.killed && e.signal !== null && terminalSignals.has(e.signal), times: 10 }),
  )

const spawnHelper = (file: string, args: ReadonlyArray<string>, options: HelperOptions): Effect.Effect<string, HelperFailure> =>
  Effect.callback<string, HelperFailure>((resume, signal) => {
    const child = spawn(file, [...args], {
      // A new session and process group: a signal to the terminal's group never reaches it.
      detached: true,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe", ...(options.fds ?? [])],
      env: { ...process.env, LC_ALL: "C" },
    })
    let stdout = ""
    let stderr = ""
    let killed = false
    let settled = false
    const stop = () => {
      killed = true
      killGroup(child)
    }
    const timer = setTimeout(stop, options.timeoutMs)
    signal.addEventListener("abort", stop, { once: true })
    const done = (result: Effect.Effect<string, HelperFailure>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal.removeEventListener("abort", stop)
      resume(result)
    }
    child.stdout?.setEncoding("utf8").on("data", (c: string) => {
      stdout += c
      if (stdout.length > maxOutput) stop()
    })
    child.stderr?.setEncoding("utf8").on("data", (c: string) => {
      stderr += c
    })
    // A helper that exits before reading all of it fails on its own (its exit code says why).
    child.stdin?.on("error", () => undefined)
    child.stdin?.end(options.input)
    child.once("error", (e: NodeJS.ErrnoException) => done(Effect.fail({ code: e.code ?? "error", killed: false, signal: null, stderr, message: e.message })))
    child.once("close", (code, sig) => {
      if (code === 0 && !killed) return done(Effect.succeed(stdout))
      done(Effect.fail({ ...(code === null ? {} : { code }), killed, signal: sig, stderr, message: `${file} exited ${code ?? sig}` }))
    })
  })
