/**
 * Corrupt: changes one column's values in the rows of a table's scope — a role set to 'admin',
 * a price made negative, an email nulled — so an experiment can see whether the application's
 * integrity checks, constraints or audit trail notice. Its compensation,
 * `data.postgres.restore-values`, holds each changed row's primary key and the column's value
 * before, as text, and writes them back in one transaction.
 */
import { Schema } from "effect"
import type * as Fault from "../../../Fault.ts"
import { grewMessage } from "../../internal/bounds.ts"
import * as Corrupt from "../../internal/corrupt.ts"
import { byKey, columnOf, showKey, unknownColumn, type TableInfo } from "../internal/catalog.ts"
import { transaction, type Session } from "../internal/client.ts"
import * as PgFault from "../internal/fault.ts"
import { declare, Key } from "../internal/kind.ts"
import { ident, qualified, show } from "../internal/sql.ts"
import { scoped, type PostgresTarget } from "../targets.ts"

/** Writes each row's before-value back (rows already equal are left alone). */
export const RestoreValues = declare({
  kind: "data.postgres.restore-values",
  fields: { column: Schema.String, rows: Schema.Array(Schema.Struct({ k: Key, v: Schema.NullOr(Schema.String) })) },
  undo: async (r, s, info) => {
    const column = columnOf(info, r.column)
    if (column === undefined) throw new Error(`${unknownColumn(info, r.column)}: it was dropped since; restore it from a backup`)
    if (r.rows.length === 0) return
    const rows = byKey(info, ["val"])
    await transaction(s, "read write", () =>
      s.query(
        `UPDATE ${rows.table} SET ${ident(column.name)} = v.val::${column.type} FROM ${rows.from} WHERE ${rows.on} AND r.${ident(column.name)}::text IS DISTINCT FROM v.val`,
        rows.params(r.rows, [r.rows.map((x) => x.v)]),
      ),
    )
  },
  verify: async (r, s, info) => {
    if (columnOf(info, r.column) === undefined) return unknownColumn(info, r.column)
    if (r.rows.length === 0) return undefined
    return differing(s, info, r.column, r.rows)
  },
  settleMs: 5000,
})

/** Rows whose `column` is not the recorded text (or that are gone): one line, or `undefined`. */
const differing = async (s: Session, info: TableInfo, column: string, rows: ReadonlyArray<{ readonly k: ReadonlyArray<string>; readonly v: string | null }>): Promise<string | undefined> => {
  const q = byKey(info, ["val"])
  const found = await s.query(
    `SELECT ${info.key.map((_, i) => `v.k${i}`).join(", ")}, r.ctid IS NULL AS missing, count(*) OVER ()::int AS total
       FROM ${q.from} LEFT JOIN ${q.table} ON ${q.on}
      WHERE r.ctid IS NULL OR r.${ident(column)}::text IS DISTINCT FROM v.val LIMIT 5`,
    q.params(rows, [rows.map((x) => x.v)]),
  )
  if (found.length === 0) return undefined
  const shown = found.map((f) => `${showKey(info, info.key.map((_, i) => String(f[`k${i}`])))}${f["missing"] === true ? " (row gone)" : ""}`)
  return `${String(found[0]?.["total"])} row(s) of ${show(info.table)} still differ in ${column} from the before-image: ${shown.join(", ")}`
}

export type { CorruptMode } from "../../internal/corrupt.ts"

export interface CorruptOptions extends Corrupt.CorruptBase {
  /** For `set`: the new value (sent as a parameter, cast to the column's type). */
  readonly value?: string | number | boolean
}

/**
 * Changes a column's values in a table of the target's scope; rollback writes the before-values
 * back by primary key.
 *
 * @example
 * Data.Postgres.corrupt(shop, { table: "public.users", column: "role", mode: "set", value: "admin", where: "id = 2" })
 */
