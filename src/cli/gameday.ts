/**
 * Game-day controls for CLI runs. Machine-wide state lives in the user's control directory
 * (control.ts: `$SHIFTUP_CONTROL_DIR`, `controlDir` in the config, else
 * `~/.local/state/shiftup/control`), shared by every run of that user whatever its working or
 * state directory.
 *
 * - `shiftup halt` writes `HALT` there: every running `shiftup run` sees it within ~100 ms, aborts
 *   and rolls back (exit 3); runs started while it is there abort at once. `shiftup halt --clear`
 *   removes it.
 * - `shiftup pause` writes `PAUSE`: runs hold before their next method step (faults stay active;
 *   guards, budget deadlines — `maxFaultTime` included — and halt still apply) until
 *   `shiftup resume` removes it.
 * - Partial runs: `--step <id>` (repeatable) keeps only those method steps of a declarative
 *   experiment (the hypothesis and recovery checks always run; the plan and budget cover only
 *   what runs); the experiment gets the tag `partial`.
 * - Approval gates: `--approve <step id>` (repeatable), `--approve faults` or `--approve all`
 *   make the run ask a person on the terminal before those steps; `--yes` approves them (CI).
 *   Declined — or nobody to ask (no TTY, no `--yes`) — aborts the run and rolls back (exit 3).
 *   A value that is none of these is invalid input (exit 4), never a gate that silently matches
 *   nothing.
 */
import { userInfo } from "node:os"
import { createInterface } from "node:readline/promises"
import type { Experiment } from "../Experiment.ts"
import type { Phase, StepRecord } from "../Journal.ts"
import { ApprovalDeclined, fail, InvalidArguments } from "../ShiftupError.ts"
import { has, openControlDir, read, remove, write, type ControlDir } from "./control.ts"

export { openControlDir }
import { closest } from "../internal/suggest.ts"

export interface Halt {
  readonly at: string
  readonly reason: string
  readonly by: string
}

const user = () => {
  try {
    return userInfo().username
  } catch {
    return "unknown"
  }
}

export const requestHalt = (dir: ControlDir, reason: string): Halt => {
  const halt = { at: new Date().toISOString(), reason, by: `${user()} (pid ${process.pid})` }
  write(dir, "HALT", `${JSON.stringify(halt)}\n`)
  return halt
}

export const readHalt = (dir: ControlDir): Halt | undefined => {
  try {
    const text = read(dir, "HALT")
    if (text === undefined) return undefined
    const h = JSON.parse(text) as Partial<Halt>
    return { at: String(h.at ?? ""), reason: String(h.reason ?? "halt"), by: String(h.by ?? "") }
  } catch (e) {
    // A halt file that cannot be read or parsed (even a link, which is not followed) still halts.
    return has(dir, "HALT") ? { at: "", reason: `halt (${String(e)})`, by: "" } : undefined
  }
}

export const clearHalt = (dir: ControlDir): boolean => remove(dir, "HALT")
export const requestPause = (dir: ControlDir): void => write(dir, "PAUSE", `${JSON.stringify({ at: new Date().toISOString(), by: user() })}\n`)
export const isPaused = (dir: ControlDir): boolean => has(dir, "PAUSE")
export const resume = (dir: ControlDir): boolean => remove(dir, "PAUSE")

/** Polls the halt file every `everyMs` (and once now); calls `onHalt` once. Returns a stop function. */
export const watchHalt = (dir: ControlDir, onHalt: (halt: Halt) => void, everyMs = 100): (() => void) => {
  let fired = false
  const check = () => {
    if (fired) return
    const h = readHalt(dir)
    if (h !== undefined) {
      fired = true
      onHalt(h)
    }
  }
  check()
  const timer = setInterval(check, everyMs)
  timer.unref()
  return () => clearInterval(timer)
}

