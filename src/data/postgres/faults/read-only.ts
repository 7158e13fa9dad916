/**
 * Read-only mode: `ALTER DATABASE <db> SET default_transaction_read_only = on`, so every session
 * that starts afterwards can read but not write (sessions already open are left alone, as a
 * failover to a read-only replica would leave them) — does the application notice its writes
 * fail, and fail closed? Its compensation, `data.postgres.database-setting`, holds the
 * database's own setting before the fault (from `pg_db_role_setting`: a value, or none) and puts
 * exactly that back — `RESET` when there was none. It needs the database's owner.
 */
import { Effect, Schema } from "effect"
import * as Fault from "../../../Fault.ts"
import { fail, InjectionFailed, TargetUnresolved } from "../../../ShiftupError.ts"
import { type Session, transaction, withSession } from "../internal/client.ts"
import * as PgFault from "../internal/fault.ts"
import { declareServer, onServer } from "../internal/kind.ts"
import { ident } from "../internal/sql.ts"
import type { PostgresTarget } from "../targets.ts"

const setting = "default_transaction_read_only"

/** The database's own value of the setting (not a role's, not the server's), or null when it sets none. */
const valueOf = async (s: Session, database: string): Promise<string | null> => {
  const [row] = await s.query(
    `SELECT (SELECT substr(x, length($1) + 2) FROM unnest(s.setconfig) AS x WHERE x LIKE $1 || '=%') AS v
       FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = $2 AND s.setrole = 0`,
    [setting, database],
  )
  const v = row?.["v"]
  return v === null || v === undefined ? null : String(v)
}

// A value from the ledger is written into SQL (ALTER DATABASE takes no parameters): only a plain word.
const Value = Schema.NullOr(Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_.-]{1,32}$/, { message: "a setting value (a plain word such as on or off)" })))

/** Puts the database's own `default_transaction_read_only` back as it was: the value, or none. */
export const DatabaseSetting = declareServer({
  kind: "data.postgres.database-setting",
  fields: { database: Schema.String, setting: Schema.Literal(setting), value: Value },
  apply: onServer("data.postgres.database-setting", (r, s) =>
    // Read write explicitly: a session opened under the fault starts read-only.
    transaction(s, "read write", () =>
      s.query(r.value === null ? `ALTER DATABASE ${ident(r.database)} RESET ${setting}` : `ALTER DATABASE ${ident(r.database)} SET ${setting} = '${r.value}'`),
    ),
  ),
  verify: onServer("data.postgres.database-setting", async (r, s) => {
    const now = await valueOf(s, r.database)
    return now === r.value ? undefined : `database ${r.database} has ${setting} ${now === null ? "unset" : `= ${now}`}, not ${r.value === null ? "unset" : `= ${r.value}`} as before the fault`
  }),
  settleMs: 5000,
})

/**
 * Makes the target's database read-only for new sessions until the rollback. It acts on the
 * whole database of the target's URL, not only its `tables`.
 *
 * @example
 * Data.Postgres.readOnly(shop)
 */
export const readOnly = (target: PostgresTarget, options: { readonly id?: string } = {}): Fault.Fault => {
  const c = target.connection
  const id = options.id ?? `read-only ${target.id}`
  const injectionFailed = (detail: string) => fail(new InjectionFailed({ fault: id, target: target.id, detail }))
  const database = (s: Session) => s.query("SELECT current_database() AS d").then(([r]) => String(r?.["d"]))
  return Fault.make({
    id,
    title: `database of ${target.id} read-only for new sessions (${setting} = on)`,
    target,
    safety: "disrupt",
    kind: DatabaseSetting.kind,
    contacts: [target.endpoint],
    provider: { module: PgFault.providerModule, compensators: { [DatabaseSetting.kind]: DatabaseSetting.compensator } },
    preflight: withSession(c, (detail) => fail(new TargetUnresolved({ target: target.id, detail })), (s) =>
      transaction(s, "read only", async () => {
        const [row] = await s.query("SELECT datname, pg_has_role(datdba, 'MEMBER') AS owner FROM pg_database WHERE datname = current_database()")
        return row?.["owner"] === true ? [] : [{ rule: "data.postgres.not-owner", detail: `only the owner of database ${String(row?.["datname"])} (or a superuser) may change its settings: connect as its owner, or leave readOnly out` }]
      }),
    ),
    compensation: Effect.gen(function* () {
      const before = yield* withSession(c, injectionFailed, async (s) => {
        const d = await database(s)
        return { database: d, value: await valueOf(s, d) }
      })
      return DatabaseSetting.make({
        target: target.id,
        url: c.url,
        ...(c.passwordEnv === undefined ? {} : { passwordEnv: c.passwordEnv }),
        database: before.database,
        setting,
        value: before.value,
        description: before.value === null ? `RESET ${setting} of database ${before.database}` : `SET ${setting} = ${before.value} on database ${before.database}`,
      })
    }),
    inject: withSession(c, injectionFailed, async (s) => {
      const d = await database(s)
      await transaction(s, "read write", () => s.query(`ALTER DATABASE ${ident(d)} SET ${setting} = on`))
    }),
  })
}
