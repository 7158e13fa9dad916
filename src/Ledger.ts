/**
 * The ledger: an append-only JSONL file per run. Before a fault is injected its intent and
 * compensation are appended and fsynced (invariant 2), so that `shiftup recover` — in another
 * process, after a crash or a SIGKILL — can replay every compensation still pending.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import type { Compensation } from "./Compensation.ts"
import { processAlive } from "./internal/process.ts"
import { describeUnknown, fail, LedgerError, type ShiftupError } from "./ShiftupError.ts"

/**
 * Where a fresh process finds a compensation kind's compensator: `shiftup` (built in), an adapter
 * subpath (`shiftup/docker`), or the absolute path of a module (a config file) whose default
 * export's `compensators`, or whose named export `compensators`, has it.
 */
export type ModuleRef = string

export type Record =
  | {
      readonly type: "run"
      readonly runId: string
      readonly experiment: string
      readonly pid: number
      readonly egress?: ReadonlyArray<string>
      /** The modules providing the compensation kinds this run may ledger (plan time). */
      readonly providers?: ReadonlyArray<{ readonly module: ModuleRef; readonly kinds: ReadonlyArray<string> }>
      readonly at: string
    }
  | {
      readonly type: "intent"
      readonly seq: number
      readonly fault: string
      readonly target: string
      /** Member ids of the target the fault acts on (for target leases). */
      readonly members?: ReadonlyArray<string>
      /** The module providing this compensation's compensator. */
      readonly module?: ModuleRef
      readonly compensation: Compensation
      readonly at: string
    }
  | { readonly type: "applied"; readonly seq: number; readonly at: string }
  | { readonly type: "rolled-back"; readonly seq: number; readonly by: "runner" | "recover" | "watchdog"; readonly at: string }
  | { readonly type: "rollback-failed"; readonly seq: number; readonly by: "runner" | "recover" | "watchdog"; readonly error: string; readonly at: string }
  | { readonly type: "end"; readonly status: string; readonly at: string }

export interface Writer {
  readonly path: string
  readonly append: (record: Record) => Effect.Effect<void, ShiftupError>
}

export const ledgerDir = (stateDir: string) => join(stateDir, "ledger")

const now = () => new Date().toISOString()
export const stamp = now

/** Where the ledger of run `runId` lives. */
export const pathOf = (stateDir: string, runId: string) => join(ledgerDir(stateDir), `${runId}.jsonl`)

/** Opens (creating) the ledger of a run and writes its header record, durably. */
export const open = (
  stateDir: string,
  runId: string,
  experiment: string,
  egress?: ReadonlyArray<string>,
  providers?: ReadonlyArray<{ readonly module: ModuleRef; readonly kinds: ReadonlyArray<string> }>,
): Effect.Effect<Writer, ShiftupError> =>
  Effect.gen(function* () {
    const path = join(ledgerDir(stateDir), `${runId}.jsonl`)
    const append = (record: Record) => appendRecord(path, record)
    yield* Effect.try({
      try: () => mkdirSync(ledgerDir(stateDir), { recursive: true }),
      catch: (e) => fail(new LedgerError({ path, detail: describeUnknown(e) })),
    })
    yield* append({ type: "run", runId, experiment, pid: process.pid, ...(egress === undefined ? {} : { egress }), ...(providers === undefined ? {} : { providers }), at: now() })
    // The new file's directory entry must be durable too, or a crash could lose the whole ledger.
    yield* Effect.try({
      try: () => {
        const fd = openSync(ledgerDir(stateDir), "r")
        try {
          fsyncSync(fd)
        } finally {
          closeSync(fd)
        }
      },
      catch: (e) => fail(new LedgerError({ path, detail: `cannot fsync its folder: ${describeUnknown(e)}` })),
    })
    return { path, append }
  })

/** Appends one record durably: open, write, fsync, close. */
export const appendRecord = (path: string, record: Record): Effect.Effect<void, ShiftupError> =>
      Effect.try({
        try: () => {
          // Open-append-fsync-close per record: a record is either fully on disk or not at all,
          // and no descriptor outlives a crash.
          const fd = openSync(path, "a", 0o600)
          try {
            writeSync(fd, `${JSON.stringify({ v: 1, ...record })}\n`)
            fsyncSync(fd)
          } finally {
            closeSync(fd)
          }
        },
        catch: (e) => fail(new LedgerError({ path, detail: `cannot append: ${describeUnknown(e)}` })),
      })

/** Reads a ledger; a torn last line (a crash mid-write) is ignored, as its injection never ran. */
export const read = (path: string): ReadonlyArray<Record> => {
  const lines = readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "")
  const records: Array<Record> = []
  for (const [i, line] of lines.entries()) {
    try {
      records.push(JSON.parse(line) as Record)
    } catch (e) {
      if (i !== lines.length - 1) throw new Error(`line ${i + 1} is not JSON: ${describeUnknown(e)}`)
    }
  }
  return records
}

export interface Pending {
  readonly seq: number
  readonly fault: string
  readonly target: string
  /** The target's members the fault acts on (absent in ledgers written before leases). */
  readonly members?: ReadonlyArray<string>
  readonly compensation: Compensation
  readonly applied: boolean
}

/** Intents without a `rolled-back` record, newest first (the order to undo them in). */
export const pending = (records: ReadonlyArray<Record>): ReadonlyArray<Pending> => {
  const done = new Set(records.flatMap((r) => (r.type === "rolled-back" ? [r.seq] : [])))
  const applied = new Set(records.flatMap((r) => (r.type === "applied" ? [r.seq] : [])))
  return records
    .flatMap((r) => (r.type === "intent" && !done.has(r.seq) ? [{ seq: r.seq, fault: r.fault, target: r.target, ...(r.members === undefined ? {} : { members: r.members }), compensation: r.compensation, applied: applied.has(r.seq) }] : []))
    .reverse()
}

/** The ledgers of a state directory. */
export const list = (stateDir: string): ReadonlyArray<string> => {
  try {
    return readdirSync(ledgerDir(stateDir))
      .filter((f) => f.endsWith(".jsonl"))
      .sort()
      .map((f) => join(ledgerDir(stateDir), f))
  } catch {
    return []
  }
}

/** The run header and whether its process is still alive (then `recover` must not touch it). */
export const owner = (
  records: ReadonlyArray<Record>,
): { readonly runId: string; readonly pid: number; readonly alive: boolean; readonly ended: boolean; readonly egress: ReadonlyArray<string> | undefined } | undefined => {
  const head = records.find((r) => r.type === "run")
  if (head === undefined || head.type !== "run") return undefined
  const ended = records.some((r) => r.type === "end")
  const alive = !ended && (head.pid === process.pid || processAlive(head.pid))
  return { runId: head.runId, pid: head.pid, alive, ended, egress: head.egress }
}