export const corrupt = (target: PostgresTarget, options: CorruptOptions): Fault.Fault => {
  const { table, issue } = scoped(target, String(options.table ?? ""), "table")
  PgFault.invalidOptions("corrupt", Corrupt.issues(options, issue))
  const t = table as NonNullable<typeof table>
  const { sample, where, bounds, id, take, fault } = Corrupt.shape(options, t)
  const value = options.value === undefined ? null : String(options.value)
  /** Why the column cannot take this mode, or `undefined`. */
  const unsuitable = (info: TableInfo): string | undefined => {
    const column = columnOf(info, options.column)
    if (column === undefined) return undefined
    if (info.key.some((k) => k.name === column.name)) return `${options.column} is part of the primary key, which identifies the rows of the before-image: corrupt another column`
    if (column.generated) return `${options.column} is a generated column: corrupt a column it is computed from`
    if (options.mode === "null" && column.notNull) return `${options.column} is NOT NULL, so the server would refuse NULL: use mode "set"`
    if (options.mode === "truncate" && column.category !== "S") return `mode "truncate" cuts text; ${options.column} is ${column.type}`
    if (options.mode === "negate" && column.category !== "N") return `mode "negate" flips a number's sign; ${options.column} is ${column.type}`
    return undefined
  }
  return PgFault.make({
    ...fault,
    target,
    kind: RestoreValues,
    preflight: async (s, info) => {
      const column = columnOf(info, options.column)
      if (column === undefined) throw PgFault.issueError(`fault "${id}"`, "column", unknownColumn(info, options.column))
      const bad = unsuitable(info)
      if (bad !== undefined) return [{ rule: "data.postgres.column-unsuitable", detail: bad }]
      if (value !== null) await s.query(`SELECT $1::${column.type}`, [value]).catch((e: Error) => {
        throw PgFault.issueError(`fault "${id}"`, "value", `${JSON.stringify(options.value)} is not a valid ${column.type}: ${e.message}`)
      })
      const [row] = await s
        .query(
          `SELECT count(*)::int8::text AS n, coalesce(sum(octet_length(r.${ident(column.name)}::text) + octet_length(ROW(${info.key.map((k) => `r.${ident(k.name)}`).join(", ")})::text) + 16), 0)::int8::text AS b FROM ${qualified(info.table)} AS r${where}`,
        )
        .catch((e: Error) => {
          throw where === "" ? e : PgFault.issueError(`fault "${id}"`, "where", `the condition \`${options.where}\` does not run on ${show(info.table)}: ${e.message}`)
        })
      return PgFault.scopeRefusals(show(info.table), take(Number(row?.["n"] ?? 0)), Math.ceil(Number(row?.["b"] ?? 0) * sample), bounds)
    },
    capture: async (s, info) => {
      const column = columnOf(info, options.column)
      if (column === undefined) throw new Error(unknownColumn(info, options.column))
      const [count] = await s.query(`SELECT count(*)::int8::text AS n FROM ${qualified(info.table)} AS r${where}`)
      const n = take(Number(count?.["n"] ?? 0))
      if (n > bounds.maxRows) throw new Error(grewMessage(n, bounds))
      const q = byKey(info, [])
      const rows = (
        await s.query(`SELECT ${q.select}, r.${ident(column.name)}::text AS v FROM ${q.table}${where}${sample < 1 ? " ORDER BY random() LIMIT $1" : ""} FOR UPDATE OF r`, sample < 1 ? [n] : [])
      ).map((r) => ({ k: info.key.map((_, i) => String(r[`k${i}`])), v: r["v"] === null ? null : String(r["v"]) }))
      return { record: { description: `restore ${options.column} of ${rows.length} row(s) of ${show(info.table)}`, column: column.name, rows }, plan: rows }
    },
    inject: async (s, info, rows) => {
      if (rows.length === 0) return
      const column = columnOf(info, options.column) as NonNullable<ReturnType<typeof columnOf>>
      const q = byKey(info, [])
      const c = `r.${ident(column.name)}`
      const set = options.mode === "null" ? "NULL" : options.mode === "set" ? `$${info.key.length + 1}::${column.type}` : options.mode === "truncate" ? `left(${c}, char_length(${c}) / 2)` : `-${c}`
      await s.query(`UPDATE ${q.table} SET ${ident(column.name)} = ${set} FROM ${q.from} WHERE ${q.on}`, [...q.params(rows, []), ...(options.mode === "set" ? [value] : [])])
    },
  })
}
