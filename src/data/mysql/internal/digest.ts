/**
 * The integrity probes' SQL: an order-independent digest of a table's rows, and a fingerprint of
 * its schema. The digest is the one PostgreSQL's probe computes — md5 over the sorted md5 of
 * every row — done by the server in one statement: each row's values as exact text (the same
 * text a before-image records: binary as hex, FLOAT through DOUBLE), each `QUOTE`d (so NULL,
 * 'NULL' and '' all differ, and a comma cannot move between columns), hashed; the hashes sorted
 * and concatenated (`group_concat_max_len` is raised in every session, so nothing is cut), hashed
 * again: equal exactly when the rows are, in any order.
 */
import { type Checksum, fingerprintOf } from "../../internal/digest.ts"
import { requireTable, text } from "./catalog.ts"
import type { Session } from "./client.ts"
import { createTable, section } from "./objects.ts"
import { qualified, show, type TableName } from "./sql.ts"

export type { Checksum } from "../../internal/digest.ts"

/** A table's schema: its columns, indexes, constraints, triggers and grants, and its engine, charset and collation. */
export interface SchemaFingerprint {
  readonly table: string
  /** md5 over everything below. */
  readonly digest: string
  /** Each column's line of `SHOW CREATE TABLE`. */
  readonly columns: ReadonlyArray<string>
  /** Each index's line of `SHOW CREATE TABLE`, in the table's order. */
  readonly indexes: ReadonlyArray<string>
  /** Check constraints and foreign keys, as `SHOW CREATE TABLE` prints them. */
  readonly constraints: ReadonlyArray<string>
  /** Name, timing, event, order, statement, definer and the settings each trigger runs under. */
  readonly triggers: ReadonlyArray<string>
  /** The table and column privileges this user can see. */
  readonly grants: ReadonlyArray<string>
  /** `ENGINE=… DEFAULT CHARSET=… COLLATE=…` and the other table options (not AUTO_INCREMENT, which counts rows). */
  readonly options: string
}

export const checksum = async (s: Session, table: TableName, missing: (detail: string) => Error): Promise<Checksum> => {
  const info = await requireTable(s, table, missing)
  const row = info.columns.map((c) => `QUOTE(${text(c)})`).join(", ")
  const [r] = await s.query(
    `SELECT COUNT(*) AS n, LOWER(MD5(COALESCE(GROUP_CONCAT(h ORDER BY h SEPARATOR ''), ''))) AS d FROM (SELECT MD5(CONCAT_WS(',', ${row})) AS h FROM ${qualified(table)} AS r) AS hashes`,
  )
  return { table: show(table), rows: Number(r?.["n"] ?? 0), digest: String(r?.["d"] ?? "") }
}

const lines = async (s: Session, sql: string, params: ReadonlyArray<unknown>): Promise<ReadonlyArray<string>> => (await s.query(sql, params)).map((r) => String(r["x"])).sort()

export const fingerprint = async (s: Session, table: TableName, missing: (detail: string) => Error): Promise<SchemaFingerprint> => {
  await requireTable(s, table, missing)
  const create = await createTable(s, table)
  const body = create.split("\n")
  const columns = body
    .slice(1, -1)
    .map((l) => l.trim().replace(/,$/, ""))
    .filter((l) => l.startsWith("`"))
  const options = (body.at(-1) ?? "").replace(/\s*AUTO_INCREMENT=\d+/, "")
  const triggers = await lines(
    s,
    `SELECT CONCAT_WS(' ', TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER, DEFINER, SQL_MODE, CHARACTER_SET_CLIENT, COLLATION_CONNECTION, DATABASE_COLLATION, ACTION_STATEMENT) AS x
       FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?`,
    [table.schema, table.name],
  )
  const grants = [
    ...(await lines(s, "SELECT CONCAT_WS(' ', GRANTEE, PRIVILEGE_TYPE, IS_GRANTABLE) AS x FROM information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", [table.schema, table.name])),
    ...(await lines(s, "SELECT CONCAT_WS(' ', GRANTEE, COLUMN_NAME, PRIVILEGE_TYPE, IS_GRANTABLE) AS x FROM information_schema.COLUMN_PRIVILEGES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", [table.schema, table.name])),
  ]
  const parts = { columns, indexes: section(create, "index"), constraints: [...section(create, "foreign-key"), ...section(create, "check")], triggers, grants, options }
  return fingerprintOf(show(table), parts)
}
