/**
 * Assertions: tolerances over probe values. A matcher says what a value may be; a check applies
 * it to a probe once, `during` the active faults, `eventually` within a window (time-to-recover),
 * or since the last injection (time-to-detect). A guard is a stop condition.
 */
import { type Duration, Schema } from "effect"
import { countOption, decodeAll, durationOption, millisOf, showDuration } from "./internal/validate.ts"
import type { Probe } from "./Probe.ts"
import type { Issue } from "./ShiftupError.ts"

export const CheckTypeId: unique symbol = Symbol.for("shiftup/Check") as never

export interface Matcher<A> {
  readonly describe: string
  readonly test: (value: A) => boolean
}

const show = (u: unknown): string => (typeof u === "string" ? JSON.stringify(u) : u instanceof RegExp ? String(u) : JSON.stringify(u) ?? String(u))

/** Deep equality on JSON-like values. */
const same = (a: unknown, b: unknown): boolean => a === b || (typeof a === "object" && typeof b === "object" && a !== null && b !== null && JSON.stringify(a) === JSON.stringify(b))

export const equals = <A>(expected: A): Matcher<A> => ({ describe: `equals ${show(expected)}`, test: (v) => same(v, expected) })

export const oneOf = <A>(...values: ReadonlyArray<A>): Matcher<A> => ({ describe: `one of ${values.map(show).join(", ")}`, test: (v) => values.some((x) => same(v, x)) })

/** Inclusive range. */
export const range = (min: number, max: number): Matcher<number> => ({ describe: `in [${min}, ${max}]`, test: (v) => v >= min && v <= max })

export const regex = (re: RegExp): Matcher<string> => ({
  describe: `matches ${String(re)}`,
  test: (v) => {
    re.lastIndex = 0
    return re.test(v)
  },
})

export const predicate = <A>(describe: string, test: (value: A) => boolean): Matcher<A> => ({ describe, test })

export const not = <A>(m: Matcher<A>): Matcher<A> => ({ describe: `not (${m.describe})`, test: (v) => !m.test(v) })

/** `never(200)`: the value must never be 200 (use with `during`). */
export const never = <A>(m: Matcher<A> | A): Matcher<A> => {
  const inner = toMatcher(m)
  return { describe: `never ${inner.describe.replace(/^equals /, "")}`, test: (v) => !inner.test(v) }
}

export const isMatcher = (u: unknown): u is Matcher<unknown> =>
  typeof u === "object" && u !== null && typeof (u as Matcher<unknown>).test === "function" && typeof (u as Matcher<unknown>).describe === "string"

export const toMatcher = <A>(m: Matcher<A> | A): Matcher<A> => (isMatcher(m) ? (m as Matcher<A>) : equals(m as A))

export type Mode =
  | { readonly _tag: "once" }
  | { readonly _tag: "during"; readonly samples: number; readonly everyMs: number; readonly burst: number }
  | { readonly _tag: "eventually"; readonly withinMs: number; readonly everyMs: number; readonly since: "check" | "last-fault"; readonly metric: string }

export type Severity = "critical" | "high" | "medium" | "low"

export interface Check<A> {
  readonly [CheckTypeId]: typeof CheckTypeId
  readonly _tag: "Check"
  readonly id: string
  readonly title: string
  readonly probe: Probe<A>
  readonly matcher: Matcher<A>
  readonly mode: Mode
  /** Severity of the finding when the check does not hold. */
  readonly severity: Severity
  /** What the team should do when it fails. */
  readonly remediation?: string
  /** The weakness class of the finding, e.g. `CWE-306`. */
  readonly cwe?: string
  /**
   * What is wrong with the options it was made with (paths relative to them), e.g. `samples`
   * of NaN. The check is built even so, and `Experiment.make` / `Experiment.gen` report the
   * issues of every check they hold, with their paths, all at once.
   */
  readonly issues: ReadonlyArray<Issue>
}

export interface CheckOptions {
  readonly id?: string
  readonly title?: string
  readonly severity?: Severity
  readonly remediation?: string
  /** The weakness class the finding belongs to, e.g. `CWE-306`; recorded in the journal. */
  readonly cwe?: string
}

const checkFields = {
  id: Schema.optional(Schema.String),
  title: Schema.optional(Schema.String),
  severity: Schema.optional(Schema.Literals(["critical", "high", "medium", "low"])),
  remediation: Schema.optional(Schema.String),
  cwe: Schema.optional(Schema.String),
}
const ThatOptions = Schema.Struct(checkFields)
const DuringOptionsSchema = Schema.Struct({
  ...checkFields,
  samples: Schema.optional(countOption(1, "rounds")),
  every: Schema.optional(durationOption(0)),
  burst: Schema.optional(countOption(1, "concurrent observations per round")),
})
const EventuallyOptionsSchema = Schema.Struct({ ...checkFields, within: durationOption("positive"), every: Schema.optional(durationOption("positive")) })
const GuardOptionsSchema = Schema.Struct({ id: Schema.optional(Schema.String), every: Schema.optional(durationOption("positive")) })

