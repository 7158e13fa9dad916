/**
 * Corrupt: changes the values of keys in scope the way a bug, a bad deploy or an attacker with
 * write access to the store would — JSON made unparsable, values cut short, a key of another
 * type than the application expects, or a field set to a chosen value (`role` → `admin`). Does
 * the application deny, not crash, and never trust what it reads? Its compensation,
 * `data.redis.corrupt`, restores every changed key from its before-image.
 */
import type * as Fault from "../../../Fault.ts"
import type { Issue } from "../../../ShiftupError.ts"
import * as RedisFault from "../internal/fault.ts"
import { declare } from "../internal/kind.ts"
import { flatten, mapBytes, read, type Value, write } from "../internal/values.ts"
import type { RedisTarget } from "../targets.ts"

/** Restores the keys a corruption changed from their before-images. */
export const UndoCorrupt = declare("data.redis.corrupt")

export type CorruptMode = "garble-json" | "truncate" | "type-confuse" | "set"

export interface CorruptOptions extends RedisFault.CommonOptions {
  /**
   * - `garble-json`: every value (each hash field, list element, member) keeps its first half and
   *   gets a NUL byte and `garbled` after it: never valid JSON, never a valid number.
   * - `truncate`: every value is cut to its first half.
   * - `type-confuse`: a string becomes a list holding it; any other type becomes a string of its
   *   values, one per line (the application meets WRONGTYPE).
   * - `set`: with `field`, that field of a hash, or of a string holding a JSON object, is set to
   *   `value` (other keys are left alone); without, the key becomes the string `value`.
   */
  readonly mode: CorruptMode
  /** The value `set` writes. */
  readonly value?: string
  /** The field `set` writes: a hash field, or a property of a JSON object held in a string. */
  readonly field?: string
}

const modes: ReadonlyArray<CorruptMode> = ["garble-json", "truncate", "type-confuse", "set"]

const garble = (b: Buffer) => Buffer.concat([b.subarray(0, Math.ceil(b.length / 2)), Buffer.from("\u0000garbled")])
const truncate = (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))

/** The value a mode leaves in place of `v`; undefined when the mode leaves this key alone. */
const corrupted = (v: Value, o: CorruptOptions): Value | undefined => {
  switch (o.mode) {
    case "garble-json":
      return mapBytes(v, garble)
    case "truncate":
      return mapBytes(v, truncate)
    case "type-confuse":
      return v.type === "string" ? { type: "list", items: [v.value] } : { type: "string", value: flatten(v) }
    case "set": {
      const value = Buffer.from(o.value ?? "")
      if (o.field === undefined) return { type: "string", value }
      if (v.type === "hash") return { type: "hash", fields: [...v.fields.filter(([k]) => k.toString() !== o.field), [Buffer.from(o.field), value]] }
      if (v.type !== "string") return undefined
      let parsed: unknown
      try {
        parsed = JSON.parse(v.value.toString("utf8"))
      } catch {
        return undefined
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined
      return { type: "string", value: Buffer.from(JSON.stringify({ ...parsed, [o.field]: o.value })) }
    }
  }
}

/**
 * Corrupts the values of the keys in scope (or a sample of them). `disrupt`: the before-images
 * put every value, type and expiry back exactly at rollback.
 *
 * @example
 * Redis.corrupt(sessions, { mode: "garble-json", sample: 0.5, seed: 7 })
 * Redis.corrupt(sessions, { mode: "set", field: "role", value: "admin" })
 */
export const corrupt = (target: RedisTarget, options: CorruptOptions): Fault.Fault => {
  const issues: Array<Issue> = RedisFault.commonIssues(options)
  if (!modes.includes(options.mode)) issues.push({ path: "mode", message: `"${String(options.mode)}" is not a mode; expected ${modes.join(", ")}` })
  if (options.mode === "set" && typeof options.value !== "string") issues.push({ path: "value", message: 'mode "set" needs `value`: the string it writes' })
  if (options.mode !== "set" && (options.value !== undefined || options.field !== undefined)) issues.push({ path: options.value !== undefined ? "value" : "field", message: `only mode "set" takes \`value\` and \`field\`` })
  RedisFault.invalidOptions("corrupt", target, issues)
  return RedisFault.make({
    name: "corrupt",
    options,
    target,
    safety: "disrupt",
    kind: UndoCorrupt,
    what: `corrupt (${options.mode}${options.mode === "set" ? ` ${options.field === undefined ? "" : `${options.field}=`}${JSON.stringify(options.value)}` : ""})`,
    change: async (s, plan) => {
      for (const key of plan.keys) {
        const v = await read(s, key)
        const next = v === undefined ? undefined : corrupted(v, options)
        if (next !== undefined) await write(s, key, next)
      }
    },
  })
}
