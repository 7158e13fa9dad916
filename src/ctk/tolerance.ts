/**
 * Tolerances: whether a probe's value is what the steady state expects. Chaos Toolkit's rules,
 * on the values shiftup's providers return (`{ status, headers, body }` for HTTP,
 * `{ status, stdout, stderr }` for a process):
 * - a number compares with the value's `status` when it has one, else with the value;
 * - a string or a boolean compares with the value itself;
 * - a list of two numbers is an inclusive range (of the status, when there is one), as the
 *   experiment format specifies; any other list is membership;
 * - `regex` searches the value (or its `target` key); `jsonpath` selects from it (a string is
 *   parsed as JSON first) and checks that something is found, `count` matches, or the values
 *   equal `expect`; `range` converts the value to a number and checks the bounds.
 * A `probe` tolerance runs another activity: see `./translate.ts`.
 */
import { query } from "./jsonpath.ts"
import type { Json, ProbeTolerance, Tolerance } from "./model.ts"

type Obj = Readonly<Record<string, unknown>>
const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)
const same = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b)
const isNum = (u: unknown): u is number => typeof u === "number" && Number.isFinite(u)

/** The value a tolerance with a `target` looks at: that key when the value has it. */
const targeted = (value: unknown, target: string | undefined): unknown => (target !== undefined && isObj(value) && Object.hasOwn(value, target) ? value[target] : value)

const statusOf = (value: unknown): unknown => (isObj(value) && Object.hasOwn(value, "status") ? value["status"] : value)

/** The tolerance when it is another probe. */
export const probeTolerance = (t: Tolerance | undefined): ProbeTolerance | undefined =>
  typeof t === "object" && t !== null && !Array.isArray(t) && (t as { readonly type?: unknown }).type === "probe" ? (t as ProbeTolerance) : undefined

export const holds = (tolerance: Exclude<Tolerance, { readonly type: "probe" }>, value: unknown): boolean => {
  if (typeof tolerance === "number") return same(statusOf(value), tolerance)
  if (typeof tolerance === "string" || typeof tolerance === "boolean") return same(value, tolerance)
  if (Array.isArray(tolerance)) {
    const v = statusOf(value)
    const [lo, hi] = tolerance
    if (tolerance.length === 2 && isNum(lo) && isNum(hi)) return isNum(v) && lo <= v && v <= hi
    return tolerance.some((t: Json) => same(v, t))
  }
  const t = tolerance as Exclude<Tolerance, ReadonlyArray<Json> | string | number | boolean | { readonly type: "probe" }>
  switch (t.type) {
    case "regex": {
      const v = targeted(value, t.target)
      if (typeof v !== "string") return false
      // Python's `$` also matches before a final newline (a process's stdout ends with one).
      const re = new RegExp(t.pattern)
      return re.test(v) || (v.endsWith("\n") && re.test(v.slice(0, -1)))
    }
    case "jsonpath": {
      let v = targeted(value, t.target)
      if (typeof v === "string")
        try {
          v = JSON.parse(v)
        } catch {
          // Not JSON: searched as the string it is (nothing but `$` matches).
        }
      const found = query(t.path, v)
      if ("expect" in t) return same(found, Array.isArray(t.expect) ? t.expect : [t.expect])
      if (t.count !== undefined) return found.length === t.count
      return found.length > 0
    }
    case "range": {
      const v = targeted(value, t.target)
      const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN
      return Number.isFinite(n) && t.range[0] <= n && n <= t.range[1]
    }
  }
}

/** One line for plans and journals. */
export const describe = (tolerance: Tolerance): string => {
  if (typeof tolerance === "number") return `status (or value) is ${tolerance}`
  if (typeof tolerance === "string" || typeof tolerance === "boolean") return `is ${JSON.stringify(tolerance)}`
  if (Array.isArray(tolerance)) {
    const [lo, hi] = tolerance
    return tolerance.length === 2 && isNum(lo) && isNum(hi) ? `status (or value) in [${lo}, ${hi}]` : `status (or value) one of ${JSON.stringify(tolerance)}`
  }
  const t = tolerance as Exclude<Tolerance, ReadonlyArray<Json> | string | number | boolean>
  const on = "target" in t && t.target !== undefined ? ` (${t.target})` : ""
  switch (t.type) {
    case "regex":
      return `matches /${t.pattern}/${on}`
    case "jsonpath":
      return `${t.path}${on} ${"expect" in t ? `equals ${JSON.stringify(t.expect)}` : t.count !== undefined ? `finds ${t.count}` : "finds a value"}`
    case "range":
      return `in [${t.range[0]}, ${t.range[1]}]${on}`
    case "probe":
      return `probe "${t.name}" succeeds`
  }
}
