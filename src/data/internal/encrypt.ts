/**
 * An SQL `encrypt`, whatever the engine: its options (checked all at once), its id and title, and
 * its compensation: the record (the key, the columns,
 * each row's primary key and an md5 digest of each original value — never the plaintext), and
 * what undo and verify do with the rows whose digests differ from the recorded ones: decrypt
 * what still holds shiftup's ciphertext (src/data/internal/seal.ts; the GCM tag proves it, bound
 * to the table, column and row), report what holds neither. The engine finds those rows and
 * writes the plaintext back, in its own SQL.
 */
import { Schema } from "effect"
import type { Issue } from "../../ShiftupError.ts"
import { boundIssues, boundsOf, type DataFaultOptions, sampleIssues } from "./bounds.ts"
import { aadOf, Base64, unseal } from "./seal.ts"
import { Key } from "./table-kind.ts"
import { show, type TableName } from "./table-name.ts"

/** An encrypt's options (the engine documents which columns it takes). */
export interface EncryptBase extends DataFaultOptions {
  readonly table: string
  readonly columns: ReadonlyArray<string>
  /** The share of the rows to encrypt, at random; default 1 (all). */
  readonly sample?: number
}

/** The columns `options` name (none when it names them wrongly: an issue says so). */
export const namesOf = (options: EncryptBase): ReadonlyArray<string> => (Array.isArray(options.columns) ? options.columns : [])

/** Every issue of `options` (`scope`: the table's, from the target). */
export const issues = (options: EncryptBase, scope: Issue | undefined): ReadonlyArray<Issue> => {
  const names = namesOf(options)
  return [
    ...(scope === undefined ? [] : [scope]),
    ...boundIssues(options),
    ...(names.length > 0 && names.every((c) => typeof c === "string" && c !== "") ? [] : [{ path: "columns", message: "name the text columns to encrypt" }]),
    ...(new Set(names).size === names.length ? [] : [{ path: "columns", message: "a column is named twice" }]),
    ...sampleIssues(options.sample ?? 1),
  ]
}

/** The fault's shape from valid options: its id, the bounds, how many rows a count takes, its own options. */
export const shape = (options: EncryptBase, table: TableName) => {
  const sample = options.sample ?? 1
  const name = `encrypt ${show(table)}`
  const id = options.id ?? name
  const bounds = boundsOf(options)
  const title = `${name} (${namesOf(options).join(", ")}${sample < 1 ? `, ${Math.round(sample * 100)}% of the rows` : ""})`
  return {
    sample,
    names: namesOf(options),
    bounds,
    id,
    take: (count: number) => Math.ceil(count * sample),
    /** The fault's own options: a `destroy` on rows addressed by primary key. */
    fault: { id, title, table, bounds, safety: "destroy" as const, rows: true },
  }
}

const Md5 = Schema.NullOr(Schema.String.check(Schema.isPattern(/^[0-9a-f]{32}$/, { message: "an md5 digest (32 hexadecimal digits)" })))

/** The fields of a `data.<engine>.decrypt` record. */
export const fields = { key: Base64, columns: Schema.Array(Schema.String), rows: Schema.Array(Schema.Struct({ k: Key, h: Schema.Array(Md5) })) }

export type Rows = ReadonlyArray<{ readonly k: ReadonlyArray<string>; readonly h: ReadonlyArray<string | null> }>

interface Record_ {
  readonly key: string
  readonly columns: ReadonlyArray<string>
  readonly rows: Rows
}

/** A row the engine found differing: `k0…` its key, `missing` whether it is gone, `c<i>` each column's value now, `m<i>` its digest now. */
type Found = Readonly<Record<string, unknown>>

