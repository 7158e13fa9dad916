/**
 * Exhaust connections: shiftup opens `connections` idle sessions to the server and keeps them
 * until the rollback, so an experiment sees what the application does when the server answers
 * "too many clients": does it fail closed, queue, fall back to a cache that skips the checks?
 * Bounded twice at plan time: `connections` must not exceed `maxConnections` (default 100), and
 * must leave at least `leave` (default 1) of the slots an ordinary role may use — so `recover`
 * can still connect to end them. Its compensation, `data.postgres.end-sessions`, ends every
 * session carrying the fault's marker (internal/hold.ts).
 */
import type * as Fault from "../../../Fault.ts"
import type { Issue } from "../../../ShiftupError.ts"
import * as PgFault from "../internal/fault.ts"
import { holdFault, type HoldFaultOptions, maxHoldOf } from "../internal/hold.ts"
import type { PostgresTarget } from "../targets.ts"

export interface ExhaustConnectionsOptions extends HoldFaultOptions {
  /** How many sessions to open and hold. */
  readonly connections: number
  /**
   * How many of the slots an ordinary role may use must stay free after them; default 1 (a
   * `recover` after a crash needs one). 0 fills the server: only a superuser gets in.
   */
  readonly leave?: number
  /** The most sessions this fault may ever open; default 100. */
  readonly maxConnections?: number
}

const count = (o: ExhaustConnectionsOptions, k: "connections" | "leave" | "maxConnections", min: number): ReadonlyArray<Issue> =>
  o[k] === undefined || (Number.isInteger(o[k]) && (o[k] as number) >= min) ? [] : [{ path: k, message: `${k} must be an integer of at least ${min}` }]

/**
 * Holds `connections` sessions to the target's server until the rollback.
 *
 * @example
 * Data.Postgres.exhaustConnections(shop, { connections: 90, leave: 1 })
 */
export const exhaustConnections = (target: PostgresTarget, options: ExhaustConnectionsOptions): Fault.Fault => {
  const hold = maxHoldOf(options)
  const maxConnections = options.maxConnections ?? 100
  const leave = options.leave ?? 1
  PgFault.invalidOptions("exhaustConnections", [
    ...(options.connections === undefined ? [{ path: "connections", message: "say how many sessions to open, e.g. connections: 50" }] : count(options, "connections", 1)),
    ...count(options, "leave", 0),
    ...count(options, "maxConnections", 1),
    ...hold.issues,
  ])
  const n = options.connections
  const id = options.id ?? `exhaust connections ${target.endpoint}`
  return holdFault({
    id,
    title: `hold ${n} connections to ${target.endpoint}, leaving ${leave} free`,
    target,
    maxHoldMs: hold.ms,
    early: 0,
    late: n,
    description: `end the ${n} sessions holding connections to ${target.endpoint}`,
    preflight: async (s) => {
      if (n > maxConnections) return [{ rule: "data.postgres.connections-budget", detail: `${n} connections are over maxConnections (${maxConnections}): open fewer, or raise maxConnections` }]
      // The slots an ordinary role may use now; this preflight's own session ends before the fault opens any.
      // Without pg_read_all_stats, other roles' sessions show a NULL backend_type: count every session in a database.
      const [row] = await s.query(
        `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int - coalesce(current_setting('reserved_connections', true), '0')::int
                - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' OR (backend_type IS NULL AND datid IS NOT NULL))::int + 1 AS free,
                (SELECT CASE WHEN rolconnlimit < 0 THEN NULL ELSE rolconnlimit - (SELECT count(*) FROM pg_stat_activity WHERE usesysid = r.oid)::int + 1 END FROM pg_roles r WHERE rolname = current_user) AS role_free`,
      )
      const server = Number(row?.["free"] ?? 0)
      const role = row?.["role_free"] === null || row?.["role_free"] === undefined ? Infinity : Number(row["role_free"])
      const free = Math.min(server, role)
      return n > free - leave
        ? [{ rule: "data.postgres.connections-budget", detail: `${n} connections would leave ${free - n} of the ${free} free slots${role < server ? " (the role's connection limit)" : ""}, fewer than leave (${leave}): open at most ${Math.max(0, free - leave)}` }]
        : []
    },
    inject: async () => undefined,
  })
}
