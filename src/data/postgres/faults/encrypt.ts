/**
 * Encrypt: ransomware on a table — text values replaced by their AES-256-GCM ciphertext (node's
 * crypto, stored base64 in the column), so an experiment sees whether the application fails
 * closed on data it cannot read, and whether monitoring notices a mass rewrite. pgcrypto is not
 * used: it is an extension a server may not have, and installing it would change the schema
 * outside the experiment's scope.
 *
 * Its compensation, `data.postgres.decrypt`, holds the key, each row's primary key and an md5
 * digest of each original value — never the plaintext: the ledger holds no copy of the data, and
 * the key is useless without the database. `recover` in a fresh process decrypts whatever still
 * holds shiftup's ciphertext (the GCM tag proves it, bound to the table, column and row) and
 * checks every value against its digest.
 */
import type * as Fault from "../../../Fault.ts"
import { byKey, columnOf, showKey, unknownColumn, type Column, type TableInfo } from "../internal/catalog.ts"
import { type Session, transaction } from "../internal/client.ts"
import * as Encrypt from "../../internal/encrypt.ts"
import { aadOf, newKey, seal } from "../../internal/seal.ts"
import * as PgFault from "../internal/fault.ts"
import { declare } from "../internal/kind.ts"
import { ident, qualified, show } from "../internal/sql.ts"
import { scoped, type PostgresTarget } from "../targets.ts"

/** Rows where some column's digest is not the recorded one (or that are gone). */
const differing = async (s: Session, info: TableInfo, columns: ReadonlyArray<Column>, rows: Encrypt.Rows) => {
  const hs = columns.map((_, i) => `h${i}`)
  const q = byKey(info, hs)
  const differs = columns.map((c, i) => `md5(r.${ident(c.name)}::text) IS DISTINCT FROM v.h${i}`).join(" OR ")
  return s.query(
    `SELECT ${info.key.map((_, i) => `v.k${i}`).join(", ")}, r.ctid IS NULL AS missing, count(*) OVER ()::int AS total, ${columns.map((c, i) => `r.${ident(c.name)}::text AS c${i}, md5(r.${ident(c.name)}::text) AS m${i}`).join(", ")}
       FROM ${q.from} LEFT JOIN ${q.table} ON ${q.on} WHERE r.ctid IS NULL OR ${differs}`,
    q.params(rows, columns.map((_, i) => rows.map((r) => r.h[i] ?? null))),
  )
}

const engine: Encrypt.DecryptEngine<Session, TableInfo, Column> = {
  columnOf,
  unknownColumn,
  showKey,
  show: (info) => show(info.table),
  transaction: (s, f) => transaction(s, "read write", f),
  differing,
  missing: (f) => f["missing"] === true,
  total: (found) => String(found[0]?.["total"]),
  write: async (s, info, columns, writes) => {
    const q = byKey(info, columns.map((_, i) => `p${i}`))
    await s.query(
      `UPDATE ${q.table} SET ${columns.map((c, i) => `${ident(c.name)} = coalesce(v.p${i}::${c.type}, r.${ident(c.name)})`).join(", ")} FROM ${q.from} WHERE ${q.on}`,
      q.params(writes, columns.map((_, i) => writes.map((w) => w.p[i] ?? null))),
    )
  },
}

/** Decrypts what still holds shiftup's ciphertext; values overwritten since are reported. */
export const Decrypt = declare({ kind: "data.postgres.decrypt", fields: Encrypt.fields, undo: Encrypt.undo(engine), verify: Encrypt.verify(engine), settleMs: 5000 })

export interface EncryptOptions extends Encrypt.EncryptBase {
  /** Text columns to encrypt (`text`, unbounded `varchar`): the ciphertext is longer than the value. */
  readonly columns: ReadonlyArray<string>
}

/**
 * Encrypts text columns of a table of the target's scope with a key only the ledger holds.
 * `destroy` class: lab targets only.
 *
 * @example
 * Data.Postgres.encrypt(shop, { table: "public.orders", columns: ["address", "note"] })
 */
