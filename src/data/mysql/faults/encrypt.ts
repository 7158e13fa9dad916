/**
 * Encrypt: ransomware on a table — text values replaced by their AES-256-GCM ciphertext (node's
 * crypto, stored base64 in the column: src/data/internal/seal.ts), so an experiment sees whether
 * the application fails closed on data it cannot read, and whether monitoring notices a mass
 * rewrite. The server's own AES_ENCRYPT is not used: it is ECB by default, and its mode is a
 * server setting the experiment does not own.
 *
 * Its compensation, `data.mysql.decrypt`, holds the key, each row's primary key and an MD5
 * digest of each original value (computed by the server) — never the plaintext: the ledger holds
 * no copy of the data, and the key is useless without the database. `recover` in a fresh process
 * decrypts whatever still holds shiftup's ciphertext (the GCM tag proves it, bound to the table,
 * column and row) and checks every value against its digest.
 */
import type * as Fault from "../../../Fault.ts"
import { grewMessage, issueError } from "../../internal/bounds.ts"
import * as Encrypt from "../../internal/encrypt.ts"
import { aadOf, newKey, seal, sealedLength } from "../../internal/seal.ts"
import { batches, columnOf, derived, keyOf, param, selectKey, showKey, text, unknownColumn, unsupported, type Column, type TableInfo } from "../internal/catalog.ts"
import { type Session, transaction } from "../internal/client.ts"
import * as MyFault from "../internal/fault.ts"
import { declare } from "../internal/kind.ts"
import { ident, qualified, show } from "../internal/sql.ts"
import { scoped, type MySqlTarget } from "../targets.ts"

const md5 = (c: Column) => `LOWER(MD5(r.${ident(c.name)}))`

/** Recorded rows where some column's digest is not the recorded one (or that are gone), with their values now. */
const differing = async (s: Session, info: TableInfo, columns: ReadonlyArray<Column>, rows: Encrypt.Rows) => {
  const out: Array<Readonly<Record<string, string | null>>> = []
  const first = `r.${ident(info.key[0]?.name ?? "")}`
  for (const batch of batches(rows)) {
    const v = derived(info, batch, columns.map((_, i) => ({ expr: "CONVERT(? USING utf8mb4) COLLATE utf8mb4_bin", value: (r: Encrypt.Rows[number]) => r.h[i] ?? null })))
    const differs = columns.map((c, i) => `NOT (${md5(c)} <=> v.x${i})`).join(" OR ")
    out.push(
      ...(await s.query(
        `SELECT ${info.key.map((_, i) => `CAST(v.k${i} AS CHAR CHARACTER SET utf8mb4) AS k${i}`).join(", ")}, ${first} IS NULL AS missing, ${columns.map((c, i) => `${text(c)} AS c${i}, ${md5(c)} AS m${i}`).join(", ")}
           FROM ${v.sql} LEFT JOIN ${v.table} ON ${v.on} WHERE ${first} IS NULL OR ${differs}`,
        v.params,
      )),
    )
  }
  return out
}

const engine: Encrypt.DecryptEngine<Session, TableInfo, Column> = {
  columnOf,
  unknownColumn,
  showKey,
  show: (info) => show(info.table),
  transaction: (s, f) => transaction(s, "read write", f),
  differing,
  missing: (f) => f["missing"] === "1",
  total: (found) => found.length,
  write: async (s, info, columns, writes) => {
    for (const batch of batches(writes)) {
      const v = derived(info, batch, columns.map((c, i) => ({ expr: param(c), value: (w: (typeof writes)[number]) => w.p[i] ?? null })))
      await s.query(`UPDATE ${v.table} JOIN ${v.sql} ON ${v.on} SET ${columns.map((c, i) => `r.${ident(c.name)} = COALESCE(v.x${i}, r.${ident(c.name)})`).join(", ")}`, v.params)
    }
  },
}

/** Decrypts what still holds shiftup's ciphertext; values overwritten since are reported. */
export const Decrypt = declare({ kind: "data.mysql.decrypt", fields: Encrypt.fields, undo: Encrypt.undo(engine), verify: Encrypt.verify(engine), settleMs: 5000 })

export interface EncryptOptions extends Encrypt.EncryptBase {
  /** Text columns to encrypt (char, varchar, text types): each must be long enough for the (longer) base64 ciphertext. */
  readonly columns: ReadonlyArray<string>
}

const plainText = new Set(["char", "varchar", "tinytext", "text", "mediumtext", "longtext"])

/**
 * Encrypts text columns of a table of the target's scope with a key only the ledger holds.
 * `destroy` class: lab targets only.
 *
 * @example
 * Data.MySql.encrypt(shop, { table: "shop.orders", columns: ["address", "note"] })
 */
