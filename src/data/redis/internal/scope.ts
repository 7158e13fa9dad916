/**
 * The scope of a Redis target: the keys its faults may touch, as Redis glob patterns
 * (`session:*`). Keys are found with SCAN … MATCH (never KEYS, which blocks the server), once per
 * pattern, and only keys whose names are UTF-8 are handled (a ledger record names them as text).
 */
import type { Session } from "./client.ts"

/** Whether `key` matches the Redis glob `pattern` (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\` escapes). */
export const globMatches = (pattern: string, key: string): boolean => {
  let re = "^"
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string
    if (ch === "\\" && i + 1 < pattern.length) re += escape(pattern[++i] as string)
    else if (ch === "*") re += "[\\s\\S]*"
    else if (ch === "?") re += "[\\s\\S]"
    else if (ch === "[") {
      const end = pattern.indexOf("]", i + 2)
      if (end === -1) re += "\\["
      else {
        const body = pattern.slice(i + 1, end)
        re += body.startsWith("^") ? `[^${body.slice(1).replace(/\\/g, "\\\\")}]` : `[${body.replace(/\\/g, "\\\\")}]`
        i = end
      }
    } else re += escape(ch)
  }
  return new RegExp(`${re}$`, "u").test(key)
}

const escape = (ch: string) => ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")

/** Whether `key` lies in the scope `patterns`. */
export const inScope = (patterns: ReadonlyArray<string>, key: string): boolean => patterns.some((p) => globMatches(p, key))

/** Issues with keys a step names (at `path`): none at all, or one outside the scope `patterns`. */
export const namedIssues = (patterns: ReadonlyArray<string>, keys: ReadonlyArray<string>, path: string): ReadonlyArray<{ readonly path: string; readonly message: string }> => [
  ...(keys.length === 0 ? [{ path, message: "name at least one key" }] : []),
  ...keys.flatMap((k, i) => (typeof k === "string" && inScope(patterns, k) ? [] : [{ path: `${path}[${i}]`, message: `"${String(k)}" is not in the target's scope (${patterns.join(", ")})` }])),
]

export interface Found {
  /** Keys in scope, sorted, each once. */
  readonly keys: ReadonlyArray<string>
  /** Keys in scope whose names are not UTF-8 (as base64): refused, a record could not name them. */
  readonly binary: ReadonlyArray<string>
}

/** Every key in scope now: SCAN … MATCH per pattern, COUNT 1000; stops early past `limit` keys. */
export const scan = async (s: Session, patterns: ReadonlyArray<string>, limit = Number.POSITIVE_INFINITY): Promise<Found> => {
  const keys = new Set<string>()
  const binary = new Set<string>()
  for (const pattern of patterns) {
    let cursor = "0"
    do {
      const reply = (await s.call(["SCAN", cursor, "MATCH", pattern, "COUNT", "1000"], true)) as [Buffer, ReadonlyArray<Buffer>]
      cursor = reply[0].toString()
      for (const raw of reply[1]) {
        const name = raw.toString("utf8")
        if (Buffer.from(name, "utf8").equals(raw)) keys.add(name)
        else binary.add(raw.toString("base64"))
      }
      if (keys.size + binary.size > limit) return { keys: [...keys].sort(), binary: [...binary] }
    } while (cursor !== "0")
  }
  return { keys: [...keys].sort(), binary: [...binary] }
}
