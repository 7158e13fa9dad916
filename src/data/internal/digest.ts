/**
 * What the SQL engines' integrity probes return, whatever the engine: a table's rows as a count
 * and an order-independent digest, and a schema fingerprint's one digest over its parts. Each
 * engine computes the parts in its own SQL.
 */
import { createHash } from "node:crypto"

/** A table's contents in two numbers: how many rows, and a digest of them all in no particular order. */
export interface Checksum {
  readonly table: string
  readonly rows: number
  /** md5 over the sorted md5 digests of every row's text: equal exactly when the rows are (whatever their order). */
  readonly digest: string
}

/** `parts` of the schema of `table`, with md5 over them all. */
export const fingerprintOf = <P extends object>(table: string, parts: P): { readonly table: string; readonly digest: string } & P => ({
  table,
  digest: createHash("md5").update(JSON.stringify(parts)).digest("hex"),
  ...parts,
})
