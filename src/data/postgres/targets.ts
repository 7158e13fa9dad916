/**
 * A PostgreSQL target: one server (a URL without a password, and the variable that holds the
 * password) and the tables an experiment may touch. It is always a data store for the policy —
 * production and unknown environments are refused for every step, staging refuses `destroy` —
 * and its endpoint is declared so planning checks it against the egress allowlist (and may
 * fingerprint it). Resolving it contacts nothing.
 */
import { fail, InvalidExperiment, type Issue } from "../../ShiftupError.ts"
import type { Target } from "../../Target.ts"
import { type Connection, connectionIssues } from "../internal/connection.ts"
import { sqlTarget, type SqlTargetOptions } from "../internal/sql-target.ts"
import { passwordIssues, scopedIn, tablesOf } from "../internal/scope.ts"
import { parseTable, type TableName } from "./internal/sql.ts"

export interface PostgresTargetOptions extends SqlTargetOptions {
  /** The server, without a password: `postgres://app@127.0.0.1:5432/shop`. */
  readonly url: string
  /** The tables faults may touch (`public.orders`, `orders` = `public.orders`, `"Sales"."Lines"`): nothing else is. */
  readonly tables: ReadonlyArray<string>
}

export interface PostgresTarget extends Target {
  readonly kind: "postgres"
  readonly connection: Connection
  /** The scope: the only tables faults may touch. */
  readonly tables: ReadonlyArray<TableName>
  /** `host:port`, what faults and probes connect to. */
  readonly endpoint: string
}

/**
 * A PostgreSQL server and the tables an experiment may touch.
 *
 * @example
 * const shop = Data.Postgres.target("shop-db", { url: "postgres://app@127.0.0.1:5432/shop", passwordEnv: "SHOP_DB_PASSWORD", environment: "lab", tables: ["public.users"] })
 */
export const target = (id: string, options: PostgresTargetOptions): PostgresTarget => {
  const scope = tablesOf(id, options.tables, parseTable, "public.orders", 'schema.table, or "Quoted"."Names"')
  const tables = scope.tables
  const issues: ReadonlyArray<Issue> = [...connectionIssues(id, options, ["postgres", "postgresql"]), ...passwordIssues(id, options.passwordEnv), ...scope.issues]
  if (issues.length > 0) throw fail(new InvalidExperiment({ source: `postgres target "${id}"`, issues }))
  return sqlTarget(id, "postgres", options, tables, 5432, (url) => {
    const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || decodeURIComponent(url.username) || "postgres"
    return { database, name: database }
  })
}

/** The table of `target`'s scope named `text`; an issue when it is not one. */
export const scoped = (target: PostgresTarget, text: string, path: string): { readonly table?: TableName; readonly issue?: Issue } =>
  scopedIn(target, text, parseTable(text.trim()), path, "schema.table")
