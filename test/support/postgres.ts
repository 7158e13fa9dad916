/**
 * A PostgreSQL lab for the data tests: a real server (test/support/servers.ts) logging every
 * connection, a role `app` that must give its password (scram), an admin session for setting up
 * and looking, and ways to look that do not go through shiftup: a dump of a table's rows and
 * `pg_dump --schema-only` of its definition.
 */
import { execFileSync } from "node:child_process"
import pg from "pg"
import { postgresBin } from "../../src/demo/servers.ts"
import { type RealServer, startPostgres } from "./servers.ts"

export interface PgLab {
  readonly server: RealServer
  readonly port: number
  /** The target's URL: user `app`, no password in it. */
  readonly url: string
  /** `app`'s password (also in `process.env[passwordEnv]`). */
  readonly password: string
  readonly passwordEnv: string
  readonly admin: pg.Client
  /** Connections the server has received so far (its log). */
  readonly connections: () => number
  /** A fresh schema owned by `app`, with `ddl` run as `app` in one transaction. */
  readonly schema: (name: string, ddl: string) => Promise<void>
  /** Every row of `table` as JSON text, sorted: equal exactly when the rows are. */
  readonly rows: (table: string) => Promise<ReadonlyArray<string>>
  /** `pg_dump --schema-only` of `table`: its whole definition, as PostgreSQL's own tool prints it. */
  readonly dump: (table: string) => string
  readonly stop: () => Promise<void>
}

/** A superuser session once the server accepts them: the port opens before ("the database system is starting up"). */
export const connectAdmin = async (port: number, database = "postgres"): Promise<pg.Client> => {
  for (let attempt = 1; ; attempt++) {
    const admin = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database, options: "-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=3" })
    try {
      await admin.connect()
      return admin
    } catch (e) {
      await admin.end().catch(() => undefined)
      if (attempt > 300) throw e
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

/** `args`: extra server flags, e.g. `["-c", "max_connections=20"]`. */
export const startPgLab = async (passwordEnv = "SHIFTUP_TEST_PG_PASSWORD", args: ReadonlyArray<string> = []): Promise<PgLab> => {
  const hba = ["local all all trust", "host all postgres 127.0.0.1/32 trust", "host all all 127.0.0.1/32 scram-sha-256", ""].join("\n")
  const server = await startPostgres({ args: ["-c", "log_connections=on", "-c", "password_encryption=scram-sha-256", ...args], hba })
  const password = `pw-${Math.random().toString(36).slice(2)}-Zq9`
  process.env[passwordEnv] = password
  const admin = await connectAdmin(server.port)
  await admin.query(`CREATE ROLE app LOGIN PASSWORD '${password}'`)
  return {
    server,
    port: server.port,
    url: `postgres://app@127.0.0.1:${server.port}/postgres`,
    password,
    passwordEnv,
    admin,
    connections: () => server.output().split("\n").filter((l) => l.includes("connection received:")).length,
    schema: async (name, ddl) => {
      await admin.query("BEGIN")
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`)
        await admin.query(`CREATE SCHEMA "${name}" AUTHORIZATION app`)
        await admin.query("SET LOCAL ROLE app")
        await admin.query(ddl)
        await admin.query("COMMIT")
      } catch (e) {
        await admin.query("ROLLBACK")
        throw e
      }
    },
    rows: async (table) => (await admin.query(`SELECT to_jsonb(r)::text AS j FROM ${table} AS r`)).rows.map((r: { j: string }) => r.j).sort(),
    dump: (table) =>
      execFileSync(postgresBin("pg_dump"), ["--schema-only", "--no-comments", `--table=${table}`, "-h", "127.0.0.1", "-p", String(server.port), "-U", "postgres", "postgres"], { encoding: "utf8" })
        .split("\n")
        // Dump metadata and the per-dump random key of \\restrict lines are not the definition.
        .filter((l) => !l.startsWith("-- Dumped") && !/^\\(un)?restrict /.test(l))
        .join("\n"),
    stop: async () => {
      await admin.end().catch(() => undefined)
      await server.stop()
    },
  }
}
