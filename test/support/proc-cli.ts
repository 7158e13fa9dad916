/**
 * Process-level test support: spawns the real `shiftup` bin (or any node script) as a child of
 * the test, collects its output, and guarantees cleanup. Every child and temp dir belongs to a
 * scope, so leftovers are killed (SIGKILL by pid, through their own handle — never by name) and
 * directories removed when the test that made them ends. Also reads what a run leaves on disk
 * (ledgers, journals) without the library, so a bug there cannot hide itself.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, afterEach } from "vitest"

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url))
export const bin = join(repoRoot, "bin", "shiftup.js")
export const fixture = (...parts: ReadonlyArray<string>) => join(repoRoot, "test", "fixtures", ...parts)

export interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface Proc {
  readonly child: ChildProcess
  readonly pid: number
  readonly stdout: () => string
  readonly stderr: () => string
  /** stdout and stderr together, for "the output mentions X" assertions. */
  readonly output: () => string
  readonly exited: Promise<Exited>
  readonly running: () => boolean
}

export interface SpawnOptions {
  /** Extra environment variables for the child (on top of this process's). */
  readonly env?: Readonly<Record<string, string>>
  /** Working directory; default a fresh temp dir, so no `shiftup.config.ts` or `.shiftup` of the checkout leaks in. */
  readonly cwd?: string
  /** In a process group of its own (pid = group id): `process.kill(-pid, "SIGINT")` is a Ctrl-C at its terminal. */
  readonly detached?: boolean
  /** Node's own flags, before the script (e.g. `["--import", "tsx"]`). */
  readonly nodeArgs?: ReadonlyArray<string>
}

/**
 * What a test created: children and temp dirs, cleaned up together. Serial test files use the
 * file's scope (the free functions below, cleaned after each test); concurrent tests take their
 * own with `testScope(context)`, cleaned when that test finishes, so one test's cleanup never
 * kills another's children.
 */
export interface Scope {
  /** A temp dir removed at cleanup. */
  readonly tempDir: (prefix?: string) => string
  /** Spawns `node <script> …args` with the Node running the tests (24, from node_modules). */
  readonly spawnNode: (script: string, args: ReadonlyArray<string>, options?: SpawnOptions) => Proc
  /** Spawns `shiftup …args` through the real bin. */
  readonly spawnCli: (args: ReadonlyArray<string>, options?: SpawnOptions) => Proc
  /** Runs `shiftup …args` to completion; a child still running after `timeoutMs` is killed and the test fails. */
  readonly runCli: (args: ReadonlyArray<string>, options?: SpawnOptions & { readonly timeoutMs?: number }) => Promise<Result>
  /** Kills every child still running (SIGKILL through its own handle, by pid) and removes the temp dirs. */
  readonly cleanup: () => Promise<void>
}

const scopes = new Set<Scope>()

export const makeScope = (): Scope => {
  const live = new Set<Proc>()
  const dirs = new Set<string>()
  const tempDir = (prefix = "shiftup-it-") => {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    dirs.add(dir)
    return dir
  }
  const spawnNode = (script: string, args: ReadonlyArray<string>, options: SpawnOptions = {}): Proc => {
    const env: Record<string, string | undefined> = { ...process.env, ...options.env }
    // The children are CLI runs, not vitest workers.
    for (const k of ["NODE_OPTIONS", "VITEST", "VITEST_WORKER_ID", "VITEST_POOL_ID", "VITEST_MODE"]) delete env[k]
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], { cwd: options.cwd ?? tempDir("shiftup-cwd-"), env, stdio: ["ignore", "pipe", "pipe"], detached: options.detached ?? false })
    let out = ""
    let err = ""
    let all = ""
    child.stdout?.setEncoding("utf8").on("data", (c: string) => {
      out += c
      all += c
    })
    child.stderr?.setEncoding("utf8").on("data", (c: string) => {
      err += c
      all += c
    })
    let done = false
    const exited = new Promise<Exited>((resolve, reject) => {
      child.once("error", reject)
      // "close" (not "exit"): the pipes are drained, so the output is complete.
      child.once("close", (code, signal) => {
        done = true
        resolve({ code, signal })
      })
    })
    if (child.pid === undefined) throw new Error(`could not spawn ${script}`)
    const proc: Proc = { child, pid: child.pid, stdout: () => out, stderr: () => err, output: () => all, exited, running: () => !done && child.exitCode === null && child.signalCode === null }
    live.add(proc)
    void exited.then(() => live.delete(proc), () => live.delete(proc))
    return proc
  }
  const spawnCli = (args: ReadonlyArray<string>, options: SpawnOptions = {}) => spawnNode(bin, args, options)
  const scope: Scope = {
    tempDir,
    spawnNode,
    spawnCli,
    // Generous: a CLI run takes about a second, but many times that on a machine under load.
    runCli: (args, options = {}) => finish(spawnCli(args, options), options.timeoutMs ?? 50_000, `shiftup ${args.join(" ")}`),
    cleanup: async () => {
      const procs = [...live]
      for (const p of procs) if (p.running()) p.child.kill("SIGKILL")
      await Promise.allSettled(procs.map((p) => p.exited))
      live.clear()
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
      dirs.clear()
    },
  }
  scopes.add(scope)
  return scope
}

