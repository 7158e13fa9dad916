/**
 * Declaring a `data.postgres.*` compensation kind once, for the fault that records it and the
 * compensator that replays it. Every record names the server (a URL without a password, and the
 * variable holding the password: `recover` reads it again in its own process) and the table;
 * each kind adds its before-image. Undo and verify get a session and the table's live catalog
 * facts; any failure becomes `RollbackFailed`.
 */
import { Effect, Schema, type SchemaAST } from "effect"
import * as Compensation from "../../../Compensation.ts"
import { fail, RollbackFailed } from "../../../ShiftupError.ts"
import type { Connection } from "../../internal/connection.ts"
import { requireTable, type TableInfo } from "./catalog.ts"
import { type Session, withSession } from "./client.ts"
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

const server = { url: PgUrl, passwordEnv: Schema.optionalKey(EnvName) }
const common = { ...server, schema: Schema.String, table: Schema.String }

export type PgRecord<K extends string, F extends Schema.Struct.Fields> = Compensation.RecordOf<K, typeof common & F>
export type PgServerRecord<K extends string, F extends Schema.Struct.Fields> = Compensation.RecordOf<K, typeof server & F>

/** What every record names: the server. */
export interface ServerBase {
  readonly target: string
  readonly url: string
  readonly passwordEnv?: string
}

/** The common part of every record of a table fault. */
export interface Base extends ServerBase {
  readonly schema: string
  readonly table: string
}

export const connectionOf = (r: ServerBase): Connection => ({ url: r.url, ...(r.passwordEnv === undefined ? {} : { passwordEnv: r.passwordEnv }) })

/** The `RollbackFailed` of a record of `kind`. */
export const rollbackFailed = (kind: string, r: ServerBase) => (detail: string) => fail(new RollbackFailed({ fault: kind, target: r.target, detail }))

/** `body` in a fresh session to the record's server; any failure is `RollbackFailed`. */
export const onServer =
  <R extends ServerBase, A>(kind: string, body: (r: R, s: Session) => Promise<A>) =>
  (r: R): Effect.Effect<A, ReturnType<typeof fail>> =>
    withSession(connectionOf(r), rollbackFailed(kind, r), (s) => body(r, s))

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
    const wrap = rollbackFailed(kind, r)
    return withSession(connectionOf(r), wrap, async (s) => body(record, s, await requireTable(s, { schema: r.schema, name: r.table }, (d) => wrap(`${d}; it held the rows this compensation restores — restore ${show({ schema: r.schema, name: r.table })} from a backup`))))
  }

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
  })

export interface PgServerKindOptions<K extends string, F extends Schema.Struct.Fields> {
  readonly kind: K
  readonly fields: F
  readonly apply: (record: PgServerRecord<K, F>) => Effect.Effect<void, ReturnType<typeof fail>>
  readonly verify: (record: PgServerRecord<K, F>) => Effect.Effect<string | undefined, ReturnType<typeof fail>>
  readonly settleMs: number
}

/** Declares a `data.postgres.*` kind whose record names a server but no table (sessions, database settings). */
export const declareServer = <const K extends string, const F extends Schema.Struct.Fields>(o: PgServerKindOptions<K, F>): Compensation.Kind<PgServerRecord<K, F>> =>
  Compensation.declare<K, typeof server & F>({ kind: o.kind, fields: { ...server, ...o.fields }, apply: o.apply, verify: o.verify, settleMs: o.settleMs })
