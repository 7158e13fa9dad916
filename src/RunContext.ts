/**
 * What a probe, fault or compensation can see of the run it belongs to: the run id (for
 * correlation headers), the egress allowlist and the per-target probe throttle. The runner
 * provides it; outside a run the defaults apply (loopback only, no throttle).
 */
import { Clock, Context, Effect } from "effect"
import { defaultEgress, makeEgress, type Egress } from "./internal/egress.ts"
import type { Profile } from "./misconfig/profiles.ts"
import { version } from "./version.ts"

export interface RunContext {
  readonly runId: string
  /** When the run began (epoch ms); absent outside a run (e.g. in `recover`). */
  readonly startedAt?: number
  /** Headers every request of the run carries (invariant 6). */
  readonly headers: Readonly<Record<string, string>>
  readonly egress: Egress
  /** Waits until `target` may be probed again under the budget's probe rate (the runner calls it before every observation). */
  readonly throttle: (target: string) => Effect.Effect<void>
  /**
   * `throttle` outside Effect: takes `target`'s next slot and returns the milliseconds to wait
   * before using it (0 when it is free now). For hot loops such as an HTTP burst.
   */
  readonly reserve: (target: string) => number
  /**
   * State an adapter keeps for this run only — the members planned for a target, what a fault
   * captured — shared by the run's plan and its method, and gone with the run (never a
   * module-level cache keyed by run id).
   */
  readonly store: RunStore
  /**
   * The environment profile in force for `target` in this run (what the plan shows): the
   * shiftup/http probes read its required headers, leakage patterns and severities. Absent
   * outside a run (the probes then use `web`, or the profile they are given).
   */
  readonly profile?: (target: string) => Profile | undefined
}

/** Per-run values by key: `get` is `undefined` before `set`. */
export interface RunStore {
  readonly get: <A>(key: string) => A | undefined
  readonly set: <A>(key: string, value: A) => void
  readonly delete: (key: string) => void
}

/** A fresh, empty store: the runner makes one per run. */
export const makeStore = (): RunStore => {
  const values = new Map<string, unknown>()
  return { get: <A>(key: string) => values.get(key) as A | undefined, set: (key, value) => void values.set(key, value), delete: (key) => void values.delete(key) }
}

/**
 * Per-target spacing of probes: `perSecond` for every target, or a rate per target (`Infinity`:
 * none) — `throttle` and `reserve` of a run.
 */
export const pacer = (perSecond: number | ((target: string) => number)): Pick<RunContext, "throttle" | "reserve"> => {
  const rateOf = typeof perSecond === "number" ? () => perSecond : perSecond
  if (typeof perSecond === "number" && !(perSecond < Infinity)) return unpaced
  const next = new Map<string, number>()
  const spacings = new Map<string, number>()
  // Epoch milliseconds: Effect's clock for `throttle` (virtual in tests), the same wall clock for `reserve`.
  const reserveAt = (target: string, now: number) => {
    let spacing = spacings.get(target)
    if (spacing === undefined) {
      const rate = rateOf(target)
      spacings.set(target, (spacing = rate < Infinity ? 1000 / rate : 0))
    }
    if (spacing === 0) return 0
    const at = Math.max(now, next.get(target) ?? 0)
    next.set(target, at + spacing)
    return at - now < 0.5 ? 0 : at - now
  }
  return {
    reserve: (target) => reserveAt(target, Date.now()),
    throttle: (target) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const wait = reserveAt(target, now)
        return wait === 0 ? Effect.void : Effect.sleep(wait)
      }),
  }
}

/** No pacing (outside a run, in `recover`). */
export const unpaced: Pick<RunContext, "throttle" | "reserve"> = { throttle: () => Effect.void, reserve: () => 0 }

export { version }

export const correlationHeaders = (runId: string): Record<string, string> => ({
  "x-shiftup-run-id": runId,
  "user-agent": `shiftup/${version} (run ${runId})`,
})

export const RunContext = Context.Reference<RunContext>("shiftup/RunContext", {
  defaultValue: () => ({
    runId: "no-run",
    headers: correlationHeaders("no-run"),
    egress: makeEgress(defaultEgress),
    ...unpaced,
    store: makeStore(),
  }),
})