const make = <A>(probe: Probe<A>, matcher: Matcher<A> | A, mode: Mode, options: CheckOptions, verb: string, schema: Schema.Top): Check<A> => {
  const m = toMatcher(matcher)
  return {
    [CheckTypeId]: CheckTypeId,
    _tag: "Check",
    id: options.id ?? [probe.id, verb, m.describe].filter((s) => s !== "").join(" "),
    title: options.title ?? [probe.title, verb, m.describe].filter((s) => s !== "").join(" "),
    probe,
    matcher: m,
    mode,
    severity: options.severity ?? "high",
    ...(options.remediation === undefined ? {} : { remediation: options.remediation }),
    ...(options.cwe === undefined ? {} : { cwe: options.cwe }),
    issues: decodeAll(schema, options),
  }
}

export const isCheck = (u: unknown): u is Check<unknown> => typeof u === "object" && u !== null && CheckTypeId in u

/**
 * One observation must match.
 *
 * @example
 * Expect.that(Probe.status(api, "/admin"), Expect.oneOf(401, 403))
 */
export const that = <A>(probe: Probe<A>, matcher: Matcher<A> | A, options: CheckOptions = {}): Check<A> => make(probe, matcher, { _tag: "once" }, options, "", ThatOptions)

export interface DuringOptions extends CheckOptions {
  /** How many rounds of observation; default 10. */
  readonly samples?: number
  /** Pause between rounds; default 100 ms. */
  readonly every?: Duration.Input
  /** Concurrent observations per round (an attack burst); default 1. */
  readonly burst?: number
}

/**
 * Every observation while the faults are active must match.
 *
 * @example
 * Expect.during(Probe.status(api, "/admin"), Expect.never(200), { samples: 20, burst: 5 })
 */
export const during = <A>(probe: Probe<A>, matcher: Matcher<A> | A, options: DuringOptions = {}): Check<A> =>
  make(probe, matcher, { _tag: "during", samples: options.samples ?? 10, everyMs: millisOf(options.every ?? 100), burst: options.burst ?? 1 }, options, "during faults:", DuringOptionsSchema)

export interface EventuallyOptions extends CheckOptions {
  readonly within: Duration.Input
  /** Poll interval; default 100 ms. */
  readonly every?: Duration.Input
}

/**
 * Polls until an observation matches, failing after `within`, counted from the start of the
 * check. Records the time it took (`time-to-recover`). An observation is dated by when its
 * answer arrives: one sent before the deadline and answered after it does not hold — the check
 * fails, still recording the measured time. The last poll falls on the deadline.
 */
export const eventually = <A>(probe: Probe<A>, matcher: Matcher<A> | A, options: EventuallyOptions): Check<A> =>
  make(probe, matcher, { _tag: "eventually", withinMs: millisOf(options.within), everyMs: millisOf(options.every ?? 100), since: "check", metric: "time-to-recover" }, options, `eventually (within ${showDuration(options.within)})`, EventuallyOptionsSchema)

/** Time-to-recover: `eventually`, named for what it measures. */
export const recovers = eventually

/**
 * Time-to-detect: polls a detection probe (an alert sink, a log) until it matches; the time is
 * measured from the end of the last injection (from the check, if nothing was injected) and must
 * be at most `within`. The deadline holds whatever delayed the check: one that starts late (an
 * earlier slow step) and sees the alert at its first poll still fails, and the journal records
 * how late ("detected after 2513 ms, deadline 500 ms"). As with `eventually`, an observation
 * counts when its answer arrives.
 */
export const detects = <A>(probe: Probe<A>, matcher: Matcher<A> | A, options: EventuallyOptions): Check<A> =>
  make(probe, matcher, { _tag: "eventually", withinMs: millisOf(options.within), everyMs: millisOf(options.every ?? 100), since: "last-fault", metric: "time-to-detect" }, options, `detected within ${showDuration(options.within)}:`, EventuallyOptionsSchema)

export const GuardTypeId: unique symbol = Symbol.for("shiftup/Guard") as never

/** A stop condition: checked continuously during the method; when it fails, the run aborts and rolls back. */
export interface Guard<A> {
  readonly [GuardTypeId]: typeof GuardTypeId
  readonly _tag: "Guard"
  readonly id: string
  readonly probe: Probe<A>
  readonly matcher: Matcher<A>
  readonly everyMs: number
  /** What is wrong with its options; see `Check.issues`. */
  readonly issues: ReadonlyArray<Issue>
}

/**
 * @example
 * stopWhen: [Expect.guard(Probe.status(shop, "/health"), 200, { every: "500 millis" })]
 */
export const guard = <A>(probe: Probe<A>, mustHold: Matcher<A> | A, options: { readonly id?: string; readonly every?: Duration.Input } = {}): Guard<A> => {
  const matcher = toMatcher(mustHold)
  return { [GuardTypeId]: GuardTypeId, _tag: "Guard", id: options.id ?? `guard: ${probe.id} ${matcher.describe}`, probe, matcher, everyMs: millisOf(options.every ?? 250), issues: decodeAll(GuardOptionsSchema, options) }
}

export const isGuard = (u: unknown): u is Guard<unknown> => typeof u === "object" && u !== null && GuardTypeId in u
