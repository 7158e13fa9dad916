/**
 * A PostgreSQL lab for the availability and replay tests: the lab of test/support/postgres.ts
 * (20 connections at most, so exhausting them is cheap) with a database `appdb` owned by `app`
 * (readOnly needs the owner), an admin session on it, and ways to look without shiftup: the
 * sessions shiftup holds (by their marker), the database's own settings, a sorted dump of a
 * table's rows, and a write that gives up after `ms` instead of waiting.
 */
import pg from "pg"
import { users } from "./pg-tables.ts"
import { startPgLab, type PgLab } from "./postgres.ts"

export interface AvailLab {
  readonly lab: PgLab
  /** postgres (superuser) on appdb. */
  readonly db: pg.Client
  /** The target URL on appdb (user app, no password). */
  readonly url: string
  /** A fresh schema on appdb owned by app, with the users table; its qualified name. */
  readonly table: () => Promise<string>
  readonly rows: (table: string) => Promise<ReadonlyArray<string>>
  /** Backends whose application_name is a shiftup hold marker. */
  readonly marked: () => Promise<number>
  /** appdb's own settings (pg_db_role_setting, setrole 0), as text. */
  readonly settings: () => Promise<string>
  /** A new session of `app` on appdb; its error's SQLSTATE when it cannot connect or `sql` fails, "ok" otherwise. */
  readonly attempt: (sql: string, options?: { readonly lockTimeoutMs?: number }) => Promise<string>
  readonly stop: () => Promise<void>
}

let n = 0

export const startAvailLab = async (passwordEnv: string): Promise<AvailLab> => {
  const lab = await startPgLab(passwordEnv, ["-c", "max_connections=20", "-c", "superuser_reserved_connections=3"])
  await lab.admin.query("CREATE DATABASE appdb OWNER app")
  const db = new pg.Client({ host: "127.0.0.1", port: lab.port, user: "postgres", database: "appdb", options: "-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=3" })
  await db.connect()
  const attempt = async (sql: string, options: { readonly lockTimeoutMs?: number } = {}): Promise<string> => {
    const c = new pg.Client({ host: "127.0.0.1", port: lab.port, user: "app", password: lab.password, database: "appdb", options: `-c lock_timeout=${options.lockTimeoutMs ?? 300}` })
    c.on("error", () => undefined)
    try {
      await c.connect()
      await c.query(sql)
      return "ok"
    } catch (e) {
      return String((e as { code?: string }).code ?? (e as Error).message)
    } finally {
      await c.end().catch(() => undefined)
    }
  }
  return {
    lab,
    db,
    url: `postgres://app@127.0.0.1:${lab.port}/appdb`,
    table: async () => {
      const schema = `a${++n}`
      await db.query("BEGIN")
      await db.query(`CREATE SCHEMA "${schema}" AUTHORIZATION app`)
      await db.query("SET LOCAL ROLE app")
      await db.query(users(schema))
      await db.query("COMMIT")
      return `${schema}.users`
    },
    rows: async (table) => (await db.query(`SELECT to_jsonb(r)::text AS j FROM ${table} AS r`)).rows.map((r: { j: string }) => r.j).sort(),
    marked: async () => Number((await db.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'shiftup hold %'")).rows[0].n),
    settings: async () =>
      String((await db.query("SELECT coalesce((SELECT setconfig::text FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'appdb' AND s.setrole = 0), 'none') AS s")).rows[0].s),
    attempt,
    stop: async () => {
      await db.end().catch(() => undefined)
      await lab.stop()
    },
  }
}
