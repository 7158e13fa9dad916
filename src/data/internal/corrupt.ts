/**
 * What an SQL `corrupt` is, whatever the engine: its options (checked all at once when the fault
 * is built), its name and title, and how many rows a sample takes. Each engine adds what its
 * columns can take and its own SQL.
 */
import type { Issue } from "../../ShiftupError.ts"
import { boundIssues, boundsOf, type DataFaultOptions, sampleIssues } from "./bounds.ts"
import { show, type TableName } from "./table-name.ts"

export type CorruptMode = "null" | "set" | "truncate" | "negate"

/** A corrupt's options but `value`, whose conversion each engine documents. */
export interface CorruptBase extends DataFaultOptions {
  /** A table of the target's scope. */
  readonly table: string
  readonly column: string
  /** `null`: set NULL; `set`: set `value`; `truncate`: cut text to half its length; `negate`: flip a number's sign. */
  readonly mode: CorruptMode
  readonly value?: string | number | boolean
  /** The share of the scope's rows to change, chosen at random; default 1 (all). */
  readonly sample?: number
  /**
   * An SQL condition narrowing the rows (`status = 'paid'`), written by the experiment's author.
   * It is only ever part of a read (the count and the locking select), never of a write: the
   * change and its restore address rows by primary key.
   */
  readonly where?: string
}

const modes: ReadonlyArray<CorruptMode> = ["null", "set", "truncate", "negate"]

/** Every issue of `options` (`scope`: the table's, from the target). */
export const issues = (options: CorruptBase, scope: Issue | undefined): ReadonlyArray<Issue> => [
  ...(scope === undefined ? [] : [scope]),
  ...boundIssues(options),
  ...(typeof options.column === "string" && options.column !== "" ? [] : [{ path: "column", message: "name the column to corrupt" }]),
  ...(modes.includes(options.mode) ? [] : [{ path: "mode", message: `"${String(options.mode)}" is not a mode: ${modes.join(", ")}` }]),
  ...(options.mode === "set" && options.value === undefined ? [{ path: "value", message: 'mode "set" needs the value to set' }] : []),
  ...(options.mode !== "set" && options.value !== undefined ? [{ path: "value", message: `mode "${options.mode}" takes no value (use mode "set")` }] : []),
  ...sampleIssues(options.sample ?? 1),
]

/** The fault's shape from valid options: its id, the bounds, the `where` clause, how many rows a count takes, its own options. */
export const shape = (options: CorruptBase, table: TableName) => {
  const sample = options.sample ?? 1
  const where = options.where === undefined || options.where.trim() === "" ? "" : ` WHERE (${options.where})`
  const what = options.mode === "set" ? `set to ${JSON.stringify(options.value)}` : options.mode === "null" ? "set to NULL" : options.mode === "truncate" ? "truncated" : "negated"
  const name = `corrupt ${show(table)}.${options.column}`
  const id = options.id ?? name
  const bounds = boundsOf(options)
  const title = `${name} (${what}${sample < 1 ? `, ${Math.round(sample * 100)}% of the rows` : ""}${where === "" ? "" : `, where ${options.where}`})`
  return {
    sample,
    where,
    bounds,
    id,
    /** How many rows the fault takes: the scope's count times the sample, rounded up. */
    take: (count: number) => Math.ceil(count * sample),
    /** The fault's own options: a `disrupt` on rows addressed by primary key. */
    fault: { id, title, table, bounds, safety: "disrupt" as const, rows: true },
  }
}
