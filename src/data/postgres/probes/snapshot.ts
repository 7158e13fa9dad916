/**
 * A snapshot of rows: their primary key and every other (non-generated) column, as text — a
 * plain JSON value. Observed now and replayed later by `replay` (the old password hash, the
 * revoked token), in the same run (the generator form hands the value on) or in another (keep it
 * in a file: `JSON.stringify` it, and give `replay` the parsed value).
 */
import { Schema } from "effect"
import { fail, InvalidExperiment } from "../../../ShiftupError.ts"
import * as Probe from "../../../Probe.ts"
import { byKey, requireTable } from "../internal/catalog.ts"
import { observe, tableOf } from "../internal/probe.ts"
import { ident, qualified, show } from "../internal/sql.ts"
import type { PostgresTarget } from "../targets.ts"

/** Rows of one table as text: what `snapshot` returns and `replay` writes back. */
export interface Snapshot {
  readonly schema: string
  readonly table: string
  /** The primary key's columns, in key order. */
  readonly key: ReadonlyArray<string>
  /** The other columns (generated ones left out), in table order. */
  readonly columns: ReadonlyArray<string>
  /** Each row: its key's values (`k`) and the columns' values (`v`), as text; `null` for NULL. */
  readonly rows: ReadonlyArray<{ readonly k: ReadonlyArray<string>; readonly v: ReadonlyArray<string | null> }>
}

export const SnapshotSchema = Schema.Struct({
  schema: Schema.String,
  table: Schema.String,
  key: Schema.Array(Schema.String),
  columns: Schema.Array(Schema.String),
  rows: Schema.Array(Schema.Struct({ k: Schema.Array(Schema.String), v: Schema.Array(Schema.NullOr(Schema.String)) })),
})

export interface SnapshotOptions {
  /** The table to read. */
  readonly table: string
  /** An SQL condition narrowing the rows (`id = 7`), written by the experiment's author. */
  readonly where?: string
  /** The most rows it may hold; more is a failed probe. Default 10 000. */
  readonly maxRows?: number
  readonly id?: string
}

/**
 * The rows of a table (or those `where` picks), as a JSON value `replay` can write back later.
 *
 * @example
 * const old = yield* ctx.observe(Data.Postgres.snapshot(shop, { table: "public.users", where: "id = 7" }))
 */
export const snapshot = (target: PostgresTarget, options: SnapshotOptions): Probe.Probe<Snapshot> => {
  const table = tableOf(target, options, "snapshot")
  const maxRows = options.maxRows ?? 10_000
  if (!(Number.isInteger(maxRows) && maxRows > 0)) throw fail(new InvalidExperiment({ source: `shiftup/data Postgres.snapshot on "${target.id}"`, issues: [{ path: "maxRows", message: "maxRows must be a positive integer" }] }))
  const where = options.where === undefined || options.where.trim() === "" ? "" : ` WHERE (${options.where})`
  const id = options.id ?? `${target.id} snapshot ${show(table)}`
  return Probe.make({
    id,
    title: `snapshot of ${show(table)}${where === "" ? "" : ` where ${options.where}`} on ${target.id}`,
    target,
    observe: observe(target, id, async (s, missing) => {
      const info = await requireTable(s, table, missing)
      if (info.key.length === 0) throw missing(`${show(table)} has no primary key, so its rows could not be found again to replay them`)
      const columns = info.columns.filter((c) => !c.generated && !info.key.some((k) => k.name === c.name))
      const [count] = await s.query(`SELECT count(*)::int8::text AS n FROM ${qualified(table)} AS r${where}`)
      const n = Number(count?.["n"] ?? 0)
      if (n > maxRows) throw missing(`${n} rows of ${show(table)} are in scope, over maxRows (${maxRows}): narrow \`where\`, or raise maxRows`)
      const q = byKey(info, [])
      const rows = await s.query(`SELECT ${q.select}${columns.map((c, i) => `, r.${ident(c.name)}::text AS c${i}`).join("")} FROM ${q.table}${where}`)
      return {
        schema: table.schema,
        table: table.name,
        key: info.key.map((k) => k.name),
        columns: columns.map((c) => c.name),
        rows: rows.map((r) => ({ k: info.key.map((_, i) => String(r[`k${i}`])), v: columns.map((_, i) => (r[`c${i}`] === null ? null : String(r[`c${i}`]))) })),
      }
    }),
  })
}
