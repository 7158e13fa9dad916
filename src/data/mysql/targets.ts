/**
 * A MySQL/MariaDB target: one server (a URL without a password, and the variable that holds the
 * password) and the tables an experiment may touch. It is always a data store for the policy —
 * production and unknown environments are refused for every step, staging refuses `destroy` —
 * and its endpoint is declared so planning checks it against the egress allowlist (and may
 * fingerprint it: the MySQL greeting). Resolving it contacts nothing.
 */
import { fail, InvalidExperiment, type Issue } from "../../ShiftupError.ts"
import type { Target } from "../../Target.ts"
import { type Connection, connectionIssues } from "../internal/connection.ts"
import { sqlTarget, type SqlTargetOptions } from "../internal/sql-target.ts"
import { passwordIssues, scopedIn, tablesOf } from "../internal/scope.ts"
import { parseTable, type TableName } from "./internal/sql.ts"

export interface MySqlTargetOptions extends SqlTargetOptions {
  /** The server, without a password: `mysql://app@127.0.0.1:3306/shop` (`mariadb://` too). */
  readonly url: string
  /** The tables faults may touch (`shop.orders`, `orders` = in the URL's database, `` `Sales`.`Lines` ``): nothing else is. */
  readonly tables: ReadonlyArray<string>
}

export interface MySqlTarget extends Target {
  readonly kind: "mysql"
  readonly connection: Connection
  /** The scope: the only tables faults may touch. */
  readonly tables: ReadonlyArray<TableName>
  /** `host:port`, what faults and probes connect to. */
  readonly endpoint: string
  /** The URL's database: where an unqualified table name is. */
  readonly database: string
}

/**
 * A MySQL or MariaDB server and the tables an experiment may touch.
 *
 * @example
 * const shop = Data.MySql.target("shop-db", { url: "mysql://app@127.0.0.1:3306/shop", passwordEnv: "SHOP_DB_PASSWORD", environment: "lab", tables: ["shop.users"] })
 */
export const target = (id: string, options: MySqlTargetOptions): MySqlTarget => {
  const url = URL.parse(options.url)
  const database = url === null ? "" : decodeURIComponent(url.pathname.replace(/^\//, ""))
  const scope = tablesOf(id, options.tables, (text) => parseTable(text, database), "shop.orders", "database.table; a bare name needs a database in the URL")
  const tables = scope.tables
  const issues: ReadonlyArray<Issue> = [...connectionIssues(id, options, ["mysql", "mariadb"]), ...passwordIssues(id, options.passwordEnv), ...scope.issues]
  if (issues.length > 0) throw fail(new InvalidExperiment({ source: `mysql target "${id}"`, issues }))
  return { ...sqlTarget(id, "mysql", options, tables, 3306, (u) => ({ database, name: database || u.hostname.replace(/^\[|\]$/g, "") })), database }
}

/** The table of `target`'s scope named `text`; an issue when it is not one. */
export const scoped = (target: MySqlTarget, text: string, path: string): { readonly table?: TableName; readonly issue?: Issue } =>
  scopedIn(target, text, parseTable(text.trim(), target.database), path, "database.table")
