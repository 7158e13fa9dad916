/**
 * Drop a schema object: an index (queries slow down, a unique rule is gone), a constraint (bad
 * rows get in), a row-level-security policy (rows leak) — or disable a trigger (an audit trail
 * goes quiet) or the table's row level security. Its compensation, `data.postgres.recreate`,
 * holds the object's definition as the server prints it (`pg_get_indexdef`,
 * `pg_get_constraintdef`, `pg_get_triggerdef`, the policy's parts) and recreates it exactly;
 * `verify` compares the definition the server prints afterwards with the recorded one.
 *
 * A definition from the ledger is executed as SQL: `recover` refuses ledgers that are not the
 * user's own (docs/safety.md), and every statement goes through the extended protocol, which
 * runs one statement and nothing after it.
 */
import { Schema } from "effect"
import type * as Fault from "../../../Fault.ts"
import type { TableInfo } from "../internal/catalog.ts"
import type { Session } from "../internal/client.ts"
import { transaction } from "../internal/client.ts"
import * as PgFault from "../internal/fault.ts"
import { declare } from "../internal/kind.ts"
import { ident, qualified, show } from "../internal/sql.ts"
import { scoped, type PostgresTarget } from "../targets.ts"

export type ObjectKind = "index" | "constraint" | "trigger" | "policy" | "row-security"

/** What a table's object is now: its definition and state, or `undefined` when it does not exist. */
interface Current {
  readonly definition: string
  readonly state: string
}

const one = async (s: Session, text: string, params: ReadonlyArray<unknown>): Promise<Current | undefined> => {
  const [r] = await s.query(text, params)
  return r === undefined ? undefined : { definition: String(r["definition"]), state: String(r["state"] ?? "") }
}

const policyDefinition = `'CREATE POLICY ' || quote_ident(p.polname) || ' ON ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
  || ' AS ' || CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END
  || ' FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END
  || ' TO ' || (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END, ', ' ORDER BY r) FROM unnest(p.polroles) AS r)
  || coalesce(' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')', '')
  || coalesce(' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')', '')`

/** The object now, as the server prints it. */
const current = (s: Session, info: TableInfo, object: ObjectKind, name: string): Promise<Current | undefined> => {
  const oid = info.oid
  switch (object) {
    case "index":
      return one(s, `SELECT pg_get_indexdef(i.indexrelid) AS definition, (i.indisclustered::text || ',' || i.indisreplident::text) AS state FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::int8::oid AND c.relname = $2`, [oid, name])
    case "constraint":
      return one(s, "SELECT pg_get_constraintdef(oid) AS definition, contype::text AS state FROM pg_constraint WHERE conrelid = $1::int8::oid AND conname = $2", [oid, name])
    case "trigger":
      return one(s, "SELECT pg_get_triggerdef(oid) AS definition, tgenabled::text AS state FROM pg_trigger WHERE tgrelid = $1::int8::oid AND tgname = $2 AND NOT tgisinternal", [oid, name])
    case "policy":
      return one(s, `SELECT ${policyDefinition} AS definition, '' AS state FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE p.polrelid = $1::int8::oid AND p.polname = $2`, [oid, name])
    case "row-security":
      return one(s, "SELECT 'row level security' AS definition, (relrowsecurity::text || ',' || relforcerowsecurity::text) AS state FROM pg_class WHERE oid = $1::int8::oid", [oid])
  }
}

const enableTrigger: Readonly<Record<string, string>> = { O: "ENABLE TRIGGER", D: "DISABLE TRIGGER", R: "ENABLE REPLICA TRIGGER", A: "ENABLE ALWAYS TRIGGER" }

const prefixes: Readonly<Record<ObjectKind, RegExp>> = {
  index: /^CREATE (UNIQUE )?INDEX /,
  constraint: /^(PRIMARY KEY|UNIQUE|CHECK|FOREIGN KEY|EXCLUDE) /,
  trigger: /^CREATE (CONSTRAINT )?TRIGGER /,
  policy: /^CREATE POLICY /,
  "row-security": /^row level security$/,
}