export const encrypt = (target: PostgresTarget, options: EncryptOptions): Fault.Fault => {
  const { table, issue } = scoped(target, String(options.table ?? ""), "table")
  PgFault.invalidOptions("encrypt", Encrypt.issues(options, issue))
  const t = table as NonNullable<typeof table>
  const { sample, names, bounds, id, take, fault } = Encrypt.shape(options, t)
  return PgFault.make({
    ...fault,
    target,
    kind: Decrypt,
    preflight: async (s, info) => {
      const refusals: Array<Fault.Refusal> = []
      for (const n of names) {
        const c = columnOf(info, n)
        if (c === undefined) throw PgFault.issueError(`fault "${id}"`, "columns", unknownColumn(info, n))
        if (info.key.some((k) => k.name === n)) refusals.push({ rule: "data.postgres.column-unsuitable", detail: `${n} is part of the primary key, which identifies the rows to decrypt: encrypt other columns` })
        else if (c.generated) refusals.push({ rule: "data.postgres.column-unsuitable", detail: `${n} is a generated column` })
        else if (c.category !== "S" || /\(\d+\)$/.test(c.type))
          refusals.push({ rule: "data.postgres.column-unsuitable", detail: `${n} is ${c.type}: only text and unbounded varchar columns can hold the (longer) base64 ciphertext` })
      }
      if (refusals.length > 0) return refusals
      const [row] = await s.query(`SELECT count(*)::int8::text AS n FROM ${qualified(info.table)}`)
      const n = take(Number(row?.["n"] ?? 0))
      // Each row's record: its key as text and one 32-digit digest per column.
      const [size] = await s.query(`SELECT coalesce(sum(octet_length(ROW(${info.key.map((k) => `r.${ident(k.name)}`).join(", ")})::text) + ${names.length * 36 + 16}), 0)::int8::text AS b FROM ${qualified(info.table)} AS r`)
      return PgFault.scopeRefusals(show(info.table), n, Math.ceil(Number(size?.["b"] ?? 0) * sample), bounds)
    },
    capture: async (s, info) => {
      const columns = names.map((n) => columnOf(info, n) as Column)
      const [count] = await s.query(`SELECT count(*)::int8::text AS n FROM ${qualified(info.table)}`)
      const n = take(Number(count?.["n"] ?? 0))
      if (n > bounds.maxRows) throw new Error(`${n} rows are in scope now, over maxRows (${bounds.maxRows}); nothing was changed. Lower sample or raise maxRows`)
      const q = byKey(info, [])
      const found = await s.query(
        `SELECT ${q.select}, ${columns.map((c, i) => `r.${ident(c.name)}::text AS p${i}, md5(r.${ident(c.name)}::text) AS h${i}`).join(", ")} FROM ${q.table}${sample < 1 ? " ORDER BY random() LIMIT $1" : ""} FOR UPDATE OF r`,
        sample < 1 ? [n] : [],
      )
      const key = newKey()
      const where = show(info.table)
      const rows = found.map((f) => {
        const k = info.key.map((_, i) => String(f[`k${i}`]))
        return { k, h: columns.map((_, i) => (f[`h${i}`] === null ? null : String(f[`h${i}`]))), e: columns.map((c, i) => (f[`p${i}`] === null ? null : seal(key, aadOf(where, c.name, k), String(f[`p${i}`])))) }
      })
      return {
        record: { description: `decrypt ${names.join(", ")} of ${rows.length} row(s) of ${where}`, key: key.toString("base64"), columns: columns.map((c) => c.name), rows: rows.map((r) => ({ k: r.k, h: r.h })) },
        plan: { columns, rows },
      }
    },
    inject: async (s, info, plan) => {
      if (plan.rows.length === 0) return
      const q = byKey(info, plan.columns.map((_, i) => `e${i}`))
      await s.query(
        `UPDATE ${q.table} SET ${plan.columns.map((c, i) => `${ident(c.name)} = coalesce(v.e${i}::${c.type}, r.${ident(c.name)})`).join(", ")} FROM ${q.from} WHERE ${q.on}`,
        q.params(plan.rows, plan.columns.map((_, i) => plan.rows.map((r) => r.e[i] ?? null))),
      )
    },
  })
}
