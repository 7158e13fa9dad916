/**
 * The ledger: an append-only JSONL file per run. Before a fault is injected its intent and
 * compensation are appended and fsynced (invariant 2), so that `shiftup recover` — in another
 * process, after a crash or a SIGKILL — can replay every compensation still pending.
 *
 * A record counts as written only when every byte of it is written, and the header and intents
 * only once fsynced too; a short write is continued, and a failed one (ENOSPC, EIO) is a
 * `LedgerError`, so the fault an intent announces is not injected. Reading validates every record and tells a crash's torn last line from corruption
 * (see internal/ledger-codec.ts). Ledgers and their folder are owner-only, and `recover` refuses a
 * ledger another user could have written.
 */
import { closeSync, fstatSync, fsyncSync, lstatSync, openSync, readdirSync, readFileSync, readSync, writeSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import type { Compensation } from "./Compensation.ts"
import { ensureDir, errnoOf } from "./internal/dirs.ts"
import { parse } from "./internal/ledger-codec.ts"
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
  /** Line `line` is a torn record (an append cut short); written by the next append, before its own record. */
  | { readonly type: "torn"; readonly line: number; readonly at: string }

export interface Writer {
  readonly path: string
  readonly append: (record: Record) => Effect.Effect<void, ShiftupError>
}

export const ledgerDir = (stateDir: string) => join(stateDir, "ledger")

const now = () => new Date().toISOString()
export const stamp = now

/** Where the ledger of run `runId` lives. */
export const pathOf = (stateDir: string, runId: string) => join(ledgerDir(stateDir), `${runId}.jsonl`)

const ledgerError = (path: string, what: string, e: unknown, line?: number) => {
  const errno = errnoOf(e)
  return fail(new LedgerError({ path, detail: `${what}: ${describeUnknown(e)}`, ...(errno === undefined ? {} : { errno }), ...(line === undefined ? {} : { line }) }))
}

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
      try: () => {
        if (stateDir === "") throw new Error("the state directory is an empty string; give a directory (default .shiftup)")
        ensureDir(ledgerDir(stateDir))
      },
      catch: (e) => ledgerError(path, `cannot create its folder ${ledgerDir(stateDir)}`, e),
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
      catch: (e) => ledgerError(path, "cannot fsync its folder", e),
    })
    return { path, append }
  })

/** Writes all of `buf` at the end of `fd`: `write` may take only part of it (a nearly full disk). */
const writeAll = (fd: number, buf: Buffer): void => {
  let written = 0
  try {
    while (written < buf.length) {
      const n = writeSync(fd, buf, written)
      if (n <= 0) throw Object.assign(new Error("the system accepted no more bytes"), { code: "EIO" })
      written += n
    }
  } catch (e) {
    throw Object.assign(new Error(`wrote ${written} of ${buf.length} bytes: ${describeUnknown(e)}`), { code: errnoOf(e) })
  }
}

/**
 * What must precede the next record: nothing after a newline; a newline after a complete record
 * someone forgot to end; a newline and a `torn` marker after a torn line.
 */
const repairPrefix = (fd: number): string => {
  const size = fstatSync(fd).size
  if (size === 0) return ""
  const last = Buffer.alloc(1)
  readSync(fd, last, 0, 1, size - 1)
  if (last[0] === 0x0a) return ""
  const text = readFileSync(fd, "utf8")
  const lines = text.split("\n")
  const tail = lines.at(-1) ?? ""
  try {
    JSON.parse(tail)
    return "\n"
  } catch {
    return `\n${JSON.stringify({ v: 1, type: "torn", line: lines.length, at: now() })}\n`
  }
}

/**
 * The records fsynced before the run goes on: the header (the ledger exists) and each intent
 * (invariant 2: the compensation is durable before the fault exists). The others only record
 * what happened: one lost to an OS crash (not to a crash of the process: the page cache keeps
 * it) leaves an intent pending, which `recover` replays once more, idempotently.
 */
const durable = (record: Record) => record.type === "run" || record.type === "intent"

/**
 * Appends one record (every byte written; fsynced when it is `durable`), ending a torn last line
 * first. A write that fails is a `LedgerError` for every record.
 */
