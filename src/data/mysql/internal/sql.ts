/**
 * SQL text shiftup writes itself for MySQL/MariaDB: identifiers always quoted with backticks (a
 * reserved or mixed-case name keeps its meaning), values never in SQL text — they travel as
 * parameters. A target's tables are named `database.table` (a MySQL database is a schema), or
 * `table` in the URL's database; names are kept as written (MySQL does not fold them on Linux).
 */
import { nameParts, type TableName, tableOf } from "../../internal/table-name.ts"

export { show, type TableName } from "../../internal/table-name.ts"

/** `` `a``b` ``: an identifier MySQL reads back exactly as `name`. */
export const ident = (name: string): string => `\`${name.replaceAll("`", "``")}\``

/** `` `schema`.`table` ``. */
export const qualified = (t: TableName): string => `${ident(t.schema)}.${ident(t.name)}`

const part = /(`(?:[^`]|``)+`|[A-Za-z0-9_$]+)/y

/** Reads `orders`, `shop.orders`, `` `Sales`.`Order Lines` `` (`orders` is in `database`); `undefined` when it is none of those. */
export const parseTable = (text: string, database: string): TableName | undefined => tableOf(nameParts(text, { quote: "`", part, fold: (bare) => bare }), database)
