/**
 * The bounds every table fault takes, and the refusals of a scope over them: a before-image is
 * sized by `maxRows` and `maxBytes`, and a scope larger than that is refused at plan time —
 * counted on the server, before anything is touched. Shared by the SQL engines.
 */
import type * as Fault from "../../Fault.ts"
import { fail, InvalidExperiment, type Issue } from "../../ShiftupError.ts"

/** Options every table data fault takes. */
export interface DataFaultOptions {
  /** Step id; default `<fault> <table>`. */
  readonly id?: string
  /** The most rows a before-image may hold; a larger scope is refused before anything is touched. Default 10 000. */
  readonly maxRows?: number
  /** The most bytes a before-image may hold (its JSON in the ledger). Default 16 MiB. */
  readonly maxBytes?: number
}

export const defaults = { maxRows: 10_000, maxBytes: 16 * 1024 * 1024 }

export interface Bounds {
  readonly maxRows: number
  readonly maxBytes: number
}

/** The bounds of `o`, defaults filled in. */
export const boundsOf = (o: DataFaultOptions): Bounds => ({ maxRows: o.maxRows ?? defaults.maxRows, maxBytes: o.maxBytes ?? defaults.maxBytes })

/** Issues with the bounds of `o` (positive integers). */
export const boundIssues = (o: DataFaultOptions): ReadonlyArray<Issue> =>
  (["maxRows", "maxBytes"] as const).flatMap((k) => (o[k] === undefined || (Number.isInteger(o[k]) && (o[k] as number) > 0) ? [] : [{ path: k, message: `${k} must be a positive integer` }]))

/** An issue when `sample` is not a share of the rows (more than 0, at most 1). */
export const sampleIssues = (sample: unknown): ReadonlyArray<Issue> =>
  typeof sample === "number" && sample > 0 && sample <= 1 ? [] : [{ path: "sample", message: "sample is a share of the rows: more than 0, at most 1" }]

/** Refuses a fault's options when it is built (every issue at once): `source` is e.g. `shiftup/data Postgres.corrupt`. */
export const invalidOptions = (source: string, issues: ReadonlyArray<Issue>): void => {
  if (issues.length > 0) throw fail(new InvalidExperiment({ source, issues }))
}

/** `InvalidExperiment` for one option of a fault that names something the server does not have. */
export const issueError = (source: string, path: string, message: string) => fail(new InvalidExperiment({ source, issues: [{ path, message }] }))

/** The refusals (rule `data.<engine>.scope-too-large`) of a scope of `rows` rows and about `bytes` bytes under `bounds`. */
export const scopeRefusals = (engine: string, table: string, rows: number, bytes: number, bounds: Bounds): ReadonlyArray<Fault.Refusal> => [
  ...(rows > bounds.maxRows ? [{ rule: `data.${engine}.scope-too-large`, detail: `${rows} rows of ${table} are in scope, over maxRows (${bounds.maxRows}): narrow it with \`where\` or \`sample\`, or raise maxRows` }] : []),
  ...(bytes > bounds.maxBytes ? [{ rule: `data.${engine}.scope-too-large`, detail: `the before-image of ${table} would take about ${bytes} bytes, over maxBytes (${bounds.maxBytes}): narrow the scope, or raise maxBytes` }] : []),
]

/** The message of a capture that finds more rows in scope than at plan time. */
export const grewMessage = (n: number, bounds: Bounds): string =>
  `${n} rows are in scope now, over maxRows (${bounds.maxRows}); nothing was changed. Narrow the scope (where, sample) or raise maxRows`
