/**
 * A MariaDB lab for the data tests: a real server with grant tables (test/support/servers.ts),
 * its general log on (every connection and statement, in a file the tests read), a user `app`
 * that must give its password, a root session over the socket for setting up and looking, and
 * ways to look that do not go through shiftup: a sorted dump of a table's rows (`mariadb-dump`)
 * and its definition — `SHOW CREATE TABLE`, its triggers (`SHOW CREATE TRIGGER` without the
 * creation time) and the grants of every user with a privilege on it (`SHOW GRANTS`).
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import mysql from "mysql2/promise"
import { type RealServer, startMariadb } from "./servers.ts"

export interface MariaLab {
  readonly server: RealServer
  readonly port: number
  /** The target's URL: user `app`, no password in it. */
  readonly url: string
  readonly password: string
  readonly passwordEnv: string
  readonly admin: mysql.Connection
  /** The server's `Connections` counter: every connection attempt it has received. */
  readonly connections: () => Promise<number>
  /** The general log so far. */
  readonly log: () => string
  /** A fresh database `app` owns (all privileges, with grant option), with `ddl` run as `app`. */
  readonly database: (name: string, ddl: string) => Promise<void>
  /** Every row of `db.table` as an INSERT statement (`mariadb-dump`, blobs as hex), sorted. */
  readonly rows: (table: string) => Promise<ReadonlyArray<string>>
  /** The table's definition, triggers and grants, as MariaDB prints them. */
  readonly definition: (table: string) => Promise<string>
  readonly stop: () => Promise<void>
}

export const startMariaLab = async (passwordEnv = "SHIFTUP_TEST_MYSQL_PASSWORD"): Promise<MariaLab> => {
  const started = await startMariadb({ grantTables: true, args: ["--general-log=1", "--general-log-file=general.log", "--max-connections=200"] })
  const server = started
  const socket = join(started.dir, "sock")
  const password = `pw-${Math.random().toString(36).slice(2)}-Zq9`
  process.env[passwordEnv] = password
  const admin = await mysql.createConnection({ socketPath: socket, user: "root", multipleStatements: true, timezone: "Z", dateStrings: true })
  // The socket user `root`, and `app` from 127.0.0.1 with a password; app may read the grant tables (to see others' grants).
  await admin.query(`CREATE USER 'app'@'%' IDENTIFIED BY '${password}'; CREATE USER 'reporting'@'%'; GRANT SELECT ON mysql.* TO 'app'@'%'`)
  const asApp = (db: string) => mysql.createConnection({ host: "127.0.0.1", port: server.port, user: "app", password, database: db, multipleStatements: true })
  const dump = (args: ReadonlyArray<string>) => execFileSync("/usr/bin/mariadb-dump", ["--no-defaults", `--socket=${socket}`, "-uroot", ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 })
  const split = (table: string) => table.split(".") as [string, string]
  return {
    server,
    port: server.port,
    url: `mysql://app@127.0.0.1:${server.port}/`,
    password,
    passwordEnv,
    admin,
    connections: async () => {
      const [rows] = await admin.query("SHOW GLOBAL STATUS LIKE 'Connections'")
      return Number((rows as Array<{ Value: string }>)[0]?.Value)
    },
    log: () => readFileSync(join(started.dir, "general.log"), "utf8"),
    database: async (name, ddl) => {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\`; CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci; GRANT ALL PRIVILEGES ON \`${name}\`.* TO 'app'@'%' WITH GRANT OPTION`)
      const app = await asApp(name)
      try {
        await app.query(ddl)
      } finally {
        await app.end()
      }
    },
    rows: async (table) => {
      const [db, t] = split(table)
      return dump(["--compact", "--no-create-info", "--skip-extended-insert", "--hex-blob", "--skip-triggers", "--tz-utc", db, t])
        .split("\n")
        .filter((l) => l.startsWith("INSERT"))
        .sort()
    },
    definition: async (table) => {
      const [db, t] = split(table)
      const parts: Array<string> = []
      const [[create]] = (await admin.query(`SHOW CREATE TABLE \`${db}\`.\`${t}\``)) as unknown as [[Record<string, string>]]
      parts.push(String(create?.["Create Table"]))
      const [trigs] = (await admin.query("SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? ORDER BY ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER", [db, t])) as unknown as [Array<{ n: string }>]
      for (const { n } of trigs) {
        const [[tr]] = (await admin.query(`SHOW CREATE TRIGGER \`${db}\`.\`${n}\``)) as unknown as [[Record<string, unknown>]]
        const { Created: _, ...rest } = tr ?? {}
        parts.push(JSON.stringify(rest))
      }
      const [who] = (await admin.query("SELECT DISTINCT User AS u, Host AS h FROM mysql.tables_priv WHERE Db = ? AND Table_name = ? ORDER BY u, h", [db, t])) as unknown as [Array<{ u: string; h: string }>]
      for (const { u, h } of who) {
        const [grants] = (await admin.query(`SHOW GRANTS FOR '${u}'@'${h}'`)) as unknown as [Array<Record<string, string>>]
        parts.push(...grants.map((g) => Object.values(g)[0] ?? ""))
      }
      return parts.join("\n")
    },
    stop: async () => {
      await admin.end().catch(() => undefined)
      await server.stop()
    },
  }
}
