/**
 * What shiftup reads from PostgreSQL's catalog about a table before it touches it: its columns
 * (type as `format_type` prints it, which is valid SQL), its primary key — how every row of a
 * before-image is found again — and the SQL fragments that address rows by that key. Types used
 * in casts always come from the live catalog, never from a ledger record.
 */
import { ident, qualified, show, type TableName } from "./sql.ts"
import type { Session } from "./client.ts"

export interface Column {
  readonly name: string
  /** `format_type`: `integer`, `character varying(20)`, `numeric(10,2)`… */
  readonly type: string
  readonly notNull: boolean
  readonly generated: boolean
  /** `pg_type.typcategory`: `S` strings, `N` numbers, `B` booleans… */
  readonly category: string
}

export interface TableInfo {
  readonly table: TableName
  readonly oid: string
  readonly columns: ReadonlyArray<Column>
  /** The primary key's columns in key order; empty when the table has none. */
  readonly key: ReadonlyArray<Column>
}

/** The table's catalog facts, or `undefined` when no such table (or partitioned table) exists. */
export const tableInfo = async (s: Session, table: TableName): Promise<TableInfo | undefined> => {
  const [found] = await s.query(
    "SELECT c.oid::int8::text AS oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
    [table.schema, table.name],
  )
  if (found === undefined) return undefined
  const oid = String(found["oid"])
  const columns = (
    await s.query(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, a.attgenerated <> '' AS generated, t.typcategory::text AS category
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [oid],
    )
  ).map((r): Column => ({ name: String(r["name"]), type: String(r["type"]), notNull: r["not_null"] === true, generated: r["generated"] === true, category: String(r["category"]) }))
  const keyNames = (
    await s.query(
      `SELECT a.attname AS name FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = $1::int8::oid AND i.indisprimary ORDER BY k.ord`,
      [oid],
    )
  ).map((r) => String(r["name"]))
  const key = keyNames.map((n) => columns.find((c) => c.name === n)).filter((c): c is Column => c !== undefined)
  return { table, oid, columns, key }
}

/** The catalog facts of a table that must exist; `missing` says what to do when it does not. */
export const requireTable = async (s: Session, table: TableName, missing: (detail: string) => Error): Promise<TableInfo> => {
  const info = await tableInfo(s, table)
  if (info === undefined) throw missing(`table ${show(table)} does not exist on this server (check the name in \`tables\` and the database in the URL)`)
  return info
}

export const columnOf = (info: TableInfo, name: string): Column | undefined => info.columns.find((c) => c.name === name)

/** `Column "x" does not exist in public.orders (columns: …)`. */
export const unknownColumn = (info: TableInfo, name: string): string =>
  `column "${name}" does not exist in ${show(info.table)} (its columns: ${info.columns.map((c) => c.name).join(", ")})`

/**
 * Rows addressed by primary key through parallel text arrays: `unnest($1::text[], …) AS v(k0, …, extra…)`
 * joined on `r.<key> = v.k<i>::<type>`. Parameters start at `$first`.
 */
export const byKey = (info: TableInfo, extra: ReadonlyArray<string>, first = 1) => {
  const names = [...info.key.map((_, i) => `k${i}`), ...extra]
  return {
    from: `unnest(${names.map((_, i) => `$${first + i}::text[]`).join(", ")}) AS v(${names.join(", ")})`,
    on: info.key.map((k, i) => `r.${ident(k.name)} = v.k${i}::${k.type}`).join(" AND "),
    /** The key columns selected as text, aliased k0… */
    select: info.key.map((k, i) => `r.${ident(k.name)}::text AS k${i}`).join(", "),
    table: `${qualified(info.table)} AS r`,
    params: (rows: ReadonlyArray<{ readonly k: ReadonlyArray<string> }>, extraColumns: ReadonlyArray<ReadonlyArray<string | null>>): Array<unknown> => [
      ...info.key.map((_, i) => rows.map((r) => r.k[i] ?? null)),
      ...extraColumns,
    ],
  }
}

/** `id=3` or `(a=1, b=x)`: a row's key for messages. */
export const showKey = (info: TableInfo, k: ReadonlyArray<string>): string => {
  const parts = info.key.map((c, i) => `${c.name}=${k[i] ?? "?"}`)
  return parts.length === 1 ? (parts[0] as string) : `(${parts.join(", ")})`
}
