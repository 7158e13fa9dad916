/**
 * Value: one key as the application would read it — its type and, for a string, its text. For
 * checks like "the session of user 1 is no longer parseable" or "the note is there". Read-only:
 * TYPE, GET.
 */
import * as Probe from "../../../Probe.ts"
import { describeUnknown, ProbeFailed } from "../../../ShiftupError.ts"
import { session } from "../internal/client.ts"
import type { RedisTarget } from "../targets.ts"

export interface KeyValue {
  /** `none` when the key does not exist; else `string`, `hash`, `list`, `set`, `zset`, `stream`… */
  readonly type: string
  /** The text of a string key (UTF-8); absent for other types. */
  readonly value?: string
}

/**
 * The type of `key` and, for a string, its value.
 *
 * @example
 * Expect.that(Redis.value(sessions, "session:alice"), Expect.predicate("valid JSON", (v) => v.value !== undefined))
 */
export const value = (target: RedisTarget, key: string, options: { readonly id?: string } = {}): Probe.Probe<KeyValue> => {
  const id = options.id ?? `value ${target.id} ${key}`
  return Probe.make({
    id,
    title: `value of ${key} on ${target.id}`,
    target,
    observe: session(
      target.connection,
      async (s) => {
          const type = String(await s.call(["TYPE", key]))
          if (type !== "string") return { type }
          const text = (await s.call(["GET", key])) as string | null
          return text === null ? { type: "none" } : { type, value: text }
      },
      (e) => new ProbeFailed({ probe: id, target: target.id, detail: describeUnknown(e), cause: e }),
    ),
  })
}
