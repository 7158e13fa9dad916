/**
 * SQL text shiftup writes itself for MySQL/MariaDB: identifiers always quoted with backticks (a
 * reserved or mixed-case name keeps its meaning), values never in SQL text — they travel as
 * parameters. A target's tables are named `database.table` (a MySQL database is a schema), or
 * `table` in the URL's database; names are kept as written (MySQL does not fold them on Linux).
 */
import type { TableName } from "../../postgres/internal/sql.ts"

export type { TableName }

/** `` `a``b` ``: an identifier MySQL reads back exactly as `name`. */
export const ident = (name: string): string => `\`${name.replaceAll("`", "``")}\``

/** `` `schema`.`table` ``. */
export const qualified = (t: TableName): string => `${ident(t.schema)}.${ident(t.name)}`

/** `schema.table` as a person reads it (and as the scope is written). */
export const show = (t: TableName): string => `${t.schema}.${t.name}`

const part = /(`(?:[^`]|``)+`|[A-Za-z0-9_$]+)/y

/** Reads `orders`, `shop.orders`, `` `Sales`.`Order Lines` `` (`orders` is in `database`); `undefined` when it is none of those. */
export const parseTable = (text: string, database: string): TableName | undefined => {
  const parts: Array<string> = []
  let at = 0
  for (;;) {
    part.lastIndex = at
    const m = part.exec(text)
    if (m === null) return undefined
    const raw = m[1] as string
    parts.push(raw.startsWith("`") ? raw.slice(1, -1).replaceAll("``", "`") : raw)
    at = part.lastIndex
    if (at === text.length) break
    if (text[at] !== ".") return undefined
    at++
  }
  if (parts.length === 1 && database !== "") return { schema: database, name: parts[0] as string }
  if (parts.length === 2) return { schema: parts[0] as string, name: parts[1] as string }
  return undefined
}
