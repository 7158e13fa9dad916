/**
 * Corrupt: changes one column's values in the rows of a table's scope — a role set to 'admin',
 * a price made negative, an email nulled — so an experiment can see whether the application's
 * integrity checks, constraints or audit trail notice. Its compensation,
 * `data.mysql.restore-values`, holds each changed row's primary key and the column's value
 * before, as text that writes back exactly (src/data/mysql/internal/catalog.ts), and writes them
 * back in one transaction.
 */
import { Schema } from "effect"
import type * as Fault from "../../../Fault.ts"
import * as Corrupt from "../../internal/corrupt.ts"
import { grewMessage, issueError } from "../../internal/bounds.ts"
import { batches, columnOf, derived, keyOf, param, selectKey, showKey, text, unknownColumn, unsupported, type Column, type TableInfo } from "../internal/catalog.ts"
import { transaction, type Session } from "../internal/client.ts"
import * as MyFault from "../internal/fault.ts"
import { declare, Key } from "../internal/kind.ts"
import { ident, qualified, show } from "../internal/sql.ts"
import { scoped, type MySqlTarget } from "../targets.ts"

type Before = { readonly k: ReadonlyArray<string>; readonly v: string | null }

const columnNow = (info: TableInfo, name: string): Column => {
  const column = columnOf(info, name)
  if (column === undefined) throw new Error(`${unknownColumn(info, name)}: it was dropped since; restore it from a backup`)
  return column
}

/** Rows whose `column` is not the recorded text (or that are gone): one line, or `undefined`. */
const differing = async (s: Session, info: TableInfo, column: Column, rows: ReadonlyArray<Before>): Promise<{ readonly total: number; readonly shown: ReadonlyArray<string> }> => {
  let total = 0
  const shown: Array<string> = []
  for (const batch of batches(rows)) {
    const v = derived(info, batch, [{ expr: "CONVERT(? USING utf8mb4) COLLATE utf8mb4_bin", value: (r) => r.v }])
    const found = await s.query(
      `SELECT ${info.key.map((_, i) => `CAST(v.k${i} AS CHAR CHARACTER SET utf8mb4) AS k${i}`).join(", ")}, r.${ident(info.key[0]?.name ?? "")} IS NULL AS missing
         FROM ${v.sql} LEFT JOIN ${v.table} ON ${v.on} WHERE r.${ident(info.key[0]?.name ?? "")} IS NULL OR NOT (${text(column)} <=> v.x0)`,
      v.params,
    )
    total += found.length
    for (const f of found.slice(0, 5 - shown.length)) shown.push(`${showKey(info, keyOf(info, f))}${f["missing"] === "1" ? " (row gone)" : ""}`)
  }
  return { total, shown }
}

/** Writes each row's before-value back (rows already equal are left alone). */
export const RestoreValues = declare({
  kind: "data.mysql.restore-values",
  fields: { column: Schema.String, rows: Schema.Array(Schema.Struct({ k: Key, v: Schema.NullOr(Schema.String) })) },
  undo: async (r, s, info) => {
    const column = columnNow(info, r.column)
    if (r.rows.length === 0) return
    await transaction(s, "read write", async () => {
      for (const batch of batches(r.rows)) {
        const v = derived(info, batch, [
          { expr: param(column), value: (x) => x.v },
          { expr: "CONVERT(? USING utf8mb4) COLLATE utf8mb4_bin", value: (x) => x.v },
        ])
        await s.query(`UPDATE ${v.table} JOIN ${v.sql} ON ${v.on} SET r.${ident(column.name)} = v.x0 WHERE NOT (${text(column)} <=> v.x1)`, v.params)
      }
    })
  },
  verify: async (r, s, info) => {
    const column = columnOf(info, r.column)
    if (column === undefined) return unknownColumn(info, r.column)
    if (r.rows.length === 0) return undefined
    const { total, shown } = await differing(s, info, column, r.rows)
    return total === 0 ? undefined : `${total} row(s) of ${show(info.table)} still differ in ${column.name} from the before-image: ${shown.join(", ")}`
  },
  settleMs: 5000,
})

export type { CorruptMode } from "../../internal/corrupt.ts"

export interface CorruptOptions extends Corrupt.CorruptBase {
  /** For `set`: the new value (sent as a parameter, converted to the column's type; strict mode refuses what does not fit). */
  readonly value?: string | number | boolean
}

const numeric = new Set(["int", "decimal", "float", "double"])

/**
 * Changes a column's values in a table of the target's scope; rollback writes the before-values
 * back by primary key.
 *
 * @example
 * Data.MySql.corrupt(shop, { table: "shop.users", column: "role", mode: "set", value: "admin", where: "id = 2" })
 */
