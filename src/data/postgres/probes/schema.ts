/**
 * A table's schema as a fingerprint: columns, indexes, constraints, triggers, policies, row level
 * security, owner and grants, and one digest over them all — what `dropObject` must give back.
 */
import * as Probe from "../../../Probe.ts"
import { fingerprint, type SchemaFingerprint } from "../internal/digest.ts"
import { observe, tableOf, type TableProbeOptions } from "../internal/probe.ts"
import { show } from "../internal/sql.ts"
import type { PostgresTarget } from "../targets.ts"

export type { SchemaFingerprint }

/**
 * The fingerprint of a table's schema.
 *
 * @example
 * Expect.that(Data.Postgres.schema(shop, { table: "public.users" }), Expect.predicate("audited", (f) => f.triggers.some((t) => t.includes("audit"))))
 */
export const schema = (target: PostgresTarget, options: TableProbeOptions): Probe.Probe<SchemaFingerprint> => {
  const table = tableOf(target, options, "schema")
  const id = options.id ?? `${target.id} schema ${show(table)}`
  return Probe.make({ id, title: `schema fingerprint of ${show(table)} on ${target.id}`, target, observe: observe(target, id, (s, missing) => fingerprint(s, table, missing)) })
}