/** Recreates the object from its recorded definition, then its recorded state. */
export const Recreate = declare({
  kind: "data.postgres.recreate",
  fields: {
    object: Schema.Literals(["index", "constraint", "trigger", "policy", "row-security"]),
    name: Schema.String,
    definition: Schema.String,
    state: Schema.String,
  },
  undo: async (r, s, info) => {
    if (!prefixes[r.object].test(r.definition)) throw new Error(`the recorded ${r.object} definition does not start as one does ("${r.definition.slice(0, 40)}…"); recreate it by hand`)
    const t = qualified(info.table)
    await transaction(s, "read write", async () => {
      const now = await current(s, info, r.object, r.name)
      if (r.object === "row-security") {
        const [enabled, forced] = r.state.split(",")
        await s.query(`ALTER TABLE ${t} ${enabled === "true" ? "ENABLE" : "DISABLE"} ROW LEVEL SECURITY`)
        await s.query(`ALTER TABLE ${t} ${forced === "true" ? "FORCE" : "NO FORCE"} ROW LEVEL SECURITY`)
        return
      }
      if (now === undefined) {
        if (r.object === "constraint") await s.query(`ALTER TABLE ${t} ADD CONSTRAINT ${ident(r.name)} ${r.definition}`)
        else await s.query(r.definition)
      }
      if (r.object === "index") {
        const [clustered, replident] = r.state.split(",")
        if (clustered === "true") await s.query(`ALTER TABLE ${t} CLUSTER ON ${ident(r.name)}`)
        if (replident === "true") await s.query(`ALTER TABLE ${t} REPLICA IDENTITY USING INDEX ${ident(r.name)}`)
      }
      if (r.object === "trigger" && now?.state !== r.state) {
        const how = enableTrigger[r.state]
        if (how === undefined) throw new Error(`the recorded trigger state "${r.state}" is not one of O, D, R, A`)
        await s.query(`ALTER TABLE ${t} ${how} ${ident(r.name)}`)
      }
    })
  },
  verify: async (r, s, info) => {
    const now = await current(s, info, r.object, r.name)
    const what = `${r.object === "row-security" ? "row level security" : `${r.object} ${r.name}`} of ${show(info.table)}`
    if (now === undefined) return `${what} does not exist`
    if (now.definition !== r.definition) return `${what} is now "${now.definition}", not "${r.definition}"`
    if (now.state !== r.state) return `${what} is in state ${now.state}, not ${r.state}`
    return undefined
  },
  settleMs: 5000,
})

export interface DropObjectOptions extends Pick<PgFault.DataFaultOptions, "id"> {
  /** A table of the target's scope: the object's table. */
  readonly table: string
  /** Drop this index (not one a constraint owns: drop the constraint). */
  readonly index?: string
  /** Drop this constraint (check, unique, foreign key, primary key, exclusion). */
  readonly constraint?: string
  /** Disable this trigger. */
  readonly trigger?: string
  /** Drop this row-level-security policy. */
  readonly policy?: string
  /** Disable the table's row level security. */
  readonly rowSecurity?: true
}

const choices = ["index", "constraint", "trigger", "policy", "rowSecurity"] as const

/**
 * Drops (or disables) one schema object of a table of the target's scope; rollback recreates it
 * from its definition.
 *
 * @example
 * Data.Postgres.dropObject(shop, { table: "public.orders", constraint: "orders_total_positive" })
 */
