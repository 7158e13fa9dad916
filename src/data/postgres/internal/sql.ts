/**
 * SQL text shiftup writes itself: identifiers are always quoted (the equivalent of PostgreSQL's
 * `quote_ident`, but always quoting, so a mixed-case or reserved name keeps its meaning), and
 * values never enter SQL text — they travel as parameters. Table names of a target's scope are
 * parsed here, once, the way PostgreSQL reads them (unquoted parts fold to lower case).
 */

/** A table, schema-qualified. */
export interface TableName {
  readonly schema: string
  readonly name: string
}

/** `"a""b"`: an identifier PostgreSQL reads back exactly as `name`. */
export const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`

/** `"schema"."table"`. */
export const qualified = (t: TableName): string => `${ident(t.schema)}.${ident(t.name)}`

/** `schema.table` as a person reads it (and as the scope is written). */
export const show = (t: TableName): string => `${t.schema}.${t.name}`

const part = /("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)/y

/** Reads `orders`, `public.orders`, `"Sales"."Order Lines"`; `undefined` when it is none of those. */
export const parseTable = (text: string): TableName | undefined => {
  const parts: Array<string> = []
  let at = 0
  for (;;) {
    part.lastIndex = at
    const m = part.exec(text)
    if (m === null) return undefined
    const raw = m[1] as string
    parts.push(raw.startsWith('"') ? raw.slice(1, -1).replaceAll('""', '"') : raw.toLowerCase())
    at = part.lastIndex
    if (at === text.length) break
    if (text[at] !== ".") return undefined
    at++
  }
  if (parts.length === 1) return { schema: "public", name: parts[0] as string }
  if (parts.length === 2) return { schema: parts[0] as string, name: parts[1] as string }
  return undefined
}

export const sameTable = (a: TableName, b: TableName): boolean => a.schema === b.schema && a.name === b.name
