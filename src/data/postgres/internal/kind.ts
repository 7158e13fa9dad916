/**
 * Declaring a `data.postgres.*` compensation kind once, for the fault that records it and the
 * compensator that replays it: table kinds through src/data/internal/table-kind.ts (with
 * PostgreSQL's sessions and catalog), server kinds (held sessions, database settings) here.
 * Every record names the server (a URL without a password, and the variable holding it); a
 * credentials failure is `CredentialsRefused` (no retry), any other `RollbackFailed`.
 */
import { Effect, Schema } from "effect"
import * as Compensation from "../../../Compensation.ts"
import { RunContext } from "../../../RunContext.ts"
import { fail, RollbackFailed, type ShiftupError } from "../../../ShiftupError.ts"
import { credentialsRefused } from "../../internal/connection.ts"
import { connectionOf, declareTable, EnvName, ServerUrl, type TableRecord } from "../../internal/table-kind.ts"
import { requireTable } from "./catalog.ts"
import { applicationName, type Session, withSession } from "./client.ts"

export { type Base, connectionOf, EnvName, Key } from "../../internal/table-kind.ts"

export type PgRecord<K extends string, F extends Schema.Struct.Fields> = TableRecord<K, F>

const defaultPort = 5432

/**
 * Declares a `data.postgres.*` kind of a table fault.
 *
 * @example
 * export const RestoreValues = declare({ kind: "data.postgres.restore-values", fields: { … }, undo, verify, settleMs: 5000 })
 */
export const declare = declareTable({
  schemes: ["postgres", "postgresql"],
  defaultPort,
  withSession,
  requireTable,
  // The dead run's sessions are gone (they carry its run id): what one of them was doing (a
  // statement, a COMMIT) has landed or been rolled back, and nothing of it can land after the undo.
  settled: (c, wrap) =>
    Effect.gen(function* () {
      const { runId } = yield* RunContext
      const rows = yield* withSession(c, wrap, (s) => s.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()", [applicationName(runId)]))
      return rows[0]?.["n"] === 0
    }),
})

const server = { url: ServerUrl(["postgres", "postgresql"]), passwordEnv: Schema.optionalKey(EnvName) }

export type PgServerRecord<K extends string, F extends Schema.Struct.Fields> = Compensation.RecordOf<K, typeof server & F>

/** What every record names: the server. */
export interface ServerBase {
  readonly target: string
  readonly url: string
  readonly passwordEnv?: string
}

/** The `RollbackFailed` of a record of `kind`. */
export const rollbackFailed =
  (kind: string, r: ServerBase) =>
  (detail: string): ShiftupError =>
    fail(new RollbackFailed({ fault: kind, target: r.target, detail }))

/** `body` in a fresh session to the record's server; credentials no retry can fix are `CredentialsRefused`, anything else `RollbackFailed`. */
export const onServer =
  <R extends ServerBase, A>(kind: string, body: (r: R, s: Session) => Promise<A>) =>
  (r: R): Effect.Effect<A, ShiftupError> =>
    withSession(connectionOf(r), rollbackFailed(kind, r), (s) => body(r, s), { onCredentials: credentialsRefused(kind, r.target, connectionOf(r), defaultPort) })

export interface PgServerKindOptions<K extends string, F extends Schema.Struct.Fields> {
  readonly kind: K
  readonly fields: F
  readonly apply: (record: PgServerRecord<K, F>) => Effect.Effect<void, ShiftupError>
  readonly verify: (record: PgServerRecord<K, F>) => Effect.Effect<string | undefined, ShiftupError>
  readonly settleMs: number
}

/** Declares a `data.postgres.*` kind whose record names a server but no table (sessions, database settings). */
export const declareServer = <const K extends string, const F extends Schema.Struct.Fields>(o: PgServerKindOptions<K, F>): Compensation.Kind<PgServerRecord<K, F>> =>
  Compensation.declare<K, typeof server & F>({ kind: o.kind, fields: { ...server, ...o.fields }, apply: o.apply, verify: o.verify, settleMs: o.settleMs })
