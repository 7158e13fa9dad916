/**
 * Drop a schema object: an index (queries slow down, a unique rule is gone), a check constraint
 * or a foreign key (bad rows get in), a trigger (an audit trail goes quiet: MariaDB cannot
 * disable a trigger, so it is dropped and recreated), or revoke a grant. Its compensation,
 * `data.mysql.recreate`, holds the object's definition as the server prints it — the line of
 * `SHOW CREATE TABLE` with the lines of its kind in their order, the trigger's `SHOW CREATE
 * TRIGGER` statement and the session settings it was created under, the grant — and recreates it
 * exactly; `verify` compares what the server prints afterwards with the record.
 *
 * DDL commits implicitly in MySQL, so there is no transaction to hold: the capture reads the
 * definition, the runner ledgers it, and the injection checks the definition is still the one
 * ledgered before it drops anything. A definition from the ledger is executed as SQL: `recover`
 * refuses ledgers that are not the user's own (docs/safety.md), it must start as one of its kind
 * does, and a session runs one statement per call.
 */
import { Schema } from "effect"
import type { Kind } from "../../../Compensation.ts"
import type * as Fault from "../../../Fault.ts"
import { defaults, issueError } from "../../internal/bounds.ts"
import type { Session } from "../internal/client.ts"
import * as MyFault from "../internal/fault.ts"
import { declare } from "../internal/kind.ts"
import { createTable, dropClause, grantState, grantee, nameOf, section, type Section, triggers, triggerState } from "../internal/objects.ts"
import { ident, qualified, show, type TableName } from "../internal/sql.ts"
import { scoped, type MySqlTarget } from "../targets.ts"

export type ObjectKind = "index" | "check" | "foreign-key" | "trigger" | "grant"

