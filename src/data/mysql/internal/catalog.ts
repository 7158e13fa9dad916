/**
 * What shiftup reads from information_schema about a table before it touches it: its engine
 * (only a transactional one can hold a before-image and the change in one transaction), its
 * columns, its primary key — how every row of a before-image is found again — and, per column,
 * how its value is read as text and written back from that text exactly: binary data as hex,
 * FLOAT through DOUBLE (its own text keeps six digits), BIT as a number, a number cast to the
 * column's own type (never compared as a double), a string converted to the column's own
 * character set and collation. Types always come from the live catalog, never from a ledger.
 */
import type { Session } from "./client.ts"
import { ident, qualified, show, type TableName } from "./sql.ts"

export type Category = "int" | "decimal" | "float" | "double" | "text" | "binary" | "date" | "datetime" | "time" | "year" | "bit"

export interface Column {
  readonly name: string
  /** `COLUMN_TYPE`: `int(11) unsigned`, `varchar(20)`, `decimal(10,2)`… */
  readonly type: string
  readonly category: Category | undefined
  readonly notNull: boolean
  readonly generated: boolean
  readonly unsigned: boolean
  readonly charset: string | null
  readonly collation: string | null
  /** Characters a text column holds at most (`CHARACTER_MAXIMUM_LENGTH`). */
  readonly maxLength: number | null
  readonly precision: number | null
  readonly scale: number | null
  readonly fraction: number | null
}

export interface TableInfo {
  readonly table: TableName
  /** `InnoDB`, `MyISAM`… */
  readonly engine: string
  readonly columns: ReadonlyArray<Column>
  /** The primary key's columns in key order; empty when the table has none. */
  readonly key: ReadonlyArray<Column>
}

const categories: Readonly<Record<string, Category>> = {
  tinyint: "int", smallint: "int", mediumint: "int", int: "int", integer: "int", bigint: "int",
  decimal: "decimal", numeric: "decimal", float: "float", double: "double", real: "double",
  char: "text", varchar: "text", tinytext: "text", text: "text", mediumtext: "text", longtext: "text", enum: "text", set: "text", json: "text",
  binary: "binary", varbinary: "binary", tinyblob: "binary", blob: "binary", mediumblob: "binary", longblob: "binary",
  date: "date", datetime: "datetime", timestamp: "datetime", time: "time", year: "year", bit: "bit",
}

const num = (v: string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v))

/** The table's catalog facts, or `undefined` when no such base table exists. */
export const tableInfo = async (s: Session, table: TableName): Promise<TableInfo | undefined> => {
  const [found] = await s.query("SELECT ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND TABLE_TYPE = 'BASE TABLE'", [table.schema, table.name])
  if (found === undefined) return undefined
  const columns = (
    await s.query(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS data_type, COLUMN_TYPE AS type, IS_NULLABLE AS nullable, IS_GENERATED AS generated, CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation,
              CHARACTER_MAXIMUM_LENGTH AS max_length, NUMERIC_PRECISION AS p, NUMERIC_SCALE AS sc, DATETIME_PRECISION AS fr
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [table.schema, table.name],
    )
  ).map(
    (r): Column => ({
      name: String(r["name"]),
      type: String(r["type"]),
      category: categories[String(r["data_type"]).toLowerCase()],
      notNull: r["nullable"] === "NO",
      generated: r["generated"] !== null && r["generated"] !== "NEVER",
      unsigned: / unsigned\b/i.test(String(r["type"])),
      charset: r["charset"] ?? null,
      collation: r["collation"] ?? null,
      maxLength: num(r["max_length"]),
      precision: num(r["p"]),
      scale: num(r["sc"]),
      fraction: num(r["fr"]),
    }),
  )
  const keyNames = (
    await s.query("SELECT COLUMN_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX", [table.schema, table.name])
  ).map((r) => String(r["name"]))
  const key = keyNames.map((n) => columns.find((c) => c.name === n)).filter((c): c is Column => c !== undefined)
  return { table, engine: String(found["engine"] ?? ""), columns, key }
}

/** The catalog facts of a table that must exist; `missing` says what to do when it does not. */
export const requireTable = async (s: Session, table: TableName, missing: (detail: string) => Error): Promise<TableInfo> => {
  const info = await tableInfo(s, table)
  if (info === undefined) throw missing(`table ${show(table)} does not exist on this server (check the name in \`tables\` and the database in the URL)`)
  return info
}

/** MySQL compares column names without regard to case. */
export const columnOf = (info: TableInfo, name: string): Column | undefined => info.columns.find((c) => c.name.toLowerCase() === name.toLowerCase())

