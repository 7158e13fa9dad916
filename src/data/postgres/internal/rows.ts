/**
 * Whole rows as text, put back exactly: the images the replay fault writes (an older snapshot)
 * and the before-image its compensation writes back. An image is a row's primary key and its
 * other columns' values as text — or `null` for a row that must not exist. One statement writes
 * them all: rows that must not exist are deleted, rows that differ are updated, rows that are gone
 * are inserted again; rows already as the image says are left alone.
 */
import { byKey, type Column, showKey, type TableInfo } from "./catalog.ts"
import type { Session } from "./client.ts"
import { ident, qualified, show } from "./sql.ts"

export interface RowImage {
  readonly k: ReadonlyArray<string>
  /** The columns' values as text, in the order of `columns`; `null`: the row must not exist. */
  readonly v: ReadonlyArray<string | null> | null
}

const arrays = (info: TableInfo, columns: ReadonlyArray<Column>, rows: ReadonlyArray<RowImage>) => {
  const q = byKey(info, ["p", ...columns.map((_, i) => `c${i}`)])
  const params = q.params(rows, [rows.map((r) => (r.v === null ? null : "t")), ...columns.map((_, i) => rows.map((r) => r.v?.[i] ?? null))])
  return { q, params }
}

/** Writes `rows` over the table, in one statement; call it inside a transaction (its settings are local to it). */
export const putRows = async (s: Session, info: TableInfo, columns: ReadonlyArray<Column>, rows: ReadonlyArray<RowImage>): Promise<void> => {
  if (rows.length === 0) return
  const { q, params } = arrays(info, columns, rows)
  const differs = columns.map((c, i) => `r.${ident(c.name)}::text IS DISTINCT FROM v.c${i}`).join(" OR ")
  const names = [...info.key, ...columns].map((c) => ident(c.name)).join(", ")
  // The image is joined twice and hashed: with the default 4 MB a large one spills to disk (measured: bench/data.ts).
  await s.query("SET LOCAL work_mem = '64MB'")
  const values = [...info.key.map((k, i) => `v.k${i}::${k.type}`), ...columns.map((c, i) => `v.c${i}::${c.type}`)].join(", ")
  await s.query(
    `WITH v AS MATERIALIZED (SELECT * FROM ${q.from}),
          gone AS (DELETE FROM ${q.table} USING v WHERE ${q.on} AND v.p IS NULL RETURNING 1),
          changed AS (${columns.length === 0 ? "SELECT 1" : `UPDATE ${q.table} SET ${columns.map((c, i) => `${ident(c.name)} = v.c${i}::${c.type}`).join(", ")} FROM v WHERE ${q.on} AND v.p IS NOT NULL AND (${differs}) RETURNING 1`})
     INSERT INTO ${qualified(info.table)} (${names}) OVERRIDING SYSTEM VALUE SELECT ${values} FROM v WHERE v.p IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${q.table} WHERE ${q.on})`,
    params,
  )
}

/** The rows of `rows` the table does not hold as their image says: one line, or `undefined`. */
export const rowsDiffer = async (s: Session, info: TableInfo, columns: ReadonlyArray<Column>, rows: ReadonlyArray<RowImage>): Promise<string | undefined> => {
  if (rows.length === 0) return undefined
  const { q, params } = arrays(info, columns, rows)
  const differs = columns.map((c, i) => `r.${ident(c.name)}::text IS DISTINCT FROM v.c${i}`)
  const found = await s.query(
    `SELECT ${info.key.map((_, i) => `v.k${i}`).join(", ")}, v.p IS NULL AS unwanted, r.ctid IS NULL AS missing, count(*) OVER ()::int AS total
       FROM ${q.from} LEFT JOIN ${q.table} ON ${q.on}
      WHERE (v.p IS NULL AND r.ctid IS NOT NULL) OR (v.p IS NOT NULL AND (r.ctid IS NULL${differs.map((d) => ` OR ${d}`).join("")})) LIMIT 5`,
    params,
  )
  if (found.length === 0) return undefined
  const shown = found.map((f) => `${showKey(info, info.key.map((_, i) => String(f[`k${i}`])))}${f["unwanted"] === true ? " (should not exist)" : f["missing"] === true ? " (gone)" : ""}`)
  return `${String(found[0]?.["total"])} row(s) of ${show(info.table)} differ from the recorded image: ${shown.join(", ")}`
}
