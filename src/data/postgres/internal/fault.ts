/**
 * How every PostgreSQL fault is built: the engine's side of src/data/internal/table-fault.ts —
 * sessions from `pg`, `BEGIN READ WRITE` / a read-only repeatable-read snapshot, the catalog's
 * facts about the table. The capture locks the rows in the transaction the injection commits.
 */
import type * as Fault from "../../../Fault.ts"
import { type Bounds, invalidOptions as invalid, scopeRefusals as scopeRefusalsOf } from "../../internal/bounds.ts"
import { type Engine, engineOf, type FaultOptions, make as makeTableFault } from "../../internal/table-fault.ts"
import type { PostgresTarget } from "../targets.ts"
import { requireTable, type TableInfo } from "./catalog.ts"
import { attempt, open, type Session, transaction, withSession } from "./client.ts"
import { show, type TableName } from "./sql.ts"

export { boundIssues, defaults, type DataFaultOptions, issueError } from "../../internal/bounds.ts"
export { providerModule } from "../../internal/table-fault.ts"

export const engine: Engine<Session, TableInfo, TableName> = engineOf({
  name: "postgres",
  open,
  withSession,
  attempt,
  transaction,
  // Writes take row locks in the default READ COMMITTED.
  begin: "BEGIN READ WRITE",
  requireTable,
  show,
})

/** Refuses a fault's options when it is built (every issue at once). */
export const invalidOptions = (fault: string, issues: Parameters<typeof invalid>[1]): void => invalid(`shiftup/data Postgres.${fault}`, issues)

export type { Fields } from "../../internal/table-fault.ts"

export type PgFaultOptions<A, P> = FaultOptions<Session, TableInfo, PostgresTarget, A, P>

export const make = <A, P>(o: PgFaultOptions<A, P>): Fault.Fault => makeTableFault({ ...o, engine, place: { schema: o.table.schema, table: o.table.name } })

/** The refusals of a scope of `rows` rows and about `bytes` bytes under `bounds`. */
export const scopeRefusals = (table: string, rows: number, bytes: number, bounds: Bounds) => scopeRefusalsOf("postgres", table, rows, bytes, bounds)
