/**
 * FLUSHDB: every key of the target's database removed at once — a bad script, a `FLUSHDB` typed
 * into the wrong terminal, an attacker with access to the cache. Does the application survive an
 * empty store (sessions gone: log in again; counters gone: fail closed)? `destroy`: lab only.
 *
 * Its compensation, `data.redis.flushdb`, restores every key of the database from its
 * before-image (RESTORE … ABSTTL). The before-image covers the whole database, so the scope must:
 * a database holding any key outside the target's `keys` is refused at plan time (a pattern of
 * `*` covers all), as is one larger than `maxKeys`/`maxBytes`.
 */
import type * as Fault from "../../../Fault.ts"
import * as RedisFault from "../internal/fault.ts"
import { declare } from "../internal/kind.ts"
import type { RedisTarget } from "../targets.ts"

/** Restores every key of the flushed database from its before-image. */
export const UndoFlushDb = declare("data.redis.flushdb")

export type FlushDbOptions = Pick<RedisFault.CommonOptions, "id" | "maxKeys" | "maxBytes">

/**
 * Runs FLUSHDB on the target's database (the URL's `/db`, default 0).
 *
 * @example
 * const cache = Redis.target("cache", { url: "redis://127.0.0.1:6390/2", environment: "lab", keys: "*" })
 * Redis.flushDb(cache)
 */
export const flushDb = (target: RedisTarget, options: FlushDbOptions = {}): Fault.Fault => {
  RedisFault.invalidOptions("flushDb", target, RedisFault.commonIssues(options))
  return RedisFault.make({
    name: "flushDb",
    options,
    target,
    safety: "destroy",
    kind: UndoFlushDb,
    what: "FLUSHDB",
    reach: "db",
    change: async (s, plan) => {
      // Atomically, and only if the database still holds as many keys as were before-imaged: a key
      // added since the capture would be flushed with no before-image.
      const flushed = await s.call(["EVAL", "if redis.call('DBSIZE') == tonumber(ARGV[1]) then redis.call('FLUSHDB', 'SYNC') return 1 end return 0", "0", String(plan.keys.length)])
      if (Number(flushed) !== 1) throw new Error("the database gained or lost keys between the before-image and FLUSHDB: nothing was flushed; run the experiment again when it is quiet")
    },
  })
}
