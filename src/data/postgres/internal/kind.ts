/**
 * Declaring a `data.postgres.*` compensation kind once, for the fault that records it and the
 * compensator that replays it. Every record names the server (a URL without a password, and the
 * variable holding the password: `recover` reads it again in its own process) and the table;
 * each kind adds its before-image. Undo and verify get a session and the table's live catalog
 * facts; any failure becomes `RollbackFailed`. An injection in flight when its run died has
 * settled once the server holds no session of that run any more (sessions carry the run id).
 */
import { Effect, Schema, type SchemaAST } from "effect"
import * as Compensation from "../../../Compensation.ts"
import { CredentialsRefused, fail, RollbackFailed } from "../../../ShiftupError.ts"
import { RunContext } from "../../../RunContext.ts"
import { type Connection, serverOf } from "../../internal/connection.ts"
import { requireTable, type TableInfo } from "./catalog.ts"
import { applicationName, type OnCredentials, type Session, withSession } from "./client.ts"
import { show } from "./sql.ts"

const noPassword = (u: string) => {
  const url = URL.parse(u)
  return url !== null && (url.protocol === "postgres:" || url.protocol === "postgresql:") && url.hostname !== "" && url.password === ""
}

/** A server URL without a password: a record holding one is refused, never replayed. */
export const PgUrl = Schema.String.check(Schema.makeFilter(noPassword, { expected: "a postgres:// URL with a host and without a password" }))
export const EnvName = Schema.String.check(Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "an environment variable name" }))

/** A row's primary key, each part as text. */
export const Key = Schema.Array(Schema.String)

const common = { url: PgUrl, passwordEnv: Schema.optionalKey(EnvName), schema: Schema.String, table: Schema.String }

export type PgRecord<K extends string, F extends Schema.Struct.Fields> = Compensation.RecordOf<K, typeof common & F>

/** The common part of every record. */
export interface Base {
  readonly target: string
  readonly url: string
  readonly passwordEnv?: string
  readonly schema: string
  readonly table: string
}

export const connectionOf = (r: Base): Connection => ({ url: r.url, ...(r.passwordEnv === undefined ? {} : { passwordEnv: r.passwordEnv }) })

/**
 * The `CredentialsRefused` of a record of `kind`: credentials no retry can fix (the variable
 * unset, the password refused), so the restore stops at once and says what to set.
 */
export const credentialsRefused =
  (kind: string, r: Pick<Base, "target" | "url" | "passwordEnv">): OnCredentials =>
  (problem, said) =>
    fail(new CredentialsRefused({ fault: kind, target: r.target, server: serverOf({ url: r.url }, 5432), ...(r.passwordEnv === undefined ? {} : { passwordEnv: r.passwordEnv }), problem, ...(said === undefined ? {} : { detail: said }) }))

export interface PgKindOptions<K extends string, F extends Schema.Struct.Fields> {
  readonly kind: K
  readonly fields: F
  readonly check?: SchemaAST.Check<PgRecord<K, F>>
  /** Undoes the record; idempotent. */
  readonly undo: (record: PgRecord<K, F>, s: Session, info: TableInfo) => Promise<void>
  /** `undefined` when the table is as the record says it was, else one line saying what differs. */
  readonly verify: (record: PgRecord<K, F>, s: Session, info: TableInfo) => Promise<string | undefined>
  readonly settleMs: number
}

const within =
  <R, A>(kind: string, body: (r: R, s: Session, info: TableInfo) => Promise<A>) =>
  (record: R): Effect.Effect<A, ReturnType<typeof fail>> => {
    // Every record has these (`common`); TypeScript cannot see it through the generic kind.
    const r = record as R & Base
    const wrap = (detail: string) => fail(new RollbackFailed({ fault: kind, target: r.target, detail }))
    return withSession(
      connectionOf(r),
      wrap,
      async (s) => body(record, s, await requireTable(s, { schema: r.schema, name: r.table }, (d) => wrap(`${d}; it held the rows this compensation restores — restore ${show({ schema: r.schema, name: r.table })} from a backup`))),
      { onCredentials: credentialsRefused(kind, r) },
    )
  }

/**
 * Whether the dead run's sessions are gone: what one of them was doing (a statement, a COMMIT)
 * has then landed or been rolled back, and nothing of it can land after the undo.
 */
const settled = (kind: string) => <R>(r: R) =>
  Effect.gen(function* () {
    // Every record has these (`common`); TypeScript cannot see it through the generic kind.
    const record = r as R & Base
    const { runId } = yield* RunContext
    const wrap = (detail: string) => fail(new RollbackFailed({ fault: kind, target: record.target, detail }))
    const rows = yield* withSession(connectionOf(record), wrap, (s) => s.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()", [applicationName(runId)]))
    return rows[0]?.["n"] === 0
  })

/**
 * Declares a `data.postgres.*` kind.
 *
 * @example
 * export const RestoreValues = declare({ kind: "data.postgres.restore-values", fields: { … }, undo, verify, settleMs: 5000 })
 */
export const declare = <const K extends string, const F extends Schema.Struct.Fields>(o: PgKindOptions<K, F>): Compensation.Kind<PgRecord<K, F>> =>
  Compensation.declare<K, typeof common & F>({
    kind: o.kind,
    fields: { ...common, ...o.fields },
    ...(o.check === undefined ? {} : { check: o.check }),
    apply: within(o.kind, o.undo),
    verify: within(o.kind, o.verify),
    settleMs: o.settleMs,
    settled: settled(o.kind),
  })
