/**
 * Snapshot: named keys as they are now — each key's DUMP payload and expiry instant — for a
 * later `replay` to write back (the session token before a logout, the password hash before a
 * reset). Read-only: DUMP, the content read, PEXPIRETIME. Observe it in a generator experiment
 * (`const old = yield* ctx.observe(Redis.snapshot(users, ["user:alice"]))`) and hand the value
 * to `Redis.replay(users, { from: old })`.
 */
import * as Probe from "../../../Probe.ts"
import { describeUnknown, fail, InvalidExperiment, ProbeFailed } from "../../../ShiftupError.ts"
import { batched, session } from "../internal/client.ts"
import { type Image, imageOf } from "../internal/images.ts"
import { namedIssues } from "../internal/scope.ts"
import type { RedisTarget } from "../targets.ts"

/** Keys as they were at one instant: what `replay` writes back. */
export interface Snapshot {
  readonly _tag: "RedisSnapshot"
  /** The id of the target it was taken on. */
  readonly target: string
  /** Epoch ms it was taken at (this machine's clock). */
  readonly takenAt: number
  /** One before-image per key (`dump: null`: the key did not exist). */
  readonly images: ReadonlyArray<Image>
}

export const isSnapshot = (u: unknown): u is Snapshot => typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "RedisSnapshot"

/**
 * The keys' before-images now. Its value lands in the journal like any probe's (cut at 200
 * characters): snapshot what a replay needs, not a whole keyspace.
 *
 * @example
 * const old = yield* ctx.observe(Redis.snapshot(users, ["user:alice:password"]))
 */
export const snapshot = (target: RedisTarget, keys: ReadonlyArray<string>, options: { readonly id?: string } = {}): Probe.Probe<Snapshot> => {
  const id = options.id ?? `snapshot ${target.id} ${keys.join(",")}`
  const issues = namedIssues(target.keys, keys, "keys")
  if (issues.length > 0) throw fail(new InvalidExperiment({ source: `shiftup/data Redis.snapshot on "${target.id}"`, issues }))
  return Probe.make({
    id,
    title: `snapshot of ${keys.length} key(s) on ${target.id}`,
    target,
    observe: session(
      target.connection,
      async (s) => ({ _tag: "RedisSnapshot" as const, target: target.id, takenAt: Date.now(), images: await batched([...new Set(keys)].sort(), (k) => imageOf(s, k)) }),
      (e) => new ProbeFailed({ probe: id, target: target.id, detail: describeUnknown(e), cause: e }),
    ),
  })
}
