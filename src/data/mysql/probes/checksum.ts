/**
 * A table's rows as a count and an order-independent digest. Observed before, during and after a
 * fault, it turns "restored exactly" into an assertion: the digest after rollback equals the one
 * before.
 */
import * as Probe from "../../../Probe.ts"
import { checksum as digestOf, type Checksum } from "../internal/digest.ts"
import { observe, tableOf, type TableProbeOptions } from "../internal/probe.ts"
import { show } from "../internal/sql.ts"
import type { MySqlTarget } from "../targets.ts"

export type { Checksum, TableProbeOptions }

/**
 * The table's row count and an order-independent digest of its rows, computed by the server.
 *
 * @example
 * Expect.that(Data.MySql.checksum(shop, { table: "shop.users" }), Expect.predicate("has rows", (c) => c.rows > 0))
 */
export const checksum = (target: MySqlTarget, options: TableProbeOptions): Probe.Probe<Checksum> => {
  const table = tableOf(target, options, "checksum")
  const id = options.id ?? `${target.id} checksum ${show(table)}`
  return Probe.make({ id, title: `checksum of ${show(table)} on ${target.id}`, target, observe: observe(target, id, (s, missing) => digestOf(s, table, missing)) })
}
