/**
 * A table's schema as a fingerprint: columns, indexes, check constraints and foreign keys,
 * triggers, grants, engine, charset and collation, and one digest over them all — what
 * `dropObject` must give back.
 */
import * as Probe from "../../../Probe.ts"
import { fingerprint, type SchemaFingerprint } from "../internal/digest.ts"
import { observe, tableOf, type TableProbeOptions } from "../internal/probe.ts"
import { show } from "../internal/sql.ts"
import type { MySqlTarget } from "../targets.ts"

export type { SchemaFingerprint }

/**
 * The fingerprint of a table's schema.
 *
 * @example
 * Expect.that(Data.MySql.schema(shop, { table: "shop.users" }), Expect.predicate("audited", (f) => f.triggers.some((t) => t.startsWith("users_audit "))))
 */
export const schema = (target: MySqlTarget, options: TableProbeOptions): Probe.Probe<SchemaFingerprint> => {
  const table = tableOf(target, options, "schema")
  const id = options.id ?? `${target.id} schema ${show(table)}`
  return Probe.make({ id, title: `schema fingerprint of ${show(table)} on ${target.id}`, target, observe: observe(target, id, (s, missing) => fingerprint(s, table, missing)) })
}
