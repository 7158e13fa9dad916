/**
 * A long-running transaction: a session of shiftup's locks rows (`SELECT … FOR UPDATE`) and keeps
 * an old snapshot and a transaction id open until the rollback — writers of those rows wait, and
 * vacuum cannot remove dead rows newer than the snapshot anywhere in the database, so an
 * experiment sees timeouts, lock queues and bloat. Its compensation, `data.postgres.end-sessions`,
 * ends the marked session (internal/hold.ts).
 */
import type * as Fault from "../../../Fault.ts"
import { requireTable } from "../internal/catalog.ts"
import * as PgFault from "../internal/fault.ts"
import { holdFault, type HoldFaultOptions, maxHoldOf } from "../internal/hold.ts"
import { qualified, show } from "../internal/sql.ts"
import { scoped, type PostgresTarget } from "../targets.ts"

export interface LongTransactionOptions extends HoldFaultOptions {
  /** A table of the target's scope. */
  readonly table: string
  /** An SQL condition choosing the rows to lock (`status = 'open'`), written by the experiment's author; default every row. */
  readonly rows?: string
  /** The most rows it may lock; a larger scope is refused at plan time. Default 10 000. */
  readonly maxRows?: number
}

/**
 * Holds a repeatable-read transaction with row locks until the rollback.
 *
 * @example
 * Data.Postgres.longTransaction(shop, { table: "public.orders", rows: "id < 100" })
 */
export const longTransaction = (target: PostgresTarget, options: LongTransactionOptions): Fault.Fault => {
  const { table, issue } = scoped(target, String(options.table ?? ""), "table")
  const hold = maxHoldOf(options)
  PgFault.invalidOptions("longTransaction", [...(issue === undefined ? [] : [issue]), ...PgFault.boundIssues(options), ...hold.issues])
  const t = table as NonNullable<typeof table>
  const maxRows = options.maxRows ?? PgFault.defaults.maxRows
  const where = options.rows === undefined || options.rows.trim() === "" ? "" : ` WHERE (${options.rows})`
  const id = options.id ?? `long transaction ${show(t)}`
  const bad = (path: string, detail: string) => PgFault.issueError(`fault "${id}"`, path, detail)
  return holdFault({
    id,
    title: `long transaction on ${show(t)}${where === "" ? "" : ` (rows where ${options.rows})`}`,
    target,
    maxHoldMs: hold.ms,
    early: 1,
    description: `end the session holding a transaction and row locks on ${show(t)}`,
    preflight: async (s) => {
      await requireTable(s, t, (d) => bad("table", d))
      const [row] = await s.query(`SELECT count(*)::int8::text AS n FROM ${qualified(t)} AS r${where}`).catch((e: Error) => {
        throw where === "" ? e : bad("rows", `the condition \`${options.rows}\` does not run on ${show(t)}: ${e.message}`)
      })
      const n = Number(row?.["n"] ?? 0)
      return n > maxRows ? [{ rule: "data.postgres.scope-too-large", detail: `${n} rows of ${show(t)} would be locked, over maxRows (${maxRows}): narrow \`rows\`, or raise maxRows` }] : []
    },
    inject: async ([s]) => {
      // Repeatable read: the snapshot taken by the first statement stays, and txid_current() gives the transaction an id.
      await s?.query("BEGIN ISOLATION LEVEL REPEATABLE READ")
      await s?.query("SELECT txid_current()")
      const [row] = (await s?.query(`SELECT count(*)::int8::text AS n FROM (SELECT 1 FROM ${qualified(t)} AS r${where} FOR UPDATE OF r) AS locked`)) ?? []
      if (Number(row?.["n"] ?? 0) > maxRows) throw new Error(`more than maxRows (${maxRows}) rows are in scope now: narrow \`rows\`, or raise maxRows`)
    },
  })
}
