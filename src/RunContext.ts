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
 * A probe budget several runs share — a watcher's jobs: at most `burst` probes in any
 * `burst / perSecond` seconds, all runs together (a token bucket), and at least
 * `perKeyMs` between two probes under one key (a host), whichever run sends them. A run takes a
 * slot from it through its own pacer (`pacer(…, shared)`), so one reservation honours both.
 * Slots are booked in time order of their use, not of their request: a probe that must wait
 * for its host's interval does not hold up probes to other hosts.
 */
export interface ProbeBudget {
  /** Books the earliest time ≥ `earliest` (epoch ms) that both limits allow for a probe under `key`, and returns it. */
  readonly book: (key: string, earliest: number) => number
  /** Probes booked so far. */
  readonly booked: () => number
}

export interface ProbeBudgetOptions {
  readonly perSecond: number
  /** Default 1: evenly spaced. */
  readonly burst?: number
  /** Default 0: no pacing per key. */
  readonly perKeyMs?: number
}

export const probeBudget = (options: ProbeBudgetOptions): ProbeBudget => {
  const burst = Math.max(1, Math.floor(options.burst ?? 1))
  const window = (burst * 1000) / options.perSecond
  const perKey = options.perKeyMs ?? 0
  let slots: Array<number> = []
  let count = 0
  const byKey = new Map<string, Array<number>>()
  // `booked` sorted; `t` fits when no `n + 1` consecutive bookings (t among them) span less than `span`
  // (to 10 µs: epoch milliseconds plus a fraction lose bits).
  const fits = (booked: ReadonlyArray<number>, t: number, n: number, span: number) => {
    const arr = [...booked]
    let i = arr.findIndex((s) => s > t)
    if (i < 0) i = arr.length
    arr.splice(i, 0, t)
    for (let j = Math.max(0, i - n); j <= i && j + n < arr.length; j++) if ((arr[j + n] as number) - (arr[j] as number) < span - 0.01) return false
    return true
  }
  const insert = (booked: Array<number>, t: number) => {
    const i = booked.findIndex((s) => s > t)
    booked.splice(i < 0 ? booked.length : i, 0, t)
  }
  return {
    booked: () => count,
    book: (key, earliest) => {
      count++
      const now = Date.now()
      slots = slots.filter((s) => s > Math.min(now, earliest) - window)
      let mine = byKey.get(key)?.filter((s) => s > Math.min(now, earliest) - perKey) ?? []
      // The earliest time is `earliest` or one window after a booking: the first that fits both.
      const candidates = [earliest, ...slots.map((s) => s + window), ...(perKey > 0 ? mine.map((s) => s + perKey) : [])].filter((t) => t >= earliest).sort((a, b) => a - b)
      const at = candidates.find((t) => fits(slots, t, burst, window) && (perKey === 0 || fits(mine, t, 1, perKey))) as number
      insert(slots, at)
      if (perKey > 0) {
        mine = [...mine]
        insert(mine, at)
        byKey.set(key, mine)
        // A long-running watcher meets many hosts: forget those whose last probe is past its interval.
        if (byKey.size > 1024) for (const [k, list] of byKey) if ((list.at(-1) ?? 0) <= now - perKey) byKey.delete(k)
      }
      return at
    },
  }
}

/** A shared budget as one run uses it: the budget, and the key each of its targets is paced under there (its host). */
export interface SharedPacing {
  readonly budget: ProbeBudget
  readonly keyOf: (target: string) => string
}

/**
 * Per-target spacing of probes: `perSecond` for every target, or a rate per target (`Infinity`:
 * none) — `throttle` and `reserve` of a run; with `shared`, every slot is also booked in a
 * budget other runs draw from (the later of the two times wins).
 */
export const pacer = (perSecond: number | ((target: string) => number), shared?: SharedPacing): Pick<RunContext, "throttle" | "reserve"> => {
  const rateOf = typeof perSecond === "number" ? () => perSecond : perSecond
  if (typeof perSecond === "number" && !(perSecond < Infinity) && shared === undefined) return unpaced
  const next = new Map<string, number>()
  const spacings = new Map<string, number>()
  // Epoch milliseconds: Effect's clock for `throttle` (virtual in tests), the same wall clock for `reserve`.
  const reserveAt = (target: string, now: number) => {
    let spacing = spacings.get(target)
    if (spacing === undefined) {
      const rate = rateOf(target)
      spacings.set(target, (spacing = rate < Infinity ? 1000 / rate : 0))
    }
    if (spacing === 0 && shared === undefined) return 0
    let at = Math.max(now, next.get(target) ?? 0)
    if (shared !== undefined) at = shared.budget.book(shared.keyOf(target), at)
    if (spacing > 0) next.set(target, at + spacing)
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
