/**
 * A table's name, whatever the engine: schema-qualified (a MySQL database is its schema), shown
 * as a person writes it, and read from a scope's text part by part — each engine says how it
 * quotes an identifier, what an unquoted part may be, and how it folds one.
 */

/** A table, schema-qualified. */
export interface TableName {
  readonly schema: string
  readonly name: string
}

/** `schema.table` as a person reads it (and as the scope is written). */
export const show = (t: TableName): string => `${t.schema}.${t.name}`

export const sameTable = (a: TableName, b: TableName): boolean => a.schema === b.schema && a.name === b.name

/** How an engine writes a name: its quote character, a part as a sticky regex (group 1), how it folds an unquoted part. */
export interface NameSyntax {
  readonly quote: string
  readonly part: RegExp
  readonly fold: (bare: string) => string
}

/** The dot-separated parts of `text`, unquoted; `undefined` when it is not a dotted name. */
export const nameParts = (text: string, syntax: NameSyntax): ReadonlyArray<string> | undefined => {
  const { quote, part, fold } = syntax
  const parts: Array<string> = []
  let at = 0
  for (;;) {
    part.lastIndex = at
    const m = part.exec(text)
    if (m === null) return undefined
    const raw = m[1] as string
    parts.push(raw.startsWith(quote) ? raw.slice(1, -1).replaceAll(quote + quote, quote) : fold(raw))
    at = part.lastIndex
    if (at === text.length) break
    if (text[at] !== ".") return undefined
    at++
  }
  return parts
}

/** `parts` as a table: `[schema, table]`, or `[table]` in `fallback` (none: refused). */
export const tableOf = (parts: ReadonlyArray<string> | undefined, fallback: string): TableName | undefined => {
  if (parts?.length === 1 && fallback !== "") return { schema: fallback, name: parts[0] as string }
  if (parts?.length === 2) return { schema: parts[0] as string, name: parts[1] as string }
  return undefined
}
