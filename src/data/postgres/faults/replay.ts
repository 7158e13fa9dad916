/**
 * Replay: stale data written back — an older snapshot of rows (taken by the `snapshot` probe,
 * earlier in the run or kept in a file from another) put over the current rows: a revoked
 * token's row back, an old password hash back, a price from last year. Rows the snapshot holds
 * that are gone now are inserted again; rows added since are left alone. Its compensation,
 * `data.postgres.restore-rows`, holds the before-image of every row the snapshot names (its
 * values as text, or "did not exist"), and writes exactly that back.
 */
import { Schema } from "effect"
import type * as Fault from "../../../Fault.ts"
import { decodeAll } from "../../../internal/validate.ts"
import { byKey, type Column, columnOf, unknownColumn, type TableInfo } from "../internal/catalog.ts"
import { transaction } from "../internal/client.ts"
import * as PgFault from "../internal/fault.ts"
import { declare } from "../internal/kind.ts"
import { putRows, type RowImage, rowsDiffer } from "../internal/rows.ts"
import { ident, show } from "../internal/sql.ts"
import { type Snapshot, SnapshotSchema } from "../probes/snapshot.ts"
import { scoped, type PostgresTarget } from "../targets.ts"

/** The live columns a record or snapshot names, in its order; throws when one is gone or generated. */
const liveColumns = (info: TableInfo, names: ReadonlyArray<string>): ReadonlyArray<Column> =>
  names.map((n) => {
    const c = columnOf(info, n)
    if (c === undefined) throw new Error(`${unknownColumn(info, n)}: it was dropped since; restore it from a backup`)
    if (c.generated) throw new Error(`${n} of ${show(info.table)} is a generated column now: it cannot be written`)
    return c
  })

const isText = (u: unknown): u is string => typeof u === "string"
const isImage = (u: unknown): u is RowImage => {
  if (typeof u !== "object" || u === null) return false
  const { k, v } = u as { readonly k?: unknown; readonly v?: unknown }
  return Array.isArray(k) && k.every(isText) && (v === null || (Array.isArray(v) && v.every((x) => x === null || typeof x === "string")))
}
// A before-image may hold 100 000 rows: a plain loop checks it, where a composed Schema.Struct
// took 1.3 s per decode here (a restore decodes its record three times; bench/data.ts).
const Images = Schema.declare((u: unknown): u is ReadonlyArray<RowImage> => Array.isArray(u) && u.every(isImage), {
  expected: "rows: [{ k: [key values as text], v: [values as text or null], or null }]",
})

/** Writes the before-image back: each row's values, or its absence. */
export const RestoreRows = declare({
  kind: "data.postgres.restore-rows",
  fields: { columns: Schema.Array(Schema.String), rows: Images },
  undo: async (r, s, info) => {
    const columns = liveColumns(info, r.columns)
    await transaction(s, "read write", () => putRows(s, info, columns, r.rows))
  },
  verify: async (r, s, info) => rowsDiffer(s, info, liveColumns(info, r.columns), r.rows),
  settleMs: 5000,
})

export interface ReplayOptions extends PgFault.DataFaultOptions {
  /** The older rows to write back: what `Data.Postgres.snapshot` returned (or its JSON, parsed). */
  readonly snapshot: Snapshot
}

/**
 * Writes an older snapshot of rows over the current ones; rollback puts the current ones back.
 *
 * @example
 * const old = yield* ctx.observe(Data.Postgres.snapshot(shop, { table: "public.tokens", where: "id = 7" }))
 * // … the application revokes token 7 …
 * yield* ctx.inject(Data.Postgres.replay(shop, { snapshot: old }))
 */
export const replay = (target: PostgresTarget, options: ReplayOptions): Fault.Fault => {
  const shape = decodeAll(SnapshotSchema, options.snapshot)
  const snap = options.snapshot
  const text = shape.length === 0 ? `"${snap.schema.replaceAll('"', '""')}"."${snap.table.replaceAll('"', '""')}"` : ""
  const { table, issue } = shape.length === 0 ? scoped(target, text, "snapshot") : { table: undefined, issue: undefined }
  const ragged = shape.length === 0 ? snap.rows.findIndex((r) => r.k.length !== snap.key.length || r.v.length !== snap.columns.length) : -1
  PgFault.invalidOptions("replay", [
    ...shape.map((i) => ({ path: `snapshot${i.path === "" ? "" : `.${i.path}`}`, message: i.message })),
    ...(issue === undefined ? [] : [issue]),
    ...(ragged < 0 ? [] : [{ path: `snapshot.rows[${ragged}]`, message: "a row's values do not match the snapshot's key and columns: take the snapshot again" }]),
    ...PgFault.boundIssues(options),
  ])
  const t = table as NonNullable<typeof table>
  const bounds = { maxRows: options.maxRows ?? PgFault.defaults.maxRows, maxBytes: options.maxBytes ?? PgFault.defaults.maxBytes }
  const id = options.id ?? `replay ${show(t)}`
  const bad = (path: string, detail: string) => PgFault.issueError(`fault "${id}"`, path, detail)
  /** The snapshot's columns as the table has them now; an issue when it no longer fits. */
  const fit = (info: TableInfo): ReadonlyArray<Column> => {
    const key = info.key.map((k) => k.name)
    if (key.join("\u0000") !== snap.key.join("\u0000")) throw bad("snapshot", `the primary key of ${show(t)} is (${key.join(", ")}) now, not (${snap.key.join(", ")}) as in the snapshot`)
    try {
      return liveColumns(info, snap.columns)
    } catch (e) {
      throw bad("snapshot", (e as Error).message)
    }
  }
  return PgFault.make({
    id,
    title: `replay ${snap.rows.length} older row(s) of ${show(t)}`,
    target,
    table: t,
    safety: "disrupt",
    kind: RestoreRows,
    bounds,
    rows: true,
    preflight: async (_s, info) => {
      fit(info)
      // The before-image is about as large as the snapshot (plus the rows' keys).
      return PgFault.scopeRefusals(show(t), snap.rows.length, Buffer.byteLength(JSON.stringify(snap.rows)), bounds)
    },
    capture: async (s, info) => {
      const columns = fit(info)
      const q = byKey(info, [])
      const found = await s.query(`SELECT ${q.select}${columns.map((c, i) => `, r.${ident(c.name)}::text AS c${i}`).join("")} FROM ${q.table} JOIN ${q.from} ON ${q.on} FOR UPDATE OF r`, q.params(snap.rows, []))
      const now = new Map(found.map((f) => [JSON.stringify(info.key.map((_, i) => String(f[`k${i}`]))), columns.map((_, i) => (f[`c${i}`] === null ? null : String(f[`c${i}`])))]))
      const rows = snap.rows.map((r) => ({ k: r.k, v: now.get(JSON.stringify(r.k)) ?? null }))
      const absent = rows.filter((r) => r.v === null).length
      return {
        record: { description: `put back ${rows.length - absent} row(s) of ${show(t)}${absent > 0 ? ` and remove ${absent} replayed one(s)` : ""}`, columns: columns.map((c) => c.name), rows },
        plan: columns,
      }
    },
    inject: (s, info, columns) => putRows(s, info, columns, snap.rows),
  })
}
