/**
 * Expire: the keys in scope (or a sample) are made to expire after `ttl` — sessions logged out
 * early, cache entries gone, a rate-limit counter reset. Once the TTL passes the data is gone,
 * so this is a `destroy` fault (lab only); its compensation, `data.redis.expire`, brings every
 * key back from its before-image with its original expiry instant.
 */
import { Duration } from "effect"
import type * as Fault from "../../../Fault.ts"
import type { Issue } from "../../../ShiftupError.ts"
import * as RedisFault from "../internal/fault.ts"
import { declare } from "../internal/kind.ts"
import type { RedisTarget } from "../targets.ts"

/** Restores the keys an expiry removed or shortened from their before-images. */
export const UndoExpire = declare("data.redis.expire")

export interface ExpireOptions extends RedisFault.CommonOptions {
  /** How long the keys live from the injection on: `"0 millis"` removes them at once. */
  readonly ttl: Duration.Input
}

/**
 * Makes the keys in scope expire after `ttl`.
 *
 * @example
 * Redis.expire(sessions, { ttl: "1 second", sample: 0.25 })
 */
export const expire = (target: RedisTarget, options: ExpireOptions): Fault.Fault => {
  const issues: Array<Issue> = RedisFault.commonIssues(options)
  let ms = Number.NaN
  try {
    ms = Duration.toMillis(options.ttl)
  } catch {
    // reported below
  }
  if (!(Number.isFinite(ms) && ms >= 0)) issues.push({ path: "ttl", message: `${String(options.ttl)} is not a finite duration, e.g. "2 seconds"` })
  RedisFault.invalidOptions("expire", target, issues)
  const ttl = Math.round(ms)
  return RedisFault.make({
    name: "expire",
    options,
    target,
    safety: "destroy",
    kind: UndoExpire,
    what: `expire (after ${ttl} ms)`,
    change: async (s, plan) => {
      for (const key of plan.keys) await s.call(ttl === 0 ? ["DEL", key] : ["PEXPIRE", key, String(ttl)])
    },
  })
}