export const encrypt = (target: MySqlTarget, options: EncryptOptions): Fault.Fault => {
  const { table, issue } = scoped(target, String(options.table ?? ""), "table")
  MyFault.invalidOptions("encrypt", Encrypt.issues(options, issue))
  const t = table as NonNullable<typeof table>
  const { sample, names, bounds, id, take, fault } = Encrypt.shape(options, t)
  return MyFault.make({
    ...fault,
    target,
    kind: Decrypt,
    preflight: async (s, info) => {
      const refusals: Array<Fault.Refusal> = []
      const keyBad = info.key.map(unsupported).find((x) => x !== undefined)
      if (keyBad !== undefined) refusals.push({ rule: "data.mysql.column-unsuitable", detail: `the primary key: ${keyBad}` })
      for (const n of names) {
        const c = columnOf(info, n)
        if (c === undefined) throw issueError(`fault "${id}"`, "columns", unknownColumn(info, n))
        const dataType = c.type.replace(/\(.*$/, "").trim().toLowerCase()
        if (info.key.some((k) => k.name === c.name)) refusals.push({ rule: "data.mysql.column-unsuitable", detail: `${n} is part of the primary key, which identifies the rows to decrypt: encrypt other columns` })
        else if (c.generated) refusals.push({ rule: "data.mysql.column-unsuitable", detail: `${n} is a generated column` })
        else if (!plainText.has(dataType) || c.charset === null || c.charset === "binary")
          refusals.push({ rule: "data.mysql.column-unsuitable", detail: `${n} is ${c.type}: only text columns (char, varchar, text) can hold the base64 ciphertext` })
        else {
          const [longest] = await s.query(`SELECT COALESCE(MAX(OCTET_LENGTH(CONVERT(r.${ident(c.name)} USING utf8mb4))), 0) AS n FROM ${qualified(info.table)} AS r`)
          const need = sealedLength(Number(longest?.["n"] ?? 0))
          if (c.maxLength !== null && need > c.maxLength) refusals.push({ rule: "data.mysql.column-unsuitable", detail: `${n} is ${c.type}: its longest value's ciphertext takes ${need} characters; widen it, or encrypt another column` })
        }
      }
      if (refusals.length > 0) return refusals
      const [row] = await s.query(`SELECT COUNT(*) AS n, COALESCE(SUM(${info.key.map((k) => `COALESCE(OCTET_LENGTH(${text(k)}), 0)`).join(" + ")} + ${names.length * 36 + 16}), 0) AS b FROM ${qualified(info.table)} AS r`)
      return MyFault.scopeRefusals(show(info.table), take(Number(row?.["n"] ?? 0)), Math.ceil(Number(row?.["b"] ?? 0) * sample), bounds)
    },
    capture: async (s, info) => {
      const columns = Encrypt.columnsOf(engine, info, names)
      const [count] = await s.query(`SELECT COUNT(*) AS n FROM ${qualified(info.table)}`)
      const n = take(Number(count?.["n"] ?? 0))
      if (n > bounds.maxRows) throw new Error(grewMessage(n, bounds))
      const found = await s.query(
        `SELECT ${selectKey(info)}, ${columns.map((c, i) => `${text(c)} AS p${i}, ${md5(c)} AS h${i}`).join(", ")} FROM ${qualified(info.table)} AS r${sample < 1 ? " ORDER BY RAND() LIMIT ?" : ""} FOR UPDATE`,
        sample < 1 ? [n] : [],
      )
      const key = newKey()
      const where = show(info.table)
      const rows = found.map((f) => {
        const k = keyOf(info, f)
        return { k, h: columns.map((_, i) => f[`h${i}`] ?? null), e: columns.map((c, i) => (f[`p${i}`] === null || f[`p${i}`] === undefined ? null : seal(key, aadOf(where, c.name, k), String(f[`p${i}`])))) }
      })
      return {
        record: { description: `decrypt ${names.join(", ")} of ${rows.length} row(s) of ${where}`, key: key.toString("base64"), columns: columns.map((c) => c.name), rows: rows.map((r) => ({ k: r.k, h: r.h })) },
        plan: { columns, rows },
      }
    },
    inject: async (s, info, plan) => {
      for (const batch of batches(plan.rows)) {
        const v = derived(info, batch, plan.columns.map((c, i) => ({ expr: param(c), value: (r: (typeof plan.rows)[number]) => r.e[i] ?? null })))
        await s.query(`UPDATE ${v.table} JOIN ${v.sql} ON ${v.on} SET ${plan.columns.map((c, i) => `r.${ident(c.name)} = COALESCE(v.x${i}, r.${ident(c.name)})`).join(", ")}`, v.params)
      }
    },
  })
}
