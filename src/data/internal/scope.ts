/**
 * A SQL target's scope, whatever the engine: the tables an experiment may touch, read from the
 * target's options once (every issue at once), and a fault's table checked against them. Each
 * engine says how it reads a table name.
 */
import type { Issue } from "../../ShiftupError.ts"
import { sameTable, show, type TableName } from "./table-name.ts"

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/

/** An issue when the variable `passwordEnv` names is not set. */
export const passwordIssues = (id: string, passwordEnv: string | undefined): ReadonlyArray<Issue> =>
  passwordEnv !== undefined && envName.test(passwordEnv) && process.env[passwordEnv] === undefined
    ? [{ path: `${id}.passwordEnv`, message: `the environment variable ${passwordEnv} is not set: export it with the password (or drop passwordEnv if the server needs none)` }]
    : []

/** The target's `tables`, read with `parse`; `example` a scope to suggest, `form` how a name is written. */
export const tablesOf = (
  id: string,
  texts: ReadonlyArray<string> | undefined,
  parse: (text: string) => TableName | undefined,
  example: string,
  form: string,
): { readonly tables: ReadonlyArray<TableName>; readonly issues: ReadonlyArray<Issue> } => {
  const issues: Array<Issue> = []
  const tables: Array<TableName> = []
  if (!Array.isArray(texts) || texts.length === 0) issues.push({ path: `${id}.tables`, message: `name the tables faults may touch, e.g. tables: ["${example}"]` })
  for (const [i, text] of (texts ?? []).entries()) {
    const t = typeof text === "string" ? parse(text.trim()) : undefined
    if (t === undefined) issues.push({ path: `${id}.tables[${i}]`, message: `"${String(text)}" is not a table name (${form})` })
    else tables.push(t)
  }
  return { tables, issues }
}

/** The table of `target`'s scope named `text` (`parsed` as the engine reads it); an issue when it is not one. */
export const scopedIn = (
  target: { readonly id: string; readonly tables: ReadonlyArray<TableName> },
  text: string,
  parsed: TableName | undefined,
  path: string,
  form: string,
): { readonly table?: TableName; readonly issue?: Issue } => {
  if (parsed === undefined) return { issue: { path, message: `"${text}" is not a table name (${form})` } }
  if (!target.tables.some((s) => sameTable(s, parsed)))
    return { issue: { path, message: `${show(parsed)} is outside the scope of target "${target.id}" (tables: ${target.tables.map(show).join(", ")}); add it to the target's \`tables\` if the experiment may touch it` } }
  return { table: parsed }
}
