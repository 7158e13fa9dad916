/**
 * The ledger's file format: one JSON record per line, each validated against the schema of its
 * `type`, and the rules that tell a crash's torn write from corruption.
 *
 * - A **torn final line** is what a crash (or a full disk) mid-append leaves: the file does not
 *   end with a newline and its last line is a prefix of a record (`{"v":1,"type":"…`). The append
 *   it belongs to never completed, so its runner never acted on it. It is skipped, and the next
 *   append first ends that line and records a `torn` marker naming it.
 * - A line that is not a record anywhere else — unless a `torn` marker right after it names it —
 *   is **corruption**: the ledger is not replayed (without `force`), since what follows the damage
 *   cannot be trusted to say what is still pending.
 * - The first record must be the run header; every `applied`/`rolled-back` names an earlier intent.
 */
import { Schema } from "effect"
import { fail, type Issue, LedgerError, type ShiftupError } from "../ShiftupError.ts"
import { decodeAll } from "./validate.ts"

const Seq = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1))
const By = Schema.Literals(["runner", "recover", "watchdog"])
const Text = Schema.String.check(Schema.isMinLength(1))
const V = { v: Schema.Literal(1), at: Schema.String }

/** The compensation's own fields are its kind's business (checked by that kind's schema before a replay). */
const CompensationShape = Schema.Struct({ kind: Text, description: Schema.String })

export const recordSchemas: Readonly<Record<string, Schema.Top>> = {
  run: Schema.Struct({
    ...V,
    type: Schema.Literal("run"),
    runId: Text,
    experiment: Schema.String,
    pid: Schema.Number.check(Schema.isInt(), Schema.isGreaterThan(0)),
    egress: Schema.optionalKey(Schema.Array(Schema.String)),
    providers: Schema.optionalKey(Schema.Array(Schema.Struct({ module: Text, kinds: Schema.Array(Schema.String) }))),
  }),
  intent: Schema.Struct({
    ...V,
    type: Schema.Literal("intent"),
    seq: Seq,
    fault: Schema.String,
    target: Schema.String,
    members: Schema.optionalKey(Schema.Array(Schema.String)),
    module: Schema.optionalKey(Text),
    compensation: CompensationShape,
  }),
  applied: Schema.Struct({ ...V, type: Schema.Literal("applied"), seq: Seq }),
  "rolled-back": Schema.Struct({ ...V, type: Schema.Literal("rolled-back"), seq: Seq, by: By }),
  "rollback-failed": Schema.Struct({ ...V, type: Schema.Literal("rollback-failed"), seq: Seq, by: By, error: Schema.String }),
  end: Schema.Struct({ ...V, type: Schema.Literal("end"), status: Schema.String }),
  torn: Schema.Struct({ ...V, type: Schema.Literal("torn"), line: Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1)) }),
}

/** Every record starts this way (JSON.stringify of `{ v: 1, type, … }`): what a torn prefix must match. */
export const recordPrefix = '{"v":1,"type":"'

export interface Parsed {
  /** Valid records, each with its 1-based line number. */
  readonly records: ReadonlyArray<{ readonly line: number; readonly value: { readonly type: string; readonly [k: string]: unknown } }>
  /** The torn final line, if the last append never completed. */
  readonly torn?: { readonly line: number; readonly bytes: number }
  /** The file ends without a newline after a complete record: the next append ends the line first. */
  readonly unterminated: boolean
  /** Corrupt lines skipped because the caller forced it. */
  readonly skipped: ReadonlyArray<{ readonly line: number; readonly reason: string }>
}

const issuesText = (issues: ReadonlyArray<Issue>) => issues.map((i) => `${i.path === "" ? "" : `${i.path}: `}${i.message}`).join("; ")

