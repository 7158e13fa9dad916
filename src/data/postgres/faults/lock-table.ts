/**
 * Lock a table: a session of shiftup's holds `LOCK TABLE … IN <mode> MODE` in an open
 * transaction until the rollback, so an experiment sees what the application does when its
 * writes (or reads) wait: does it time out and fail closed, retry forever, pile up connections?
 * Its compensation, `data.postgres.end-sessions`, ends the marked session (internal/hold.ts).
 */
import type * as Fault from "../../../Fault.ts"
import { requireTable } from "../internal/catalog.ts"
import * as PgFault from "../internal/fault.ts"
import { holdFault, type HoldFaultOptions, maxHoldOf } from "../internal/hold.ts"
import { qualified, show } from "../internal/sql.ts"
import { scoped, type PostgresTarget } from "../targets.ts"

export type LockMode = "access share" | "row share" | "row exclusive" | "share update exclusive" | "share" | "share row exclusive" | "exclusive" | "access exclusive"

const modes: ReadonlyArray<LockMode> = ["access share", "row share", "row exclusive", "share update exclusive", "share", "share row exclusive", "exclusive", "access exclusive"]

export interface LockTableOptions extends HoldFaultOptions {
  /** A table of the target's scope. */
  readonly table: string
  /**
   * The lock (PostgreSQL's table-level lock modes). Default `access exclusive`: readers and
   * writers wait. `exclusive` lets plain reads through; `share` blocks writes only.
   */
  readonly mode?: LockMode
}

/**
 * Holds a table lock until the rollback.
 *
 * @example
 * Data.Postgres.lockTable(shop, { table: "public.orders", mode: "exclusive" })
 */
export const lockTable = (target: PostgresTarget, options: LockTableOptions): Fault.Fault => {
  const { table, issue } = scoped(target, String(options.table ?? ""), "table")
  const mode = options.mode ?? "access exclusive"
  const hold = maxHoldOf(options)
  PgFault.invalidOptions("lockTable", [
    ...(issue === undefined ? [] : [issue]),
    ...(modes.includes(mode) ? [] : [{ path: "mode", message: `"${String(mode)}" is not a lock mode: ${modes.join(", ")}` }]),
    ...hold.issues,
  ])
  const t = table as NonNullable<typeof table>
  const id = options.id ?? `lock ${show(t)}`
  const missing = (detail: string) => PgFault.issueError(`fault "${id}"`, "table", detail)
  return holdFault({
    id,
    title: `lock ${show(t)} in ${mode} mode`,
    target,
    maxHoldMs: hold.ms,
    early: 1,
    description: `end the session holding the ${mode} lock on ${show(t)}`,
    preflight: async (s) => {
      await requireTable(s, t, missing)
      return []
    },
    inject: async ([s]) => {
      await s?.query("BEGIN")
      await s?.query(`LOCK TABLE ${qualified(t)} IN ${mode.toUpperCase()} MODE`)
    },
  })
}
