/**
 * A table's schema objects as the server prints them. Indexes, check constraints and foreign
 * keys are read from `SHOW CREATE TABLE`: each line there is the very definition
 * `ALTER TABLE … ADD` takes back, and the lines' order is the table's (a re-added index goes last
 * among its kind, so a restore re-adds the ones after it too — see drop-object.ts). Triggers come
 * from `SHOW CREATE TRIGGER` and information_schema, grants from information_schema.
 */
import type { Session } from "./client.ts"
import { qualified, type TableName } from "./sql.ts"

export type Section = "index" | "check" | "foreign-key"

const quoted = "`(?:[^`]|``)+`"
const patterns: Readonly<Record<Section, RegExp>> = {
  index: new RegExp(`^(?:PRIMARY KEY|(?:UNIQUE |FULLTEXT |SPATIAL |VECTOR )?(?:KEY|INDEX) (${quoted}))`),
  check: new RegExp(`^CONSTRAINT (${quoted}) CHECK `),
  "foreign-key": new RegExp(`^CONSTRAINT (${quoted}) FOREIGN KEY `),
}

const unquote = (q: string) => q.slice(1, -1).replaceAll("``", "`")

/** `SHOW CREATE TABLE`'s text. */
export const createTable = async (s: Session, t: TableName): Promise<string> => {
  const [row] = await s.query(`SHOW CREATE TABLE ${qualified(t)}`)
  return String(row?.["Create Table"] ?? "")
}

/** The definition lines of one section, in the table's order. */
export const section = (create: string, which: Section): ReadonlyArray<string> =>
  create
    .split("\n")
    .slice(1, -1)
    .map((l) => l.trim().replace(/,$/, ""))
    .filter((l) => patterns[which].test(l))

/** The object a definition line names (`PRIMARY` for the primary key). */
export const nameOf = (line: string, which: Section): string => {
  const m = patterns[which].exec(line)
  return m?.[1] === undefined ? "PRIMARY" : unquote(m[1])
}

/** The statement part that drops the object a line defines. */
export const dropClause = (line: string, which: Section, ident: (n: string) => string): string =>
  which === "index" ? `DROP KEY ${ident(nameOf(line, which))}` : which === "check" ? `DROP CONSTRAINT ${ident(nameOf(line, which))}` : `DROP FOREIGN KEY ${ident(nameOf(line, which))}`

/** A trigger as information_schema describes it (everything but when it was created). */
export const triggerState = async (s: Session, t: TableName, name: string): Promise<string | undefined> => {
  const [r] = await s.query(
    `SELECT EVENT_MANIPULATION AS e, ACTION_TIMING AS t, ACTION_ORDER AS o, ACTION_STATEMENT AS a, DEFINER AS d, SQL_MODE AS m, CHARACTER_SET_CLIENT AS c, COLLATION_CONNECTION AS l, DATABASE_COLLATION AS b
       FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? AND TRIGGER_NAME = ?`,
    [t.schema, t.name, name],
  )
  return r === undefined ? undefined : JSON.stringify([r["e"], r["t"], r["o"], r["a"], r["d"], r["m"], r["c"], r["l"], r["b"]])
}

/** Every trigger of the table, in the order they fire (per timing and event). */
export const triggers = async (s: Session, t: TableName): Promise<ReadonlyArray<{ readonly name: string; readonly timing: string; readonly event: string; readonly order: number }>> =>
  (
    await s.query(
      "SELECT TRIGGER_NAME AS n, ACTION_TIMING AS t, EVENT_MANIPULATION AS e, ACTION_ORDER AS o FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? ORDER BY ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
      [t.schema, t.name],
    )
  ).map((r) => ({ name: String(r["n"]), timing: String(r["t"]), event: String(r["e"]), order: Number(r["o"]) }))

/** `'user'@'host'`, as information_schema names a grantee. */
export const grantee = (user: string, host: string): string => `'${user}'@'${host}'`

/** Whether `privilege` on the table is granted to `user@host` now: `YES`/`NO` (grantable), or `undefined`. */
export const grantState = async (s: Session, t: TableName, privilege: string, user: string, host: string): Promise<string | undefined> => {
  const [r] = await s.query("SELECT IS_GRANTABLE AS g FROM information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND GRANTEE = ? AND PRIVILEGE_TYPE = ?", [
    t.schema,
    t.name,
    grantee(user, host),
    privilege,
  ])
  return r === undefined ? undefined : String(r["g"])
}
