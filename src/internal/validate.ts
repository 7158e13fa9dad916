/** Schema decoding that reports every issue with a dotted path, for experiments and configs. */
import { Cause, Duration, Exit, Option, Schema, SchemaAST, SchemaIssue } from "effect"
import type { Issue } from "../ShiftupError.ts"
import { closest } from "./suggest.ts"

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

export const pathOf = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc === "" ? String(k) : `${acc}.${String(k)}`), "")

/** Every issue of `input` against `schema`; extra keys are an issue unless `excess: "ignore"` (open records). */
export const decodeAll = (schema: Schema.Top, input: unknown, options: { readonly excess?: "error" | "ignore" } = {}): ReadonlyArray<Issue> => {
  const exit = Schema.decodeUnknownExit(schema as Schema.Codec<unknown, unknown>)(input, { errors: "all", onExcessProperty: options.excess ?? "error" })
  if (Exit.isSuccess(exit)) return []
  const error = Cause.squash(exit.cause)
  if (!Schema.isSchemaError(error)) return [{ path: "", message: String(error) }]
  const unknown = unknownKeys(error.issue, [])
  return formatter(error.issue).issues.map((i) => {
    const path = pathOf((i.path ?? []).map((p) => (typeof p === "object" ? p.key : p)))
    const keys = unknown.get(path)
    return { path, message: keys === undefined ? i.message : unknownKey(path, keys) }
  })
}

/** Where the input has a key its struct does not declare: the path, with the keys it does declare. */
const unknownKeys = (issue: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey>, found = new Map<string, ReadonlyArray<string>>()): Map<string, ReadonlyArray<string>> => {
  if (issue._tag === "Pointer") unknownKeys(issue.issue, [...path, ...issue.path], found)
  else if (issue._tag === "Filter" || issue._tag === "Encoding") unknownKeys(issue.issue, path, found)
  else if (issue._tag === "Composite" || issue._tag === "AnyOf") for (const i of issue.issues) unknownKeys(i, path, found)
  else if (issue._tag === "UnexpectedKey" && SchemaAST.isObjects(issue.ast)) found.set(pathOf(path), issue.ast.propertySignatures.map((p) => String(p.name)))
  return found
}

/** A typo must not pass silently (`methd:` would run no method): name the key meant. */
const unknownKey = (path: string, keys: ReadonlyArray<string>): string => {
  const key = path.replace(/^.*[.\]]/, "")
  const near = closest(key, keys)
  return near === undefined ? `unknown key "${key}"; the keys here are ${keys.join(", ")}` : `unknown key "${key}"; did you mean "${near}"?`
}

/** The issues of a nested value, with `prefix` in front of their paths. */
export const under = (prefix: string, issues: ReadonlyArray<Issue>): ReadonlyArray<Issue> =>
  issues.map((i) => ({ path: i.path === "" ? prefix : i.path.startsWith("[") ? `${prefix}${i.path}` : `${prefix}.${i.path}`, message: i.message }))

const durationKeys = new Set(["weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds", "nanoseconds"])

/**
 * Milliseconds of a `Duration.Input`, or NaN when it is not one. Stricter than Effect, which
 * reads `NaN` and `{ foo: 1 }` as zero: a typo must not become "no wait at all".
 */
export const millisOf = (u: unknown): number => {
  if (typeof u === "number") return u
  if (Array.isArray(u) && !(u.length === 2 && u.every((n) => typeof n === "number" && Number.isFinite(n)))) return Number.NaN
  if (typeof u === "object" && u !== null && !Array.isArray(u) && !Duration.isDuration(u)) {
    const entries = Object.entries(u)
    if (entries.length === 0 || entries.some(([k, v]) => !durationKeys.has(k) || (v !== undefined && !(typeof v === "number" && Number.isFinite(v))))) return Number.NaN
  }
  if (typeof u !== "string" && typeof u !== "object" && typeof u !== "bigint") return Number.NaN
  const d = Duration.fromInput(u as Duration.Input)
  return Option.isSome(d) ? Duration.toMillis(d.value) : Number.NaN
}

/** A duration for an id or a title, as given when it is not one (its issues say so). */
export const showDuration = (u: Duration.Input): string => (Number.isNaN(millisOf(u)) ? String(u) : Duration.format(Duration.fromInputUnsafe(u)))

/**
 * A finite duration option: `atLeast: 0` accepts no pause at all, `atLeast: "positive"` needs
 * some time (a poll loop with no pause would spin).
 */
export const durationOption = (atLeast: 0 | "positive") =>
  Schema.Unknown.check(
    Schema.makeFilter((u) => {
      const ms = millisOf(u)
      if (Number.isNaN(ms)) return `expected a duration such as 500 (milliseconds) or "2 seconds", got ${shown(u)}`
      if (!Number.isFinite(ms)) return `must be finite, got ${shown(u)}`
      if (atLeast === 0 ? ms < 0 : ms <= 0) return `must be ${atLeast === 0 ? "0 or more" : "more than 0"}, got ${shown(u)}`
      return undefined
    }),
  )

/** A whole number of at least `min` (a count of samples, of concurrent requests…). */
export const countOption = (min: number, what: string) =>
  Schema.Unknown.check(Schema.makeFilter((u) => (typeof u === "number" && Number.isSafeInteger(u) && u >= min ? undefined : `must be a whole number of ${what}, at least ${min}, got ${shown(u)}`)))

const shown = (u: unknown): string => (typeof u === "number" || typeof u === "bigint" ? String(u) : typeof u === "function" ? "a function" : (JSON.stringify(u) ?? String(u)))