/** Why a JSON value is not a valid ledger record, or undefined when it is. */
export const recordProblem = (value: unknown): string | undefined => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return `it is ${value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`}, not a ledger record`
  const type = (value as { type?: unknown }).type
  const schema = typeof type === "string" ? recordSchemas[type] : undefined
  if (schema === undefined) return `unknown record type ${JSON.stringify(type)}`
  const issues = decodeAll(schema, value, { excess: "ignore" })
  return issues.length === 0 ? undefined : `not a valid "${String(type)}" record: ${issuesText(issues)}`
}

const prefixOfRecord = (text: string) => (text.length <= recordPrefix.length ? recordPrefix.startsWith(text) : text.startsWith(recordPrefix))

/**
 * Parses a ledger file's text. Throws a `LedgerError` naming the line for corruption (unless
 * `force`, which skips corrupt lines and reports them), for a file that is not a ledger, and for
 * records that contradict each other.
 */
export const parse = (path: string, text: string, options: { readonly force?: boolean } = {}): Parsed => {
  const bad = (line: number, detail: string): ShiftupError => fail(new LedgerError({ path, line, detail }))
  if (text === "") return { records: [], unterminated: false, skipped: [] }
  const lines = text.split("\n")
  const terminated = text.endsWith("\n")
  if (terminated) lines.pop()
  const records: Array<Parsed["records"][number]> = []
  const skipped: Array<Parsed["skipped"][number]> = []
  let torn: Parsed["torn"]
  let unterminated = false
  const values = lines.map((line): { ok: true; value: unknown } | { ok: false; error: string } => {
    try {
      return { ok: true, value: JSON.parse(line) }
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) }
    }
  })
  const markedTorn = new Set<number>()
  for (const v of values) if (v.ok) {
    const r = v.value as { type?: unknown; line?: unknown }
    if (r !== null && typeof r === "object" && r.type === "torn" && typeof r.line === "number") markedTorn.add(r.line)
  }
  for (const [i, line] of lines.entries()) {
    const n = i + 1
    const last = i === lines.length - 1 && !terminated
    const v = values[i]
    if (v === undefined) continue
    if (!v.ok || line.trim() === "") {
      if (markedTorn.has(n)) continue
      if (last && prefixOfRecord(line)) {
        torn = { line: n, bytes: Buffer.byteLength(line) }
        continue
      }
      const reason = line.trim() === "" ? "an empty line" : last ? `an incomplete line that is not the start of a ledger record (${v.ok ? "" : v.error})` : `not JSON (${v.ok ? "" : v.error}) and no crash can leave a broken line there: the ledger is corrupt`
      if (options.force === true) {
        skipped.push({ line: n, reason })
        continue
      }
      throw bad(n, `${reason}; nothing after it is replayed unless you pass --force (check the file first)`)
    }
    const problem = recordProblem(v.value)
    if (problem !== undefined) {
      if (options.force === true && records.length > 0) {
        skipped.push({ line: n, reason: problem })
        continue
      }
      throw bad(n, problem)
    }
    if (last) unterminated = true
    records.push({ line: n, value: v.value as Parsed["records"][number]["value"] })
  }
  const first = records[0]
  if (first !== undefined && first.value.type !== "run") throw bad(first.line, `this is not a shiftup ledger: its first record is "${first.value.type}", not the run header`)
  if (first === undefined && skipped.length > 0) throw bad(skipped[0]?.line ?? 1, "this is not a shiftup ledger: it has no valid record")
  const intents = new Set<number>()
  for (const { line, value } of records.slice(1)) {
    if (value.type === "run") throw bad(line, "a second run header: two runs cannot share a ledger")
    const seq = value["seq"] as number | undefined
    if (value.type === "intent") {
      if (seq !== undefined && intents.has(seq)) throw bad(line, `a second intent with seq ${seq}`)
      if (seq !== undefined) intents.add(seq)
    } else if (seq !== undefined && !intents.has(seq)) {
      const reason = `a "${value.type}" record for seq ${seq}, which no earlier intent declares`
      if (options.force !== true) throw bad(line, reason)
      skipped.push({ line, reason })
    }
  }
  return { records, ...(torn === undefined ? {} : { torn }), unterminated, skipped }
}
