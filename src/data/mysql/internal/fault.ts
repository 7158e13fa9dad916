/**
 * How every MySQL/MariaDB fault is built: the engine's side of src/data/internal/table-fault.ts —
 * sessions from `mysql2`, `START TRANSACTION READ WRITE` / a consistent read-only snapshot, the
 * table's facts from information_schema. A row fault needs a transactional table (InnoDB): on
 * MyISAM the before-image and the change could not share a transaction, so it is refused at plan
 * time. Schema faults are DDL, which MySQL commits implicitly: they capture the definition
 * outside a transaction and check it is unchanged before they drop anything.
 */
import type * as Fault from "../../../Fault.ts"
import { type Bounds, invalidOptions as invalid, scopeRefusals as scopeRefusalsOf } from "../../internal/bounds.ts"
import { type Engine, engineOf, type FaultOptions, make as makeTableFault } from "../../internal/table-fault.ts"
import type { MySqlTarget } from "../targets.ts"
import { requireTable, type TableInfo } from "./catalog.ts"
import { attempt, open, type Session, transaction, withSession } from "./client.ts"
import { show, type TableName } from "./sql.ts"

export const engine: Engine<Session, TableInfo, TableName> = engineOf({
  name: "mysql",
  open,
  withSession,
  attempt,
  transaction,
  begin: "START TRANSACTION READ WRITE",
  requireTable,
  show,
})

/** Refuses a fault's options when it is built (every issue at once). */
export const invalidOptions = (fault: string, issues: Parameters<typeof invalid>[1]): void => invalid(`shiftup/data MySql.${fault}`, issues)

export type { Fields } from "../../internal/table-fault.ts"

export type MySqlFaultOptions<A, P> = FaultOptions<Session, TableInfo, MySqlTarget, A, P>

export const make = <A, P>(o: MySqlFaultOptions<A, P>): Fault.Fault =>
  makeTableFault({
    ...o,
    engine,
    transactional: o.rows,
    place: { schema: o.table.schema, table: o.table.name },
    preflight: async (s, info) => {
      if (o.rows && info.engine.toLowerCase() !== "innodb")
        return [{ rule: "data.mysql.not-transactional", detail: `${show(info.table)} uses ${info.engine}, which has no transactions: the before-image and the change could not be made atomically. Convert it to InnoDB, or leave it out of the experiment` }]
      return o.preflight(s, info)
    },
  })

/** The refusals of a scope of `rows` rows and about `bytes` bytes under `bounds`. */
export const scopeRefusals = (table: string, rows: number, bytes: number, bounds: Bounds) => scopeRefusalsOf("mysql", table, rows, bytes, bounds)
