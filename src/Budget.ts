/**
 * The blast-radius budget of a whole run. Checked at plan time and again at every injection.
 * Configuration can only tighten it: the effective value of each limit is the smallest given.
 */
import { Duration, Schema } from "effect"

export interface Budget {
  /** Targets the run may touch at all (probes included). Default 10. */
  readonly maxTargets?: number
  /** Percent of each target's population that faults may hit. Default 100. */
  readonly maxPercent?: number
  /** Faults active at the same time. Default 3. */
  readonly maxConcurrentFaults?: number
  /** How long any fault may stay active before the run aborts and rolls back. Default 5 minutes. */
  readonly maxFaultTime?: Duration.Input
  /** `destroy` steps allowed. Default 0: destroying must be budgeted explicitly. */
  readonly maxDestroySteps?: number
  /** The whole method's duration; past it the run aborts and rolls back. Default 10 minutes. */
  readonly maxDuration?: Duration.Input
  /**
   * Probe requests per second per target. When the experiment sets none, the default depends on
   * the target's environment: 200/s in production (and unknown), 1000/s in staging, unpaced in
   * development and lab — observing production stays gentle, a lab runs at full speed. A config
   * cap lowers every one of them.
   */
  readonly maxProbeRate?: number
  /** Extra egress destinations (CIDRs or addresses) beyond loopback. Default none. */
  readonly egress?: ReadonlyArray<string>
}

export interface EffectiveBudget {
  readonly maxTargets: number
  readonly maxPercent: number
  readonly maxConcurrentFaults: number
  readonly maxFaultTimeMs: number
  readonly maxDestroySteps: number
  readonly maxDurationMs: number
  /** The probe rate of a production (or unknown) target: the most conservative of `probeRates`. */
  readonly maxProbeRate: number
  /** Probes per second per target by the target's environment; `null`: unpaced. */
  readonly probeRates: ProbeRates
  readonly egress: ReadonlyArray<string>
}

export interface ProbeRates {
  readonly production: number
  readonly staging: number | null
  readonly development: number | null
  readonly lab: number | null
}

/** The default probe rates when an experiment sets no `maxProbeRate` (documented above). */
export const defaultProbeRates: ProbeRates = { production: 200, staging: 1000, development: null, lab: null }

export const defaults: EffectiveBudget = {
  maxTargets: 10,
  maxPercent: 100,
  maxConcurrentFaults: 3,
  maxFaultTimeMs: 5 * 60_000,
  maxDestroySteps: 0,
  maxDurationMs: 10 * 60_000,
  maxProbeRate: 200,
  probeRates: defaultProbeRates,
  egress: [],
}

const DurationInput = Schema.Union([Schema.Number.check(Schema.isGreaterThan(0)), Schema.String.check(Schema.isPattern(/^\d+(\.\d+)? (nanos?|micros?|millis?|seconds?|minutes?|hours?|days?|weeks?)$/))])
const Count = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))

export const BudgetSchema = Schema.Struct({
  maxTargets: Schema.optionalKey(Count),
  maxPercent: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 100 }))),
  maxConcurrentFaults: Schema.optionalKey(Count),
  maxFaultTime: Schema.optionalKey(DurationInput),
  maxDestroySteps: Schema.optionalKey(Count),
  maxDuration: Schema.optionalKey(DurationInput),
  maxProbeRate: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThan(0))),
  egress: Schema.optionalKey(Schema.Array(Schema.String)),
})

const min = (a: number, b: number | undefined) => (b === undefined ? a : Math.min(a, b))
const millis = (d: Duration.Input | undefined) => (d === undefined ? undefined : Duration.toMillis(d))

/**
 * Combines the experiment's budget with the configuration's caps: each limit is the tightest.
 * The experiment's budget replaces a default; a config cap can only lower it. Egress is the
 * experiment's list, narrowed to the config's when the config declares one.
 */
export const effective = (experiment: Budget | undefined, caps: Budget | undefined): EffectiveBudget => {
  const e = experiment ?? {}
  const c = caps ?? {}
  const egress = e.egress ?? []
  // An experiment's rate applies to every environment; a config cap lowers each; unpaced stays
  // unpaced only without a cap.
  const rate = (fallback: number | null): number | null => {
    const own = e.maxProbeRate ?? fallback
    return own === null ? (c.maxProbeRate ?? null) : min(own, c.maxProbeRate)
  }
  const probeRates: ProbeRates = {
    production: rate(defaultProbeRates.production) ?? defaultProbeRates.production,
    staging: rate(defaultProbeRates.staging),
    development: rate(defaultProbeRates.development),
    lab: rate(defaultProbeRates.lab),
  }
  return {
    maxTargets: min(e.maxTargets ?? defaults.maxTargets, c.maxTargets),
    maxPercent: min(e.maxPercent ?? defaults.maxPercent, c.maxPercent),
    maxConcurrentFaults: min(e.maxConcurrentFaults ?? defaults.maxConcurrentFaults, c.maxConcurrentFaults),
    maxFaultTimeMs: min(millis(e.maxFaultTime) ?? defaults.maxFaultTimeMs, millis(c.maxFaultTime)),
    maxDestroySteps: min(e.maxDestroySteps ?? defaults.maxDestroySteps, c.maxDestroySteps),
    maxDurationMs: min(millis(e.maxDuration) ?? defaults.maxDurationMs, millis(c.maxDuration)),
    maxProbeRate: probeRates.production,
    probeRates,
    egress: c.egress === undefined ? egress : egress.filter((x) => c.egress?.includes(x)),
  }
}

/**
 * Where the budget's probe rate for `environment` comes from, for the plan: the config's cap, the
 * experiment's rate, or the environment's default (the same choice `effective` makes).
 */
export const probeRateSource = (experiment: Budget | undefined, caps: Budget | undefined, environment: keyof ProbeRates): string => {
  const own = experiment?.maxProbeRate
  const cap = caps?.maxProbeRate
  const fallback = defaultProbeRates[environment]
  const before = own ?? fallback
  if (cap !== undefined && (before === null || cap < before)) return `the config's budget.maxProbeRate (${cap}/s)`
  if (own !== undefined) return `the experiment's budget.maxProbeRate (${own}/s)`
  return fallback === null ? `the default in ${environment} (unpaced)` : `the default in ${environment} (${fallback}/s)`
}