interface Io {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

export interface GateOptions {
  /** Step ids, `faults` or `all`. */
  readonly approve: ReadonlyArray<string>
  readonly yes: boolean
  /** Asks a person; resolves true when they approve. Absent: nobody can be asked (no TTY). */
  readonly ask?: (question: string, signal: AbortSignal) => Promise<boolean>
  readonly signal: AbortSignal
  readonly io: Io
  /** Whether `shiftup pause` is in effect; default never. */
  readonly paused?: () => boolean
}

type StepInfo = { readonly runId: string; readonly id: string; readonly phase: Phase; readonly kind: StepRecord["kind"] }

/** The runner's `beforeStep`: pause while `PAUSE` exists, then the approval gate. */
export const makeGate = (options: GateOptions) => {
  const wanted = new Set(options.approve)
  const needs = (s: StepInfo) => wanted.has("all") || wanted.has(s.id) || (wanted.has("faults") && s.kind === "fault")
  const paused = options.paused ?? (() => false)
  // `step` ends the wait when the run itself stops (e.g. a fault reached budget.maxFaultTime).
  return async (s: StepInfo, step?: AbortSignal): Promise<void> => {
    const over = () => options.signal.aborted || step?.aborted === true
    if (paused()) {
      options.io.err(`shiftup: PAUSED before "${s.id}" (run ${s.runId}); active faults stay in place, within the budget's fault time — \`shiftup resume\` to continue, \`shiftup halt\` to stop\n`)
      while (paused() && !over()) await new Promise((r) => setTimeout(r, 100))
      if (!over()) options.io.err(`shiftup: resumed (run ${s.runId})\n`)
    }
    if (!needs(s)) return
    const what = `${s.kind === "fault" ? "inject" : "run"} "${s.id}"`
    if (options.yes) {
      options.io.out(`  approval ✓ ${what}: approved by --yes\n`)
      return
    }
    if (options.ask === undefined) throw fail(new ApprovalDeclined({ step: s.id, detail: "nobody to ask (no terminal); pass --yes to approve gates in CI" }))
    const ok = await options.ask(`  approval ? ${what} (run ${s.runId}) — proceed? [y/N] `, options.signal)
    if (!ok) throw fail(new ApprovalDeclined({ step: s.id, detail: "declined at the terminal" }))
    options.io.out(`  approval ✓ ${what}: approved at the terminal\n`)
  }
}

let openQuestions = 0
/** Whether a question is open on the terminal (the live progress line waits meanwhile). */
export const asking = (): boolean => openQuestions > 0

/** Asks on a terminal (or any pair of streams); only "y" or "yes" approves. */
export const askOn =
  (input: NodeJS.ReadableStream, output: NodeJS.WritableStream) =>
  async (question: string, signal: AbortSignal): Promise<boolean> => {
    const rl = createInterface({ input, output, terminal: false })
    openQuestions++
    try {
      // On a terminal, first clear the live progress line the question would otherwise follow.
      const clear = (output as { readonly isTTY?: boolean }).isTTY === true ? "\r\u001b[2K" : ""
      const answer = await rl.question(`${clear}${question}`, { signal })
      return /^\s*y(es)?\s*$/i.test(answer)
    } catch {
      return false
    } finally {
      openQuestions--
      rl.close()
    }
  }

/**
 * Runs `body` under the game-day controls: its signal also fires on a halt; its `beforeStep`
 * pauses and asks for approvals. A halt makes the exit code at least 3 (aborted); with a halt
 * already in effect, nothing starts.
 */
export const withGameDay = async (
  options: {
    readonly signal: AbortSignal | undefined
    readonly io: Io
    readonly tty: boolean
    readonly approve: ReadonlyArray<string>
    readonly yes: boolean
    /** The control directory to watch for halt and pause (`run`; none for `plan`), from `openControlDir`. */
    readonly control: ControlDir | undefined
  },
  body: (signal: AbortSignal, beforeStep: (s: StepInfo, step?: AbortSignal) => Promise<void>) => Promise<number>,
): Promise<number> => {
  const dir = options.control
  if (dir !== undefined) {
    const h = readHalt(dir)
    if (h !== undefined) {
      options.io.err(`shiftup: HALT in effect since ${h.at}${h.by === "" ? "" : ` (by ${h.by})`}: ${h.reason} — not starting; \`shiftup halt --clear\` allows runs again\n`)
      return 3
    }
  }
  let halted = false
  const control = new AbortController()
  const follow = () => control.abort(options.signal?.reason)
  if (options.signal?.aborted === true) follow()
  options.signal?.addEventListener("abort", follow, { once: true })
  const stop =
    dir !== undefined
      ? watchHalt(dir, (h) => {
        if (control.signal.aborted) return
        options.io.err(`\nshiftup: HALT requested${h.by === "" ? "" : ` by ${h.by}`}: ${h.reason} — aborting and rolling back every fault\n`)
        halted = true
        control.abort(`halt: ${h.reason}`)
      })
    : () => undefined
  const gate = makeGate({
    approve: options.approve,
    yes: options.yes,
    signal: control.signal,
    io: options.io,
    ...(dir === undefined ? {} : { paused: () => isPaused(dir) }),
    ...(options.tty && process.stdin.isTTY === true ? { ask: askOn(process.stdin, process.stderr) } : {}),
  })
  try {
    const code = await body(control.signal, gate)
    return halted && code < 3 ? 3 : code
  } finally {
    stop()
    options.signal?.removeEventListener("abort", follow)
  }
}

/** Who a control in `dir` reaches, for the commands' messages. */
const reach = (dir: ControlDir) => `every shiftup run ${dir.team ? "of the team sharing" : `of ${user()} using`} ${dir.path} (${dir.source})`

/** `shiftup halt [reason…] [--clear]`, `shiftup pause`, `shiftup resume`; `controlDir` from the config. */
export const controlCommand = (command: "halt" | "pause" | "resume", rest: ReadonlyArray<string>, clear: boolean, controlDir: string | undefined, io: Io): number => {
  const dir = openControlDir(controlDir)
  if (command === "halt" && clear) {
    io.out(clearHalt(dir) ? `halt cleared (${dir.path}): runs may start again\n` : `no halt in effect (${dir.path})\n`)
    return 0
  }
  if (command === "halt") {
    const h = requestHalt(dir, rest.length === 0 ? "emergency stop" : rest.join(" "))
    io.out(`HALT requested at ${h.at}: ${reach(dir)} aborts and rolls back now.\nNew runs abort at once until \`shiftup halt --clear\`.\n`)
    return 0
  }
  if (command === "pause") {
    requestPause(dir)
    io.out(`pause requested: ${reach(dir)} holds before its next step, faults stay active (within the budget's fault time); \`shiftup resume\` to continue\n`)
    return 0
  }
  io.out(resume(dir) ? "resumed: paused runs continue\n" : "nothing was paused\n")
  return 0
}

/**
 * `--approve` values, checked before anything runs: `faults`, `all`, or the id of a method step
 * of the selected (declarative) experiments. A typo would otherwise be a gate that never asks.
 */
export const checkApprovals = (selected: ReadonlyArray<{ readonly experiment: Experiment }>, approve: ReadonlyArray<string>): void => {
  const steps = [...new Set(selected.flatMap((x) => (x.experiment.body._tag === "Steps" ? x.experiment.body.steps.map((s) => s.id) : [])))]
  const valid = ["faults", "all", ...steps]
  const unknown = approve.filter((a) => !valid.includes(a))
  if (unknown.length === 0) return
  const generators = selected.filter((x) => x.experiment.body._tag === "Gen").map((x) => `"${x.experiment.id}"`)
  const named = unknown.map((u) => {
    const near = closest(u, valid)
    return `"${u}"${near === undefined ? "" : ` (did you mean ${near}?)`}`
  })
  throw fail(
    new InvalidArguments({
      detail: `--approve ${named.join(", ")}: no such step; use \`faults\`, \`all\`${steps.length === 0 ? "" : ` or a method step id: ${steps.map((x) => `"${x}"`).join(", ")}`}${
        generators.length === 0 ? "" : ` (the steps of generator experiment ${generators.join(", ")} exist only at run time: gate them with \`faults\` or \`all\`)`
      }`,
    }),
  )
}

/**
 * Partial runs by step id: keeps the experiments that have any of `ids` among their method
 * steps, each with only those steps. Unknown ids, and generator experiments (whose steps exist
 * only at run time), are invalid input.
 */
export const selectSteps = <X extends { readonly experiment: Experiment }>(selected: ReadonlyArray<X>, ids: ReadonlyArray<string>): ReadonlyArray<X> => {
  const wanted = new Set(ids)
  const out: Array<X> = []
  const found = new Set<string>()
  for (const x of selected) {
    const body = x.experiment.body
    if (body._tag !== "Steps") {
      throw fail(new InvalidArguments({ detail: `--step cannot select steps of generator experiment "${x.experiment.id}" (its steps exist only at run time); use --tag to pick experiments` }))
    }
    const steps = body.steps.filter((s) => wanted.has(s.id))
    for (const s of steps) found.add(s.id)
    if (steps.length === 0) continue
    const tags = x.experiment.tags.includes("partial") ? x.experiment.tags : [...x.experiment.tags, "partial"]
    out.push({ ...x, experiment: { ...x.experiment, tags, body: { _tag: "Steps", steps } } })
  }
  const missing = ids.filter((i) => !found.has(i))
  if (missing.length > 0) {
    const known = selected.flatMap((x) => (x.experiment.body._tag === "Steps" ? x.experiment.body.steps.map((s) => s.id) : []))
    throw fail(new InvalidArguments({ detail: `no method step ${missing.map((m) => `"${m}"`).join(", ")}; steps: ${known.map((k) => `"${k}"`).join(", ")}` }))
  }
  return out
}
