/**
 * SQL text shiftup writes itself: identifiers are always quoted (the equivalent of PostgreSQL's
 * `quote_ident`, but always quoting, so a mixed-case or reserved name keeps its meaning), and
 * values never enter SQL text — they travel as parameters. Table names of a target's scope are
 * parsed here, once, the way PostgreSQL reads them (unquoted parts fold to lower case).
 */

import { nameParts, type TableName, tableOf } from "../../internal/table-name.ts"

export { sameTable, show, type TableName } from "../../internal/table-name.ts"

/** `"a""b"`: an identifier PostgreSQL reads back exactly as `name`. */
export const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`

/** `"schema"."table"`. */
export const qualified = (t: TableName): string => `${ident(t.schema)}.${ident(t.name)}`

const part = /("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)/y

/** Reads `orders`, `public.orders`, `"Sales"."Order Lines"`; `undefined` when it is none of those. */
export const parseTable = (text: string): TableName | undefined => tableOf(nameParts(text, { quote: '"', part, fold: (bare) => bare.toLowerCase() }), "public")
