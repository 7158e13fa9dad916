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
  /** Probe requests per second per target. Default 200. */
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
  readonly maxProbeRate: number
  readonly egress: ReadonlyArray<string>
}

export const defaults: EffectiveBudget = {
  maxTargets: 10,
  maxPercent: 100,
  maxConcurrentFaults: 3,
  maxFaultTimeMs: 5 * 60_000,
  maxDestroySteps: 0,
  maxDurationMs: 10 * 60_000,
  maxProbeRate: 200,
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
  return {
    maxTargets: min(e.maxTargets ?? defaults.maxTargets, c.maxTargets),
    maxPercent: min(e.maxPercent ?? defaults.maxPercent, c.maxPercent),
    maxConcurrentFaults: min(e.maxConcurrentFaults ?? defaults.maxConcurrentFaults, c.maxConcurrentFaults),
    maxFaultTimeMs: min(millis(e.maxFaultTime) ?? defaults.maxFaultTimeMs, millis(c.maxFaultTime)),
    maxDestroySteps: min(e.maxDestroySteps ?? defaults.maxDestroySteps, c.maxDestroySteps),
    maxDurationMs: min(millis(e.maxDuration) ?? defaults.maxDurationMs, millis(c.maxDuration)),
    maxProbeRate: min(e.maxProbeRate ?? defaults.maxProbeRate, c.maxProbeRate),
    egress: c.egress === undefined ? egress : egress.filter((x) => c.egress?.includes(x)),
  }
}