/** A scope for one (possibly concurrent) test, cleaned up when it finishes. */
export const testScope = (context: { readonly onTestFinished: (fn: () => Promise<void>) => void }): Scope => {
  const scope = makeScope()
  context.onTestFinished(async () => {
    await scope.cleanup()
    scopes.delete(scope)
  })
  return scope
}

const fileScope = makeScope()
export const { tempDir, spawnNode, spawnCli, runCli } = fileScope

export interface Result extends Exited {
  readonly stdout: string
  readonly stderr: string
  readonly output: string
}

/** Waits for a spawned child to end (killing it after `timeoutMs`) and returns its output. */
export const finish = async (p: Proc, timeoutMs: number, what = `pid ${p.pid}`): Promise<Result> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      p.child.kill("SIGKILL")
      reject(new Error(`${what} did not end within ${timeoutMs} ms; output so far:\n${p.output()}`))
    }, timeoutMs)
  })
  try {
    const r = await Promise.race([p.exited, timeout])
    return { ...r, stdout: p.stdout(), stderr: p.stderr(), output: p.output() }
  } finally {
    clearTimeout(timer)
  }
}

/** Polls `condition` every `everyMs` until it holds; fails after `timeoutMs` with `what`. */
export const waitFor = async (what: string, condition: () => boolean, options: { readonly timeoutMs?: number; readonly everyMs?: number; readonly proc?: Proc } = {}): Promise<void> => {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000)
  for (;;) {
    if (condition()) return
    if (options.proc !== undefined && !options.proc.running()) {
      await options.proc.exited
      if (condition()) return
      throw new Error(`waiting for ${what}: the child ended first (${JSON.stringify(await options.proc.exited)}); output:\n${options.proc.output()}`)
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${options.proc === undefined ? "" : `; output so far:\n${options.proc.output()}`}`)
    await new Promise((r) => setTimeout(r, options.everyMs ?? 10))
  }
}

/**
 * Registers cleanup: the file's scope after each test, and every scope left (a concurrent
 * test's, should its own hook not have run) after the file.
 */
export const useProcessCleanup = (): void => {
  afterEach(() => fileScope.cleanup())
  afterAll(async () => {
    await Promise.all([...scopes].map((s) => s.cleanup()))
  })
}

// ── the state a run leaves: ledgers (JSONL) and journals (JSON), read without the library ──

export interface LedgerRecord {
  readonly type: "run" | "intent" | "applied" | "rolled-back" | "rollback-failed" | "end"
  readonly seq?: number
  readonly pid?: number
  readonly [k: string]: unknown
}

export const ledgerFiles = (stateDir: string): ReadonlyArray<string> => {
  const dir = join(stateDir, "ledger")
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".jsonl")).sort().map((f) => join(dir, f)) : []
}

/** Every complete record of a ledger (a torn last line, as a crash leaves it, is skipped). */
export const readLedger = (file: string): ReadonlyArray<LedgerRecord> => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch {
    return []
  }
  return text.split("\n").flatMap((line) => {
    try {
      return line.trim() === "" ? [] : [JSON.parse(line) as LedgerRecord]
    } catch {
      return []
    }
  })
}

/** All records of every ledger in a state dir. */
export const ledgerRecords = (stateDir: string): ReadonlyArray<LedgerRecord> => ledgerFiles(stateDir).flatMap(readLedger)

/** Intents with no `rolled-back` record: compensations still owed to the world. */
export const pendingIntents = (stateDir: string): ReadonlyArray<LedgerRecord> =>
  ledgerFiles(stateDir).flatMap((f) => {
    const records = readLedger(f)
    const done = new Set(records.filter((r) => r.type === "rolled-back").map((r) => r.seq))
    return records.filter((r) => r.type === "intent" && !done.has(r.seq))
  })

export interface JournalDoc {
  readonly schema: string
  readonly runId: string
  readonly experiment: { readonly id: string; readonly tags: ReadonlyArray<string> }
  readonly status: string
  readonly exitCode: number
  readonly summary: string
  readonly dryRun: boolean
  readonly refusal?: { readonly rule: string; readonly target: string; readonly step: string; readonly reason: string }
  readonly plan?: { readonly decisions: ReadonlyArray<{ readonly step: string; readonly target: string; readonly safety: string; readonly allowed: boolean; readonly rule: string }>; readonly contacts?: ReadonlyArray<unknown> }
  readonly abort?: { readonly cause: string; readonly detail: string }
  readonly steps: ReadonlyArray<{ readonly id: string; readonly kind: string; readonly outcome: string; readonly phase: string; readonly message?: string }>
  readonly findings: ReadonlyArray<{ readonly id: string }>
  readonly rollbacks: ReadonlyArray<{ readonly fault: string; readonly outcome: string; readonly durationMs: number; readonly error?: string }>
  readonly errors: ReadonlyArray<{ readonly tag: string; readonly message: string }>
}

export const readJournal = (file: string): JournalDoc => JSON.parse(readFileSync(file, "utf8")) as JournalDoc

/** Every journal under `<stateDir>/journals`. */
export const journals = (stateDir: string): ReadonlyArray<JournalDoc> => {
  const dir = join(stateDir, "journals")
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => readJournal(join(dir, f))) : []
}
