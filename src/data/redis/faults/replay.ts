/**
 * Replay: older values written back over the current ones — a revoked session token, the
 * password hash before a reset, an API key before its rotation. Does the application still
 * accept what was revoked (a finding), or does it check more than the store says? The older
 * values come from a `snapshot` observed earlier in the run (a generator experiment), or are
 * given as strings. Its compensation, `data.redis.replay`, is the current before-image of each
 * replayed key: rollback puts back what was there before the replay, exactly.
 */
import type * as Fault from "../../../Fault.ts"
import type { Issue } from "../../../ShiftupError.ts"
import * as RedisFault from "../internal/fault.ts"
import { restoreImage } from "../internal/images.ts"
import { declare } from "../internal/kind.ts"
import { namedIssues } from "../internal/scope.ts"
import { isSnapshot, type Snapshot } from "../probes/snapshot.ts"
import type { RedisTarget } from "../targets.ts"

/** Restores the replayed keys from their before-images (what was there before the replay). */
export const UndoReplay = declare("data.redis.replay")

export interface ReplayOptions extends Pick<RedisFault.CommonOptions, "id" | "maxKeys" | "maxBytes"> {
  /**
   * The older values: a `snapshot` of this target observed earlier (each key back as it was —
   * type, value, and its expiry instant when that is still ahead; a key that did not exist then
   * is deleted), or strings by key (each written with SET, keeping the key's current expiry).
   */
  readonly from: Snapshot | Readonly<Record<string, string>>
  /** Which of `from`'s keys to replay; default all of them. Each must be in the target's scope. */
  readonly keys?: ReadonlyArray<string>
}

/**
 * Writes older values back. `disrupt`: rollback restores each key as it was before the replay.
 *
 * @example
 * Redis.replay(sessions, { from: { "session:alice": revokedToken } })
 */
export const replay = (target: RedisTarget, options: ReplayOptions): Fault.Fault => {
  const issues: Array<Issue> = RedisFault.commonIssues(options)
  const from = options.from
  const snapshot = isSnapshot(from) ? from : undefined
  const literal = snapshot === undefined && typeof from === "object" && from !== null ? (from as Readonly<Record<string, string>>) : undefined
  const available = snapshot?.images.map((i) => i.key) ?? Object.keys(literal ?? {})
  if (snapshot === undefined && literal === undefined) issues.push({ path: "from", message: "give a snapshot (Redis.snapshot observed earlier) or the older values as strings by key" })
  if (snapshot !== undefined && snapshot.target !== target.id) issues.push({ path: "from", message: `the snapshot was taken on "${snapshot.target}", not "${target.id}"` })
  if (literal !== undefined) for (const [k, v] of Object.entries(literal)) if (typeof v !== "string") issues.push({ path: `from.${k}`, message: "an older value is a string" })
  const keys = options.keys ?? available
  issues.push(...namedIssues(target.keys, keys, options.keys === undefined ? "from" : "keys"))
  for (const k of keys) if (!available.includes(k)) issues.push({ path: "keys", message: `"${k}" has no older value in \`from\`` })
  RedisFault.invalidOptions("replay", target, issues)
  const images = new Map((snapshot?.images ?? []).map((i) => [i.key, i] as const))
  return RedisFault.make({
    name: "replay",
    options,
    target,
    safety: "disrupt",
    kind: UndoReplay,
    what: `replay (${snapshot === undefined ? "given values" : `snapshot of ${new Date(snapshot.takenAt).toISOString()}`})`,
    named: keys,
    change: async (s, plan) => {
      // The server's clock decides whether an older expiry instant is still ahead.
      const [seconds] = (await s.call(["TIME"])) as [string, string]
      const now = Number(seconds) * 1000
      for (const key of plan.keys) {
        const image = images.get(key)
        if (image === undefined) await s.call(["SET", key, (literal ?? {})[key] ?? "", "KEEPTTL"])
        else await restoreImage(s, image.expireAt >= 0 && image.expireAt <= now ? { ...image, expireAt: -1 } : image)
      }
    },
  })
}