export const corrupt = (target: MySqlTarget, options: CorruptOptions): Fault.Fault => {
  const { table, issue } = scoped(target, String(options.table ?? ""), "table")
  MyFault.invalidOptions("corrupt", Corrupt.issues(options, issue))
  const t = table as NonNullable<typeof table>
  const { sample, where, bounds, id, take, fault } = Corrupt.shape(options, t)
  const value = options.value === undefined ? null : typeof options.value === "boolean" ? (options.value ? "1" : "0") : String(options.value)
  /** Why the column cannot take this mode, or `undefined`. */
  const unsuitable = (info: TableInfo, column: Column): string | undefined => {
    if (info.key.some((k) => k.name === column.name)) return `${column.name} is part of the primary key, which identifies the rows of the before-image: corrupt another column`
    if (column.generated) return `${column.name} is a generated column: corrupt a column it is computed from`
    const bad = unsupported(column) ?? info.key.map(unsupported).find((x) => x !== undefined)
    if (bad !== undefined) return bad
    if (options.mode === "null" && column.notNull) return `${column.name} is NOT NULL, so the server would refuse NULL: use mode "set"`
    if (options.mode === "truncate" && column.category !== "text") return `mode "truncate" cuts text; ${column.name} is ${column.type}`
    if (options.mode === "negate" && !numeric.has(column.category ?? "")) return `mode "negate" flips a number's sign; ${column.name} is ${column.type}`
    if (options.mode === "negate" && column.unsigned) return `${column.name} is ${column.type}: an unsigned column cannot hold a negative number`
    return undefined
  }
  return MyFault.make({
    ...fault,
    target,
    kind: RestoreValues,
    preflight: async (s, info) => {
      const column = columnOf(info, options.column)
      if (column === undefined) throw issueError(`fault "${id}"`, "column", unknownColumn(info, options.column))
      const bad = unsuitable(info, column)
      if (bad !== undefined) return [{ rule: "data.mysql.column-unsuitable", detail: bad }]
      if (value !== null && numeric.has(column.category ?? "") && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value))
        throw issueError(`fault "${id}"`, "value", `${JSON.stringify(options.value)} is not a valid ${column.type}`)
      const [row] = await s
        .query(`SELECT COUNT(*) AS n, COALESCE(SUM(COALESCE(OCTET_LENGTH(${text(column)}), 4) + ${info.key.map((k) => `COALESCE(OCTET_LENGTH(${text(k)}), 0)`).join(" + ")} + 16), 0) AS b FROM ${qualified(info.table)} AS r${where}`)
        .catch((e: Error) => {
          throw where === "" ? e : issueError(`fault "${id}"`, "where", `the condition \`${options.where}\` does not run on ${show(info.table)}: ${e.message}`)
        })
      return MyFault.scopeRefusals(show(info.table), take(Number(row?.["n"] ?? 0)), Math.ceil(Number(row?.["b"] ?? 0) * sample), bounds)
    },
    capture: async (s, info) => {
      const column = columnNow(info, options.column)
      const [count] = await s.query(`SELECT COUNT(*) AS n FROM ${qualified(info.table)} AS r${where}`)
      const n = take(Number(count?.["n"] ?? 0))
      if (n > bounds.maxRows) throw new Error(grewMessage(n, bounds))
      const rows: ReadonlyArray<Before> = (
        await s.query(`SELECT ${selectKey(info)}, ${text(column)} AS v FROM ${qualified(info.table)} AS r${where}${sample < 1 ? " ORDER BY RAND() LIMIT ?" : ""} FOR UPDATE`, sample < 1 ? [n] : [])
      ).map((r) => ({ k: keyOf(info, r), v: r["v"] ?? null }))
      return { record: { description: `restore ${column.name} of ${rows.length} row(s) of ${show(info.table)}`, column: column.name, rows }, plan: rows }
    },
    inject: async (s, info, rows) => {
      const column = columnNow(info, options.column)
      const c = `r.${ident(column.name)}`
      const set = options.mode === "null" ? "NULL" : options.mode === "set" ? "v.x0" : options.mode === "truncate" ? `LEFT(${c}, CHAR_LENGTH(${c}) DIV 2)` : `-${c}`
      for (const batch of batches(rows)) {
        const v = derived(info, batch, options.mode === "set" ? [{ expr: param(column), value: () => value }] : [])
        await s.query(`UPDATE ${v.table} JOIN ${v.sql} ON ${v.on} SET ${c} = ${set}`, v.params)
      }
    },
  })
}