export const dropObject = (target: PostgresTarget, options: DropObjectOptions): Fault.Fault => {
  const { table, issue } = scoped(target, String(options.table ?? ""), "table")
  const given = choices.filter((k) => options[k] !== undefined)
  const named = given.filter((k) => k !== "rowSecurity").every((k) => typeof options[k] === "string" && options[k] !== "")
  PgFault.invalidOptions("dropObject", [
    ...(issue === undefined ? [] : [issue]),
    ...(given.length === 1 ? [] : [{ path: "", message: `name exactly one object: index, constraint, trigger, policy or rowSecurity: true (given: ${given.join(", ") || "none"})` }]),
    ...(named ? [] : [{ path: given.join(","), message: "give the object's name" }]),
    ...(options.rowSecurity === undefined || options.rowSecurity === true ? [] : [{ path: "rowSecurity", message: "rowSecurity takes `true`" }]),
  ])
  const t = table as NonNullable<typeof table>
  const choice = given[0] as (typeof choices)[number]
  const object: ObjectKind = choice === "rowSecurity" ? "row-security" : choice
  const name = choice === "rowSecurity" ? "row level security" : String(options[choice])
  const verb = object === "trigger" || object === "row-security" ? "disable" : "drop"
  const label = `${verb} ${object === "row-security" ? "row level security" : `${object} ${name}`} of ${show(t)}`
  const id = options.id ?? label
  return PgFault.make({
    id,
    title: label,
    target,
    table: t,
    safety: "disrupt",
    kind: Recreate,
    // One definition: far within any bound.
    bounds: { maxRows: 1, maxBytes: PgFault.defaults.maxBytes },
    rows: false,
    preflight: async (s, info) => {
      const now = await current(s, info, object, name)
      if (now === undefined) throw PgFault.issueError(`fault "${id}"`, choice, `${show(info.table)} has no ${object} named "${name}"`)
      if (object === "index") {
        const [owner] = await s.query(`SELECT co.conname FROM pg_constraint co JOIN pg_class c ON c.oid = co.conindid WHERE co.conrelid = $1::int8::oid AND c.relname = $2`, [info.oid, name])
        if (owner !== undefined) return [{ rule: "data.postgres.object-owned", detail: `index ${name} belongs to constraint ${String(owner["conname"])}: drop that constraint instead` }]
      }
      if (object === "constraint") {
        const refs = await s.query(
          `SELECT f.conname, f.conrelid::regclass::text AS t FROM pg_constraint f JOIN pg_constraint c ON c.conindid = f.conindid AND c.conrelid = f.confrelid WHERE c.conrelid = $1::int8::oid AND c.conname = $2 AND f.contype = 'f'`,
          [info.oid, name],
        )
        if (refs.length > 0) return [{ rule: "data.postgres.object-referenced", detail: `constraint ${name} is referenced by ${refs.map((r) => `${String(r["conname"])} on ${String(r["t"])}`).join(", ")}: dropping it would drop those too; drop them first (their tables must be in scope)` }]
      }
      return []
    },
    capture: async (s, info) => {
      // The table's lock first, so its definition cannot change between the read and the drop.
      await s.query(`LOCK TABLE ${qualified(info.table)} IN SHARE ROW EXCLUSIVE MODE`)
      const now = await current(s, info, object, name)
      if (now === undefined) throw new Error(`${show(info.table)} has no ${object} named "${name}" any more; nothing was changed`)
      return { record: { description: `${verb === "drop" ? "recreate" : "re-enable"} ${object === "row-security" ? "row level security" : `${object} ${name}`} of ${show(info.table)}`, object, name, definition: now.definition, state: now.state }, plan: undefined }
    },
    inject: async (s, info) => {
      const tbl = qualified(info.table)
      if (object === "index") await s.query(`DROP INDEX ${ident(info.table.schema)}.${ident(name)}`)
      else if (object === "constraint") await s.query(`ALTER TABLE ${tbl} DROP CONSTRAINT ${ident(name)}`)
      else if (object === "trigger") await s.query(`ALTER TABLE ${tbl} DISABLE TRIGGER ${ident(name)}`)
      else if (object === "policy") await s.query(`DROP POLICY ${ident(name)} ON ${tbl}`)
      else await s.query(`ALTER TABLE ${tbl} DISABLE ROW LEVEL SECURITY`)
    },
  })
}
