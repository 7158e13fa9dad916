/**
 * Eviction pressure: `maxmemory` lowered (and, optionally, another `maxmemory-policy`), so Redis
 * evicts keys or refuses writes with OOM — a cache losing its sessions or rate-limit counters
 * under memory pressure. Does the application fail closed (deny, not "no counter: allow")? Its
 * compensation, `data.redis.eviction-pressure`, sets both parameters back to the values CONFIG GET
 * read before the change, then restores every key of the scope from its before-image — so keys
 * evicted meanwhile come back too.
 *
 * Eviction is server-wide (any database, any key), and a key outside the scope has no
 * before-image: the run is refused when the server holds any key outside the scope.
 */
import type * as Fault from "../../../Fault.ts"
import type { Issue } from "../../../ShiftupError.ts"
import * as RedisFault from "../internal/fault.ts"
import { declare } from "../internal/kind.ts"
import type { RedisTarget } from "../targets.ts"

/** Sets `maxmemory` (and `maxmemory-policy`) back, then restores every key of the scope. */
export const UndoEvictionPressure = declare("data.redis.eviction-pressure")

export type EvictionPolicy = "noeviction" | "allkeys-lru" | "allkeys-lfu" | "allkeys-random" | "volatile-lru" | "volatile-lfu" | "volatile-random" | "volatile-ttl"

const policies: ReadonlyArray<EvictionPolicy> = ["noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"]

export interface EvictionPressureOptions extends Pick<RedisFault.CommonOptions, "id" | "maxKeys" | "maxBytes"> {
  /** The new `maxmemory`: bytes (`1048576`) or Redis's units (`"1mb"`, `"512kb"`). Not 0 (0 means no limit). */
  readonly maxmemory: number | string
  /**
   * The new `maxmemory-policy`; default: left as it is. `noeviction` makes writes fail with OOM;
   * `allkeys-lru` and the others evict keys.
   */
  readonly policy?: EvictionPolicy
}

/**
 * Lowers `maxmemory` (and sets `maxmemory-policy`). `disrupt`: rollback sets both back exactly
 * and restores every key of the scope, evicted or not, from its before-image.
 *
 * @example
 * Redis.evictionPressure(sessions, { maxmemory: "1mb", policy: "allkeys-lru" })
 */
export const evictionPressure = (target: RedisTarget, options: EvictionPressureOptions): Fault.Fault => {
  const issues: Array<Issue> = RedisFault.commonIssues(options)
  const maxmemory = typeof options.maxmemory === "number" ? String(options.maxmemory) : String(options.maxmemory).toLowerCase()
  if (!/^[0-9]{1,15}(b|k|kb|m|mb|g|gb)?$/.test(maxmemory) || /^0+[a-z]*$/.test(maxmemory))
    issues.push({ path: "maxmemory", message: `${String(options.maxmemory)} is not a memory limit: bytes (a positive integer) or a size such as "1mb" (0 would lift the limit)` })
  if (options.policy !== undefined && !policies.includes(options.policy)) issues.push({ path: "policy", message: `"${String(options.policy)}" is not an eviction policy; expected ${policies.join(", ")}` })
  RedisFault.invalidOptions("evictionPressure", target, issues)
  return RedisFault.make({
    name: "evictionPressure",
    options,
    target,
    safety: "disrupt",
    kind: UndoEvictionPressure,
    what: `eviction pressure (maxmemory ${maxmemory}${options.policy === undefined ? "" : `, ${options.policy}`})`,
    reach: "server",
    config: options.policy === undefined ? ["maxmemory"] : ["maxmemory", "maxmemory-policy"],
    change: async (s) => {
      await s.call(["CONFIG", "SET", "maxmemory", maxmemory, ...(options.policy === undefined ? [] : ["maxmemory-policy", options.policy])])
    },
  })
}