export const unknownColumn = (info: TableInfo, name: string): string =>
  `column "${name}" does not exist in ${show(info.table)} (its columns: ${info.columns.map((c) => c.name).join(", ")})`

/** Why shiftup cannot read and write back `c` exactly, or `undefined`. */
export const unsupported = (c: Column): string | undefined =>
  c.category === undefined ? `${c.name} is ${c.type}, a type shiftup cannot read and write back exactly (supported: numbers, strings, enum, set, json, binary and blobs, dates and times, bit)` : undefined

/** The expression reading `r.<c>` so that its text writes back exactly. */
const read = (c: Column, alias = "r"): string => {
  const col = `${alias}.${ident(c.name)}`
  if (c.category === "binary" || c.category === undefined) return `HEX(${col})`
  if (c.category === "float") return `CAST(${col} AS DOUBLE)`
  if (c.category === "bit") return `CAST(${col} AS UNSIGNED)`
  return col
}

/** `r.<c>` as utf8mb4 text: what a before-image records and what verify compares. */
export const text = (c: Column, alias = "r"): string => `CAST(${read(c, alias)} AS CHAR CHARACTER SET utf8mb4)`

/** A parameter holding `c`'s text, as a value of `c`'s own type. */
export const param = (c: Column): string => {
  switch (c.category) {
    case "int":
      return c.unsigned ? "CAST(? AS UNSIGNED)" : "CAST(? AS SIGNED)"
    case "year":
      return "CAST(? AS SIGNED)"
    case "bit":
      return "CAST(? AS UNSIGNED)"
    case "decimal":
      return `CAST(? AS DECIMAL(${c.precision ?? 65},${c.scale ?? 0}))`
    case "float":
    case "double":
      return "CAST(? AS DOUBLE)"
    case "binary":
      return "UNHEX(?)"
    case "date":
      return "CAST(? AS DATE)"
    case "datetime":
      return `CAST(? AS DATETIME(${c.fraction ?? 0}))`
    case "time":
      return `CAST(? AS TIME(${c.fraction ?? 0}))`
    default:
      return c.charset === null ? "?" : `CONVERT(? USING ${c.charset}) COLLATE ${c.collation ?? `${c.charset}_bin`}`
  }
}

export interface Keyed {
  readonly k: ReadonlyArray<string>
}

/**
 * Rows addressed by primary key: a derived table `v` of `(k0, …, x0, …)` — each a parameter cast
 * to its column's type — built from `rows`, to join with `table AS r` `on` the key.
 */
export const derived = <R extends Keyed>(info: TableInfo, rows: ReadonlyArray<R>, extra: ReadonlyArray<{ readonly expr: string; readonly value: (r: R) => string | null }>) => {
  const names = [...info.key.map((_, i) => `k${i}`), ...extra.map((_, i) => `x${i}`)]
  const exprs = [...info.key.map(param), ...extra.map((x) => x.expr)]
  const selects = rows.map((_, j) => `SELECT ${exprs.map((e, i) => (j === 0 ? `${e} AS ${names[i]}` : e)).join(", ")}`)
  return {
    sql: `(${selects.join(" UNION ALL ")}) AS v`,
    params: rows.flatMap((r) => [...info.key.map((_, i) => r.k[i] ?? null), ...extra.map((x) => x.value(r))]),
    on: info.key.map((k, i) => `r.${ident(k.name)} = v.k${i}`).join(" AND "),
    table: `${qualified(info.table)} AS r`,
  }
}

/** `rows` in batches small enough for one statement each. */
export const batches = <R>(rows: ReadonlyArray<R>, size = 500): ReadonlyArray<ReadonlyArray<R>> => {
  const out: Array<ReadonlyArray<R>> = []
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size))
  return out
}

/** The key columns selected as text, aliased k0… */
export const selectKey = (info: TableInfo): string => info.key.map((k, i) => `${text(k)} AS k${i}`).join(", ")

/** A row's key as read back. */
export const keyOf = (info: TableInfo, r: Readonly<Record<string, string | null>>): ReadonlyArray<string> => info.key.map((_, i) => String(r[`k${i}`]))

/** `id=3` or `(a=1, b=x)`: a row's key for messages. */
export const showKey = (info: TableInfo, k: ReadonlyArray<string>): string => {
  const parts = info.key.map((c, i) => `${c.name}=${k[i] ?? "?"}`)
  return parts.length === 1 ? (parts[0] as string) : `(${parts.join(", ")})`
}