export const appendRecord = (path: string, record: Record): Effect.Effect<void, ShiftupError> =>
  Effect.try({
    try: () => {
      // Open-append-close per record: no descriptor outlives a crash.
      const fd = openSync(path, "a+", 0o600)
      try {
        writeAll(fd, Buffer.from(`${repairPrefix(fd)}${JSON.stringify({ v: 1, ...record })}\n`))
        if (durable(record)) fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
    },
    catch: (e) => ledgerError(path, `cannot append a "${record.type}" record`, e),
  })

export interface Contents {
  readonly path: string
  readonly records: ReadonlyArray<Record>
  /** The 1-based line of each record (parallel to `records`). */
  readonly lines: ReadonlyArray<number>
  /** The last append never completed (a crash, a full disk): its line, skipped. */
  readonly torn?: { readonly line: number; readonly bytes: number }
  /** Corrupt lines skipped because the reader forced it. */
  readonly skipped: ReadonlyArray<{ readonly line: number; readonly reason: string }>
}

/**
 * Reads and validates a ledger. Fails (a `LedgerError` with the line) on a file that cannot be
 * read, is not a ledger, or is corrupt; `force` skips corrupt lines instead (reported in `skipped`).
 */
export const inspect = (path: string, options: { readonly force?: boolean } = {}): Contents => {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (e) {
    throw ledgerError(path, "cannot read it", e)
  }
  const parsed = parse(path, text, options)
  return {
    path,
    records: parsed.records.map((r) => r.value as unknown as Record),
    lines: parsed.records.map((r) => r.line),
    ...(parsed.torn === undefined ? {} : { torn: parsed.torn }),
    skipped: parsed.skipped,
  }
}

/** The records of a ledger; throws a `ShiftupError` (`LedgerError`) on a damaged or unreadable one. */
export const read = (path: string): ReadonlyArray<Record> => inspect(path).records

export interface Pending {
  readonly seq: number
  readonly fault: string
  readonly target: string
  /** The target's members the fault acts on (absent in ledgers written before leases). */
  readonly members?: ReadonlyArray<string>
  readonly compensation: Compensation
  readonly applied: boolean
  /** When the intent was written (its injection was in flight from then until `applied`). */
  readonly at: string
  readonly module?: ModuleRef
}

/** Intents without a `rolled-back` record, newest first (the order to undo them in). */
export const pending = (records: ReadonlyArray<Record>): ReadonlyArray<Pending> => {
  const done = new Set(records.flatMap((r) => (r.type === "rolled-back" ? [r.seq] : [])))
  const applied = new Set(records.flatMap((r) => (r.type === "applied" ? [r.seq] : [])))
  return records
    .flatMap((r) =>
      r.type === "intent" && !done.has(r.seq)
        ? [{ seq: r.seq, fault: r.fault, target: r.target, ...(r.members === undefined ? {} : { members: r.members }), compensation: r.compensation, applied: applied.has(r.seq), at: r.at, ...(r.module === undefined ? {} : { module: r.module }) }]
        : [],
    )
    .reverse()
}

/**
 * The ledgers of a state directory: none when it has no `ledger` folder; a folder that cannot be
 * listed (EACCES, ENOTDIR) is a `LedgerError`, never "no ledgers".
 */
export const list = (stateDir: string): ReadonlyArray<string> => {
  let names: Array<string>
  try {
    names = readdirSync(ledgerDir(stateDir))
  } catch (e) {
    if (errnoOf(e) === "ENOENT") return []
    throw ledgerError(ledgerDir(stateDir), "cannot list the ledgers", e)
  }
  return names
    .filter((f) => f.endsWith(".jsonl"))
    .sort()
    .map((f) => join(ledgerDir(stateDir), f))
}

/**
 * Why a ledger file must not be trusted, or undefined. Like ssh with its keys: it must be a
 * regular file of the current user that nobody else can write, or a forged ledger could make
 * `recover` act on anything.
 */
export const distrust = (path: string): string | undefined => {
  if (typeof process.getuid !== "function") return undefined
  let s: ReturnType<typeof lstatSync>
  try {
    s = lstatSync(path)
  } catch (e) {
    throw ledgerError(path, "cannot read it", e)
  }
  if (!s.isFile()) return `it is not a regular file (${s.isSymbolicLink() ? "a symbolic link" : "a special file"}); recover reads only ledgers a run wrote. Replace it with the file itself`
  const uid = process.getuid()
  if (s.uid !== uid) return `it belongs to uid ${s.uid}, not to you (uid ${uid}): a ledger someone else wrote is not replayed. If it is really yours: chown ${uid} ${path}`
  if ((s.mode & 0o022) !== 0) return `it is writable by ${(s.mode & 0o002) !== 0 ? "everyone" : "its group"} (mode ${(s.mode & 0o777).toString(8)}), so anyone could have edited it. Check its contents, then: chmod 600 ${path}`
  return undefined
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