const privileges = ["SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "REFERENCES", "INDEX", "ALTER", "CREATE VIEW", "SHOW VIEW", "TRIGGER", "DELETE HISTORY"]

const isSection = (o: ObjectKind): o is Section => o === "index" || o === "check" || o === "foreign-key"

/** Ours, put back after a trigger is recreated under the settings it was created with. */
const sessionSettings = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', character_set_client = utf8mb4, collation_connection = utf8mb4_general_ci"

/** The object now, as the record would hold it: `undefined` when it does not exist. */
const currentOf = async (s: Session, t: TableName, object: ObjectKind, name: string, user?: string, host?: string): Promise<{ definition: string; state: string; section?: ReadonlyArray<string> } | undefined> => {
  if (isSection(object)) {
    const lines = section(await createTable(s, t), object)
    const line = lines.find((l) => nameOf(l, object) === name)
    return line === undefined ? undefined : { definition: line, state: "", section: lines }
  }
  if (object === "trigger") {
    const state = await triggerState(s, t, name)
    return state === undefined ? undefined : { definition: "", state }
  }
  const state = await grantState(s, t, name, user ?? "", host ?? "")
  return state === undefined ? undefined : { definition: name, state }
}

const Settings = Schema.Struct({ sqlMode: Schema.String, characterSetClient: Schema.String, collationConnection: Schema.String })
const TriggerDef = Schema.Struct({ name: Schema.String, definition: Schema.String, settings: Settings })
type TriggerDef = typeof TriggerDef.Type

/** A trigger's statement and the settings it was created under, as `SHOW CREATE TRIGGER` prints them. */
const showTrigger = async (s: Session, t: TableName, name: string): Promise<TriggerDef> => {
  const [row] = await s.query(`SHOW CREATE TRIGGER ${ident(t.schema)}.${ident(name)}`)
  return {
    name,
    definition: String(row?.["SQL Original Statement"] ?? ""),
    settings: { sqlMode: String(row?.["sql_mode"] ?? ""), characterSetClient: String(row?.["character_set_client"] ?? "utf8mb4"), collationConnection: String(row?.["collation_connection"] ?? "utf8mb4_general_ci") },
  }
}

/** Creates a trigger from its recorded statement, under its recorded settings (ours are put back after). */
const createTrigger = async (s: Session, d: TriggerDef): Promise<void> => {
  if (!/^CREATE\b[^;]*?\bTRIGGER\s/i.test(d.definition)) throw new Error(`the recorded definition of trigger ${d.name} does not start as one does ("${d.definition.slice(0, 40)}…"); recreate it by hand`)
  await s.query("SET SESSION sql_mode = ?, character_set_client = ?, collation_connection = ?", [d.settings.sqlMode, d.settings.characterSetClient, d.settings.collationConnection])
  try {
    await s.query(d.definition)
  } finally {
    await s.query(sessionSettings)
  }
}

/** Recreates the object from its recorded definition (and its place among its kind). */
export const Recreate = declare({
  kind: "data.mysql.recreate",
  fields: {
    object: Schema.Literals(["index", "check", "foreign-key", "trigger", "grant"]),
    name: Schema.String,
    definition: Schema.String,
    state: Schema.String,
    /** index, check, foreign-key: every line of that kind, in the table's order, before the drop. */
    section: Schema.optionalKey(Schema.Array(Schema.String)),
    /**
     * trigger: the settings it was created under, and the triggers that fired after it (same
     * timing and event): a trigger is recreated last, so those are recreated after it.
     */
    settings: Schema.optionalKey(Settings),
    followers: Schema.optionalKey(Schema.Array(TriggerDef)),
    /** grant: whose. */
    user: Schema.optionalKey(Schema.String),
    host: Schema.optionalKey(Schema.String),
  },
  undo: async (r, s, info) => {
    const t = info.table
    const tbl = qualified(t)
    if (isSection(r.object)) {
      const recorded = r.section ?? [r.definition]
      if (!recorded.includes(r.definition) || !recorded.every((l) => l.startsWith("PRIMARY KEY") || nameOf(l, r.object as Section) !== "PRIMARY"))
        throw new Error(`the recorded ${r.object} definitions do not read as ${r.object} lines ("${r.definition.slice(0, 40)}…"); recreate ${r.name} by hand`)
      let now = section(await createTable(s, t), r.object)
      const there = now.find((l) => nameOf(l, r.object as Section) === r.name)
      if (there !== undefined && there !== r.definition) throw new Error(`${r.object} ${r.name} of ${show(t)} exists now as "${there}", not "${r.definition}": someone recreated it differently; fix it by hand`)
      if (there === undefined) await s.query(`ALTER TABLE ${tbl} ADD ${r.definition}`)
      now = section(await createTable(s, t), r.object)
      if (now.join("\n") === recorded.join("\n")) return
      // Re-added last among its kind: drop and re-add, in one statement, those that came after it.
      const tail = recorded.slice(recorded.indexOf(r.definition)).filter((l) => now.includes(l))
      await s.query(`ALTER TABLE ${tbl} ${tail.map((l) => `${dropClause(l, r.object as Section, ident)}, ADD ${l}`).join(", ")}`)
      return
    }
    if (r.object === "trigger") {
      if ((await triggerState(s, t, r.name)) === undefined) await createTrigger(s, { name: r.name, definition: r.definition, settings: r.settings ?? { sqlMode: "", characterSetClient: "utf8mb4", collationConnection: "utf8mb4_general_ci" } })
      const followers = r.followers ?? []
      const names = async () => new Set((await triggers(s, t)).map((x) => x.name))
      // A replay after a crash mid-way finds a follower dropped and not yet recreated: its definition is in the record.
      let there = await names()
      for (const f of followers) if (!there.has(f.name)) await createTrigger(s, f)
      if ((await triggerState(s, t, r.name)) === r.state) return
      there = await names()
      for (const f of followers) {
        if (there.has(f.name)) await s.query(`DROP TRIGGER ${ident(t.schema)}.${ident(f.name)}`)
        await createTrigger(s, f)
      }
      return
    }
    if ((await grantState(s, t, r.definition, r.user ?? "", r.host ?? "")) !== undefined) return
    if (!privileges.includes(r.definition)) throw new Error(`the recorded privilege "${r.definition}" is not one shiftup revokes; grant it by hand`)
    await s.query(`GRANT ${r.definition} ON ${tbl} TO ?@?`, [r.user ?? "", r.host ?? ""])
  },
  verify: async (r, s, info) => {
    const now = await currentOf(s, info.table, r.object, r.object === "grant" ? r.definition : r.name, r.user, r.host)
    const what = `${r.object} ${r.name} of ${show(info.table)}`
    if (now === undefined) return `${what} does not exist`
    if (isSection(r.object)) {
      const recorded = (r.section ?? []).join("\n")
      return now.section?.join("\n") === recorded ? undefined : `the ${r.object} definitions of ${show(info.table)} are now [${now.section?.join("; ")}], not [${r.section?.join("; ")}]`
    }
    return now.state === r.state ? undefined : `${what} is now ${now.state}, not ${r.state}`
  },
  settleMs: 5000,
})

export interface DropObjectOptions {
  /** Step id; default `drop <object> of <table>`. */
  readonly id?: string
  /** A table of the target's scope: the object's table. */
  readonly table: string
  /** Drop this index (not the primary key). */
  readonly index?: string
  /** Drop this check constraint or foreign key. */
  readonly constraint?: string
  /** Drop this trigger (MariaDB and MySQL cannot disable one); it is recreated in its place among the table's triggers. */
  readonly trigger?: string
  /** Revoke this table privilege (`SELECT`, `INSERT`, …) from `user`@`host` (host default `%`). */
  readonly grant?: { readonly privilege: string; readonly user: string; readonly host?: string }
}

const choices = ["index", "constraint", "trigger", "grant"] as const

type RecreateRecord = typeof Recreate extends Kind<infer A> ? A : never

interface Plan {
  readonly object: ObjectKind
  readonly state: string
  readonly definition: string
}

/**
 * Drops one schema object of a table of the target's scope (or revokes a grant on it); rollback
 * recreates it from its definition, in its place.
 *
 * @example
 * Data.MySql.dropObject(shop, { table: "shop.orders", constraint: "orders_total_positive" })
 * Data.MySql.dropObject(shop, { table: "shop.orders", grant: { privilege: "SELECT", user: "reporting" } })
 */
export const dropObject = (target: MySqlTarget, options: DropObjectOptions): Fault.Fault => {
  const { table, issue } = scoped(target, String(options.table ?? ""), "table")
  const given = choices.filter((k) => options[k] !== undefined)
  const g = options.grant
  const privilege = typeof g?.privilege === "string" ? g.privilege.trim().toUpperCase() : ""
  MyFault.invalidOptions("dropObject", [
    ...(issue === undefined ? [] : [issue]),
    ...(given.length === 1 ? [] : [{ path: "", message: `name exactly one object: index, constraint, trigger or grant (given: ${given.join(", ") || "none"})` }]),
    ...given.filter((k) => k !== "grant" && !(typeof options[k] === "string" && options[k] !== "")).map((k) => ({ path: k, message: "give the object's name" })),
    ...(options.index === "PRIMARY" ? [{ path: "index", message: "the primary key identifies the rows other faults restore: drop another index" }] : []),
    ...(g === undefined || privileges.includes(privilege) ? [] : [{ path: "grant.privilege", message: `"${String(g.privilege)}" is not a table privilege: ${privileges.join(", ")}` }]),
    ...(g === undefined || (typeof g.user === "string" && g.user !== "") ? [] : [{ path: "grant.user", message: "name the user whose grant is revoked" }]),
  ])
  const t = table as NonNullable<typeof table>
  const choice = given[0] as (typeof choices)[number]
  const host = g?.host ?? "%"
  const name = choice === "grant" ? privilege : String(options[choice])
  const label = choice === "grant" ? `revoke ${privilege} on ${show(t)} from ${grantee(g?.user ?? "", host)}` : `drop ${choice} ${name} of ${show(t)}`
  const id = options.id ?? label
  /** The object's kind on the server: a constraint is a check or a foreign key. */
  const kindOf = async (s: Session): Promise<ObjectKind> => {
    if (choice !== "constraint") return choice
    const create = await createTable(s, t)
    return section(create, "foreign-key").some((l) => nameOf(l, "foreign-key") === name) ? "foreign-key" : "check"
  }
  return MyFault.make({
    id,
    title: label,
    target,
    table: t,
    safety: "disrupt",
    kind: Recreate,
    // One definition: far within any bound.
    bounds: { maxRows: 1, maxBytes: defaults.maxBytes },
    rows: false,
    preflight: async (s) => {
      const object = await kindOf(s)
      const now = await currentOf(s, t, object, name, g?.user, host)
      if (now === undefined)
        throw issueError(`fault "${id}"`, choice, choice === "grant" ? `${grantee(g?.user ?? "", host)} holds no ${privilege} grant on ${show(t)} that this user can see` : `${show(t)} has no ${choice} named "${name}"`)
      if (object === "trigger") {
        const all = await triggers(s, t)
        const me = all.find((x) => x.name === name)
        const mine = [name, ...all.filter((x) => me !== undefined && x.timing === me.timing && x.event === me.event && x.order > me.order).map((x) => x.name)]
        const [who] = await s.query("SELECT CURRENT_USER() AS u")
        for (const n of mine) {
          const [row] = await s.query("SELECT DEFINER AS d, CHARACTER_SET_CLIENT AS c, ACTION_STATEMENT AS a FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ?", [t.schema, n])
          if (String(row?.["d"]) !== String(who?.["u"]))
            return [{ rule: "data.mysql.object-unsupported", detail: `trigger ${n}${n === name ? "" : ` (which fires after ${name}, so it is recreated after it)`} was defined by ${String(row?.["d"])}, and shiftup connects as ${String(who?.["u"])}: it could not recreate it with its definer. Connect as its definer` }]
          if (!/^[\s -~]*$/.test(String(row?.["a"])) && String(row?.["c"]) !== "utf8mb4")
            return [{ rule: "data.mysql.object-unsupported", detail: `trigger ${n} holds non-ASCII text and was created with character_set_client ${String(row?.["c"])}: recreate it under utf8mb4 first` }]
        }
      }
      return []
    },
    capture: async (s, info): Promise<{ readonly record: MyFault.Fields<RecreateRecord>; readonly plan: Plan }> => {
      const object = await kindOf(s)
      const now = await currentOf(s, info.table, object, name, g?.user, host)
      if (now === undefined) throw new Error(`${show(info.table)} has no ${choice} named "${name}" any more; nothing was changed`)
      const description = `${choice === "grant" ? "grant again" : "recreate"} ${label.replace(/^(drop|revoke) /, "")}`
      if (object === "trigger") {
        const all = await triggers(s, info.table)
        const me = all.find((x) => x.name === name)
        const after = all.filter((x) => me !== undefined && x.timing === me.timing && x.event === me.event && x.order > me.order)
        const own = await showTrigger(s, info.table, name)
        const followers: Array<TriggerDef> = []
        for (const x of after) followers.push(await showTrigger(s, info.table, x.name))
        return { record: { description, object, name, definition: own.definition, state: now.state, settings: own.settings, followers }, plan: { object, state: now.state, definition: now.definition } }
      }
      if (object === "grant") return { record: { description, object, name: grantee(g?.user ?? "", host), definition: privilege, state: now.state, user: g?.user ?? "", host }, plan: { object, state: now.state, definition: now.definition } }
      return { record: { description, object, name, definition: now.definition, state: now.state, section: now.section ?? [] }, plan: { object, state: now.state, definition: now.definition } }
    },
    inject: async (s, info, plan) => {
      // No transaction held the definition: check it is still the one ledgered before dropping it.
      const now = await currentOf(s, info.table, plan.object, name, g?.user, host)
      if (now === undefined || now.definition !== plan.definition || now.state !== plan.state) throw new Error(`${label}: the object changed between the capture and the drop; nothing was dropped`)
      const tbl = qualified(info.table)
      if (plan.object === "index") await s.query(`ALTER TABLE ${tbl} DROP KEY ${ident(name)}`)
      else if (plan.object === "check") await s.query(`ALTER TABLE ${tbl} DROP CONSTRAINT ${ident(name)}`)
      else if (plan.object === "foreign-key") await s.query(`ALTER TABLE ${tbl} DROP FOREIGN KEY ${ident(name)}`)
      else if (plan.object === "trigger") await s.query(`DROP TRIGGER ${ident(info.table.schema)}.${ident(name)}`)
      else await s.query(`REVOKE ${privilege} ON ${tbl} FROM ?@?`, [g?.user ?? "", host])
    },
  })
}
