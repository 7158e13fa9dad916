/**
 * Checksum: an order-independent digest of the keys in scope — per key, SHA-256 over its name,
 * its type and content (independent of Redis's encoding: a set's members sorted, a hash's fields
 * sorted) and its expiry instant; the sorted per-key digests hashed once more. Two equal checksums
 * mean the same keys with the same types, values and expiries: taken before a fault and after
 * rollback, it proves the data was restored exactly. Read-only: SCAN, TYPE, the type's read
 * (GET, HGETALL, LRANGE, SMEMBERS, ZRANGE; DUMP for other types), PEXPIRETIME.
 */
import { createHash } from "node:crypto"
import * as Probe from "../../../Probe.ts"
import { describeUnknown, ProbeFailed } from "../../../ShiftupError.ts"
import { batched, session } from "../internal/client.ts"
import { scan } from "../internal/scope.ts"
import { contentDigest } from "../internal/values.ts"
import type { RedisTarget } from "../targets.ts"

export interface Checksum {
  /** How many keys are in scope. */
  readonly keys: number
  /** SHA-256 (hex) over the sorted per-key digests. */
  readonly digest: string
}

/**
 * The checksum of the keys in scope.
 *
 * @example
 * Expect.that(Redis.checksum(sessions), Expect.equals(before))
 */
export const checksum = (target: RedisTarget, options: { readonly id?: string } = {}): Probe.Probe<Checksum> => {
  const id = options.id ?? `checksum ${target.id}`
  return Probe.make({
    id,
    title: `checksum of ${target.keys.join(", ")} on ${target.id}`,
    target,
    observe: session(
      target.connection,
      async (s) => {
          const found = await scan(s, target.keys)
          const digests: Array<string> = found.binary.map((b) => createHash("sha256").update(`binary-name\u0000${b}`).digest("hex"))
          const perKey = await batched(found.keys, async (key) => {
            const content = await contentDigest(s, key)
            // Gone between SCAN and the read (expired, deleted): not in scope any more.
            if (content === undefined) return undefined
            const at = String(await s.call(["PEXPIRETIME", key]))
            return createHash("sha256").update(key).update("\u0000").update(content).update("\u0000").update(at).digest("hex")
          })
          for (const d of perKey) if (d !== undefined) digests.push(d)
          digests.sort()
          return { keys: digests.length, digest: createHash("sha256").update(digests.join("\n")).digest("hex") }
      },
      (e) => new ProbeFailed({ probe: id, target: target.id, detail: describeUnknown(e), cause: e }),
    ),
  })
}
