/**
 * Declaring a `data.<engine>.*` compensation kind of a table fault once, for the fault that
 * records it and the compensator that replays it. Every record names the server (a URL without a
 * password, and the variable holding the password: `recover` reads it again in its own process)
 * and the table (`schema`, `table`: a MySQL database is its schema); each kind adds its
 * before-image. Undo and verify get a session and the table's live catalog facts; any failure
 * becomes `RollbackFailed`, except credentials no retry can fix (the password variable unset, the
 * password refused): `CredentialsRefused`, which stops the restore at once and says what to set.
 */
import { Effect, Schema, type SchemaAST } from "effect"
import * as Compensation from "../../Compensation.ts"
import { fail, RollbackFailed, type ShiftupError } from "../../ShiftupError.ts"
import { type Connection, credentialsRefused, type SessionOptions } from "./connection.ts"

export const EnvName = Schema.String.check(Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "an environment variable name" }))

/** A row's primary key, each part as text. */
export const Key = Schema.Array(Schema.String)

/** A server URL of one of `schemes`, with a host and without a password: a record holding one is refused, never replayed. */
export const ServerUrl = (schemes: ReadonlyArray<string>) =>
  Schema.String.check(
    Schema.makeFilter(
      (u: string) => {
        const url = URL.parse(u)
        return url !== null && schemes.includes(url.protocol.replace(/:$/, "")) && url.hostname !== "" && url.password === ""
      },
      { expected: `a ${schemes[0]}:// URL with a host and without a password` },
    ),
  )

const commonOf = (schemes: ReadonlyArray<string>) => ({ url: ServerUrl(schemes), passwordEnv: Schema.optionalKey(EnvName), schema: Schema.String, table: Schema.String })
type Common = ReturnType<typeof commonOf>

export type TableRecord<K extends string, F extends Schema.Struct.Fields> = Compensation.RecordOf<K, Common & F>

/** The common part of every record. */
export interface Base {
  readonly target: string
  readonly url: string
  readonly passwordEnv?: string
  readonly schema: string
  readonly table: string
}

export const connectionOf = (r: Pick<Base, "url" | "passwordEnv">): Connection => ({ url: r.url, ...(r.passwordEnv === undefined ? {} : { passwordEnv: r.passwordEnv }) })

/** What the compensators need of an engine. */
export interface KindEngine<S, I> {
  readonly schemes: ReadonlyArray<string>
  readonly defaultPort: number
  readonly withSession: <A>(c: Connection, wrap: (detail: string) => ShiftupError, f: (s: S) => Promise<A>, options?: SessionOptions) => Effect.Effect<A, ShiftupError>
  readonly requireTable: (s: S, table: { readonly schema: string; readonly name: string }, missing: (detail: string) => Error) => Promise<I>
  /**
   * Whether nothing of an injection the dead run left in flight can land any more (the server
   * holds no session of that run); without it, `recover` waits the kind's whole `settleMs`.
   */
  readonly settled?: (c: Connection, wrap: (detail: string) => ShiftupError) => Effect.Effect<boolean, ShiftupError>
}

export interface TableKindOptions<S, I, K extends string, F extends Schema.Struct.Fields> {
  readonly kind: K
  readonly fields: F
  readonly check?: SchemaAST.Check<TableRecord<K, F>>
  /** Undoes the record; idempotent. */
  readonly undo: (record: TableRecord<K, F>, s: S, info: I) => Promise<void>
  /** `undefined` when the table is as the record says it was, else one line saying what differs. */
  readonly verify: (record: TableRecord<K, F>, s: S, info: I) => Promise<string | undefined>
  readonly settleMs: number
}

/**
 * The `declare` of an engine's kinds.
 *
 * @example
 * export const declare = declareTable({ schemes: ["mysql"], withSession, requireTable })
 * export const RestoreValues = declare({ kind: "data.mysql.restore-values", fields: { … }, undo, verify, settleMs: 5000 })
 */
export const declareTable =
  <S, I>(engine: KindEngine<S, I>) =>
  <const K extends string, const F extends Schema.Struct.Fields>(o: TableKindOptions<S, I, K, F>): Compensation.Kind<TableRecord<K, F>> => {
    const within =
      <A>(body: (r: TableRecord<K, F>, s: S, info: I) => Promise<A>) =>
      (record: TableRecord<K, F>): Effect.Effect<A, ShiftupError> => {
        // Every record has these (`common`); TypeScript cannot see it through the generic kind.
        const r = record as unknown as Base
        const wrap = (detail: string) => fail(new RollbackFailed({ fault: o.kind, target: r.target, detail }))
        const table = { schema: r.schema, name: r.table }
        return engine.withSession(
          connectionOf(r),
          wrap,
          async (s) => body(record, s, await engine.requireTable(s, table, (d) => wrap(`${d}; it held the rows this compensation restores — restore ${r.schema}.${r.table} from a backup`))),
          { onCredentials: credentialsRefused(o.kind, r.target, connectionOf(r), engine.defaultPort) },
        )
      }
    const settled = engine.settled
    return Compensation.declare<K, Common & F>({
      kind: o.kind,
      fields: { ...commonOf(engine.schemes), ...o.fields },
      ...(o.check === undefined ? {} : { check: o.check }),
      apply: within(o.undo),
      verify: within(o.verify),
      settleMs: o.settleMs,
      ...(settled === undefined
        ? {}
        : {
            settled: (record: TableRecord<K, F>) => {
              const r = record as unknown as Base
              return settled(connectionOf(r), (detail) => fail(new RollbackFailed({ fault: o.kind, target: r.target, detail })))
            },
          }),
    })
  }