/** What undo and verify need of an engine. */
export interface DecryptEngine<S, I extends { readonly key: ReadonlyArray<unknown> }, C extends { readonly name: string }> {
  readonly columnOf: (info: I, name: string) => C | undefined
  readonly unknownColumn: (info: I, name: string) => string
  readonly showKey: (info: I, k: ReadonlyArray<string>) => string
  readonly show: (info: I) => string
  readonly transaction: (s: S, f: () => Promise<void>) => Promise<void>
  /** The recorded rows where some column's digest is not the recorded one (or that are gone). */
  readonly differing: (s: S, info: I, columns: ReadonlyArray<C>, rows: Rows) => Promise<ReadonlyArray<Found>>
  /** Whether the engine says a found row is gone. */
  readonly missing: (f: Found) => boolean
  /** How many rows differ in all (`found` may be cut short). */
  readonly total: (found: ReadonlyArray<Found>) => number | string
  /** Writes each row's plaintext (`p[i]` null: the column is left as it is). */
  readonly write: (s: S, info: I, columns: ReadonlyArray<C>, writes: ReadonlyArray<{ readonly k: ReadonlyArray<string>; readonly p: ReadonlyArray<string | null> }>) => Promise<void>
}

const keyOf = (info: { readonly key: ReadonlyArray<unknown> }, f: Found): ReadonlyArray<string> => info.key.map((_, i) => String(f[`k${i}`]))

/** The record's columns in the table now (one dropped since: an error). */
export const columnsOf = <S, I extends { readonly key: ReadonlyArray<unknown> }, C extends { readonly name: string }>(e: DecryptEngine<S, I, C>, info: I, names: ReadonlyArray<string>): ReadonlyArray<C> =>
  names.map((n) => {
    const c = e.columnOf(info, n)
    if (c === undefined) throw new Error(`${e.unknownColumn(info, n)}: it was dropped since; restore it from a backup`)
    return c
  })

/** Decrypts what still holds shiftup's ciphertext; values overwritten since are reported. */
export const undo =
  <S, I extends { readonly key: ReadonlyArray<unknown> }, C extends { readonly name: string }>(e: DecryptEngine<S, I, C>) =>
  async (r: Record_, s: S, info: I): Promise<void> => {
    const columns = columnsOf(e, info, r.columns)
    if (r.rows.length === 0) return
    const key = Buffer.from(r.key, "base64")
    const where = e.show(info)
    await e.transaction(s, async () => {
      const found = await e.differing(s, info, columns, r.rows)
      const recordedOf = new Map(r.rows.map((x) => [JSON.stringify(x.k), x.h]))
      const lost: Array<string> = []
      const writes: Array<{ k: ReadonlyArray<string>; p: Array<string | null> }> = []
      for (const f of found) {
        const k = keyOf(info, f)
        if (e.missing(f)) {
          lost.push(`${e.showKey(info, k)} (row gone)`)
          continue
        }
        const p = columns.map((c, i) => {
          const now = f[`c${i}`]
          if (f[`m${i}`] === (recordedOf.get(JSON.stringify(k))?.[i] ?? null)) return null
          const plain = typeof now === "string" ? unseal(key, aadOf(where, c.name, k), now) : undefined
          if (plain === undefined) lost.push(`${e.showKey(info, k)}.${c.name}`)
          return plain ?? null
        })
        if (p.some((x) => x !== null)) writes.push({ k, p })
      }
      if (writes.length > 0) await e.write(s, info, columns, writes)
      if (lost.length > 0) throw new Error(`${lost.length} value(s) of ${where} hold neither the original nor shiftup's ciphertext (written since the fault): ${lost.slice(0, 5).join(", ")}; restore them from a backup`)
    })
  }

/** `undefined` when every recorded value is back, else how many rows differ and the first of them. */
export const verify =
  <S, I extends { readonly key: ReadonlyArray<unknown> }, C extends { readonly name: string }>(e: DecryptEngine<S, I, C>) =>
  async (r: Record_, s: S, info: I): Promise<string | undefined> => {
    const columns = columnsOf(e, info, r.columns)
    if (r.rows.length === 0) return undefined
    const found = await e.differing(s, info, columns, r.rows)
    if (found.length === 0) return undefined
    return `${e.total(found)} row(s) of ${e.show(info)} differ from their digests before the fault: ${found.slice(0, 5).map((f) => e.showKey(info, keyOf(info, f))).join(", ")}`
  }
