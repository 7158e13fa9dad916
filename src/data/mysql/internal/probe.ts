/** What the integrity probes share: the table they read, and one read-only snapshot to read it in. */
import { Effect } from "effect"
import { fail, InvalidExperiment, ProbeFailed, type ShiftupError } from "../../../ShiftupError.ts"
import type { MySqlTarget } from "../targets.ts"
import { type Session, transaction, withSession } from "./client.ts"
import { parseTable, type TableName } from "./sql.ts"

export interface TableProbeOptions {
  /** The table to read (any table the server lets the user read: observing is not touching). */
  readonly table: string
  readonly id?: string
}

export const tableOf = (target: MySqlTarget, o: TableProbeOptions, probe: string): TableName => {
  const t = typeof o.table === "string" ? parseTable(o.table.trim(), target.database) : undefined
  if (t === undefined) throw fail(new InvalidExperiment({ source: `shiftup/data MySql.${probe} on "${target.id}"`, issues: [{ path: "table", message: `"${String(o.table)}" is not a table name (database.table)` }] }))
  return t
}

/** `f` in a read-only snapshot of a fresh session; failures are the probe's `ProbeFailed`. */
export const observe = <A>(target: MySqlTarget, id: string, f: (s: Session, missing: (d: string) => Error) => Promise<A>): Effect.Effect<A, ShiftupError> => {
  const failed = (detail: string) => fail(new ProbeFailed({ probe: id, target: target.id, detail }))
  return Effect.suspend(() => withSession(target.connection, failed, (s) => transaction(s, "read only", () => f(s, failed))))
}
