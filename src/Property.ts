/**
 * Property-based chaos: instead of the one failure a person wrote down, fast-check generates
 * fault *schedules* — which faults from a catalogue, when each starts, how long it lasts, so which
 * overlap and which ends first — and runs each as a real shiftup run (plan → ledger → inject →
 * invariants → rollback) under the budget and the floor. When an invariant breaks, fast-check
 * shrinks the schedule (fewer faults, earlier, shorter), each shrink step a real run, down to the
 * smallest schedule that still breaks it, with the seed and path that replay it.
 *
 * The steady state (`hypothesis`) is checked before and after every schedule: a system that is
 * not back to its baseline stops the property with that as the finding, never as a false
 * counterexample. fast-check is loaded when a property is checked, not when it is defined.
 */
import { Clock, type Duration } from "effect"
import type * as FC from "fast-check"
import type { Budget } from "./Budget.ts"
import { isCheck, type Check } from "./Expect.ts"
import * as Experiment from "./Experiment.ts"
import { isFault, safetyRank, type Fault } from "./Fault.ts"
import type * as Journal from "./Journal.ts"
import { millisOf, showDuration } from "./internal/validate.ts"
import type { PolicySettings } from "./Policy.ts"
import type { Resource } from "./Resource.ts"
import * as Runner from "./Runner.ts"
import { fail, InvalidExperiment, type Issue } from "./ShiftupError.ts"
import type { Target } from "./Target.ts"

export const PropertyTypeId: unique symbol = Symbol.for("shiftup/Property") as never

/** One fault of a schedule: its catalogue name, when it starts and how long it lasts (ms from the method's start). */
export interface Scheduled {
  readonly fault: string
  readonly startMs: number
  readonly durationMs: number
}

export type Schedule = ReadonlyArray<Scheduled>

export interface ScheduleBounds {
  /** Most faults in one schedule (each catalogue fault at most once). Default 3. */
  readonly maxFaults?: number
  /** Starts and ends fall within this window from the method's start. Default 1 second. */
  readonly window?: Duration.Input
  /** The time grid: starts and durations are whole ticks, invariants are sampled every tick. Default 100 ms. */
  readonly tick?: Duration.Input
  /** Most faults active at once. Default `maxFaults`. */
  readonly maxOverlap?: number
}

export interface Definition {
  readonly id: string
  readonly title: string
  readonly description?: string
  readonly tags?: ReadonlyArray<string>
  readonly targets: Readonly<Record<string, Target>>
  /** The catalogue, by name: any shiftup faults, across adapters. */
  readonly faults: Readonly<Record<string, Fault>>
  /** What must hold while any schedule runs: checked after every start and end, and every tick between. */
  readonly invariants: ReadonlyArray<Check<any>>
  /** The baseline: checked before each schedule and again after its rollback. */
  readonly hypothesis?: ReadonlyArray<Check<any>>
  /** Checks after each schedule's rollback, e.g. "admins get in again within 5 s". A failure is a counterexample. */
  readonly recovery?: ReadonlyArray<Check<any>>
  readonly schedule?: ScheduleBounds
  /** Schedules to try before the property passes (shrink runs not counted). Default 50. */
  readonly runs?: number
  /** Wall-clock cap of the whole property, shrinking included. Default 5 minutes. */
  readonly timeLimit?: Duration.Input
  /** The budget of each run; `maxConcurrentFaults` defaults to the schedule's `maxOverlap`. */
  readonly budget?: Budget
  readonly policy?: PolicySettings
  readonly resources?: Readonly<Record<string, Resource<any>>>
}

export interface Property {
  readonly [PropertyTypeId]: typeof PropertyTypeId
  readonly id: string
  readonly title: string
  readonly tags: ReadonlyArray<string>
  readonly definition: Definition
  readonly bounds: { readonly maxFaults: number; readonly windowMs: number; readonly tickMs: number; readonly maxOverlap: number }
  readonly runs: number
  readonly timeLimitMs: number
  /** The real experiment one schedule is run as. */
  readonly experimentOf: (schedule: Schedule) => Experiment.Experiment
}

export const isProperty = (u: unknown): u is Property => typeof u === "object" && u !== null && PropertyTypeId in u

const positiveInt = (path: string, v: number | undefined, issues: Array<Issue>) => {
  if (v !== undefined && !(Number.isInteger(v) && v > 0)) issues.push({ path, message: "must be a positive whole number" })
}

/** How many faults of `schedule` are active at once, at most. */
export const overlapOf = (schedule: Schedule): number => {
  const edges = schedule.flatMap((s) => [[s.startMs, 1] as const, [s.startMs + s.durationMs, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let now = 0
  let most = 0
  for (const [, d] of edges) most = Math.max(most, (now += d))
  return most
}

/** `auth-down@0+300ms, cache-down@100+500ms` */
export const show = (schedule: Schedule): string => (schedule.length === 0 ? "(no faults)" : schedule.map((s) => `${s.fault}@${s.startMs}+${s.durationMs}ms`).join(", "))

/** The method of one schedule: starts and ends in time order (an end before a start at the same instant), invariants after each and every tick between. */
const method = (def: Definition, tickMs: number, schedule: Schedule) =>
  function* (ctx: Experiment.Context) {
    const events = schedule
      .flatMap((s) => [
        { at: s.startMs, end: false, fault: def.faults[s.fault] as Fault },
        { at: s.startMs + s.durationMs, end: true, fault: def.faults[s.fault] as Fault },
      ])
      .sort((a, b) => a.at - b.at || Number(b.end) - Number(a.end))
    const holds = function* () {
      for (const inv of def.invariants) if (!(yield* ctx.check(inv))) return false
      return true
    }
    const t0 = yield* Clock.currentTimeMillis
    for (const e of events) {
      for (;;) {
        const left = e.at - ((yield* Clock.currentTimeMillis) - t0)
        if (left <= 0) break
        yield* ctx.wait(Math.min(left, tickMs))
        if (!(yield* holds())) return
      }
      yield* e.end ? ctx.remove(e.fault) : ctx.inject(e.fault)
      if (!(yield* holds())) return
    }
  }

/**
 * A property over fault schedules. Throws `InvalidExperiment` listing every problem (the
 * catalogue, the bounds, and everything `Experiment.gen` checks).
 *
 * @example
 * export default Property.make({
 *   id: "gateway.ordering", title: "The gateway fails closed whatever the order of outages",
 *   targets: { gateway, auth, cache },
 *   faults: { "auth-down": DemoLab.authFault("down"), "cache-down": DemoLab.serviceFault("cache") },
 *   invariants: [Expect.that(DemoLab.adminStatus("anonymous"), Expect.oneOf(401, 403, 503))],
 * })
 */
export const make = (def: Definition): Property => {
  const issues: Array<Issue> = []
  const names = Object.keys(def.faults ?? {})
  if (names.length === 0) issues.push({ path: "faults", message: "give the property a catalogue of at least one fault, by name" })
  for (const [name, f] of Object.entries(def.faults ?? {})) if (!isFault(f)) issues.push({ path: `faults.${name}`, message: "expected a Fault (Fault.make, Fault.httpSwitch, …)" })
  if (!Array.isArray(def.invariants) || def.invariants.length === 0) issues.push({ path: "invariants", message: "give at least one invariant (a check that must hold while faults run)" })
  else def.invariants.forEach((c, i) => isCheck(c) || issues.push({ path: `invariants[${i}]`, message: "expected a check (Expect.that, Expect.during, …)" }))
  const b = def.schedule ?? {}
  positiveInt("schedule.maxFaults", b.maxFaults, issues)
  positiveInt("schedule.maxOverlap", b.maxOverlap, issues)
  positiveInt("runs", def.runs, issues)
  const windowMs = b.window === undefined ? 1000 : millisOf(b.window)
  const tickMs = b.tick === undefined ? 100 : millisOf(b.tick)
  const timeLimitMs = def.timeLimit === undefined ? 5 * 60_000 : millisOf(def.timeLimit)
  if (!(tickMs > 0)) issues.push({ path: "schedule.tick", message: "must be a positive duration, e.g. \"100 millis\"" })
  if (!(windowMs >= tickMs)) issues.push({ path: "schedule.window", message: `must be a duration of at least one tick (${b.tick === undefined ? "100 millis" : showDuration(b.tick)})` })
  if (!(timeLimitMs > 0)) issues.push({ path: "timeLimit", message: "must be a positive duration, e.g. \"2 minutes\"" })
  const maxFaults = Math.min(b.maxFaults ?? 3, Math.max(1, names.length))
  const maxOverlap = Math.min(b.maxOverlap ?? maxFaults, maxFaults)
  // The manifest: each declared target may take the strongest class of the catalogue's faults on it.
  const mayInject: Record<string, "disrupt" | "destroy"> = {}
  for (const [name, f] of Object.entries(def.faults ?? {})) {
    if (!isFault(f)) continue
    const key = Object.entries(def.targets ?? {}).find(([, t]) => t === f.target || t.id === f.target.id)?.[0]
    if (key === undefined) {
      issues.push({ path: `faults.${name}`, message: `touches target "${f.target.id}", which is not declared in \`targets\`; add it there so the policy can check it` })
      continue
    }
    const was = mayInject[key]
    if (was === undefined || safetyRank[f.safety] > safetyRank[was]) mayInject[key] = f.safety
  }
  if (issues.length > 0) throw fail(new InvalidExperiment({ source: `"${def.id}" (property)`, issues }))

  const experimentOf = (schedule: Schedule): Experiment.Experiment =>
    Experiment.gen(
      {
        id: def.id,
        title: def.title,
        ...(def.description === undefined ? {} : { description: def.description }),
        tags: [...(def.tags ?? []), "property"],
        targets: def.targets,
        budget: { maxConcurrentFaults: maxOverlap, ...def.budget },
        ...(def.policy === undefined ? {} : { policy: def.policy }),
        ...(def.hypothesis === undefined ? {} : { hypothesis: def.hypothesis }),
        ...(def.recovery === undefined ? {} : { recovery: def.recovery }),
        ...(def.resources === undefined ? {} : { resources: def.resources }),
        mayInject,
      },
      method(def, tickMs, schedule),
    )
  // Everything Experiment.gen checks (undeclared targets, ids, options), once, now.
  experimentOf([])
  return { [PropertyTypeId]: PropertyTypeId, id: def.id, title: def.title, tags: def.tags ?? [], definition: def, bounds: { maxFaults, windowMs, tickMs, maxOverlap }, runs: def.runs ?? 50, timeLimitMs, experimentOf }
}

/** The schedules fast-check draws: unique faults, whole ticks inside the window, overlap bounded. */
export const schedules = (fc: Pick<typeof FC, "record" | "constantFrom" | "integer" | "uniqueArray">, p: Property): FC.Arbitrary<Schedule> => {
  const { maxFaults, windowMs, tickMs, maxOverlap } = p.bounds
  const ticks = Math.max(1, Math.floor(windowMs / tickMs))
  const names = Object.keys(p.definition.faults)
  const one = fc
    .record({ fault: fc.constantFrom(...names), start: fc.integer({ min: 0, max: ticks - 1 }), length: fc.integer({ min: 1, max: ticks }) })
    .map(({ fault, start, length }): Scheduled => ({ fault, startMs: start * tickMs, durationMs: Math.min(length, ticks - start) * tickMs }))
  return fc.uniqueArray(one, { selector: (s) => s.fault, minLength: 1, maxLength: maxFaults }).filter((s) => overlapOf(s) <= maxOverlap)
}

/** One real run of the property: the schedule, what it showed, and what fast-check was doing. */
export interface RunInfo {
  readonly n: number
  /** `search` until the first counterexample, then `shrink`. */
  readonly stage: "search" | "shrink" | "replay"
  readonly schedule: Schedule
  readonly status: Journal.Status
  readonly counterexample: boolean
  readonly durationMs: number
  readonly runId: string
}

export interface CheckOptions {
  /** Options of every run (state dir, config, signal…). */
  readonly run?: Runner.RunOptions
  /** Replays one schedule exactly: fast-check's seed and path of a counterexample. */
  readonly replay?: { readonly seed: number; readonly path: string }
  readonly seed?: number
  /** Overrides the property's own `runs` and `timeLimit`. */
  readonly runs?: number
  readonly timeLimit?: Duration.Input
  /** Called after every run: progress on long properties. */
  readonly onRun?: (info: RunInfo) => void
}

export interface Result {
  readonly id: string
  /**
   * `passed`: no schedule broke an invariant within the runs. `counterexample`: one did (the
   * minimal one is `minimal`). `stopped`: a run could not start from, or restore, the baseline —
   * or was refused, invalid or incomplete — and `stoppedBy` says which; nothing is concluded.
   */
  readonly status: "passed" | "counterexample" | "stopped"
  readonly runs: number
  readonly shrinkRuns: number
  readonly seed: number
  readonly durationMs: number
  /** The first failing schedule and the minimal one fast-check shrank it to. */
  readonly first?: Schedule
  readonly minimal?: Schedule
  /** fast-check's path to the minimal counterexample: `{ seed, path }` replays it. */
  readonly path?: string
  /** The journal of the minimal counterexample's run. */
  readonly journal?: Journal.Journal
  readonly stoppedBy?: { readonly schedule: Schedule; readonly journal: Journal.Journal; readonly reason: string }
  /** How often each fault, and each pair of faults active together, was exercised. */
  readonly coverage: { readonly faults: Readonly<Record<string, number>>; readonly pairs: Readonly<Record<string, number>> }
  /** The exact run's replay (`--replay <seed>:<path>`) when there is a counterexample. */
  readonly replay?: string
}

/** Why a journal ends the property without a verdict, or undefined when it is a verdict. */
const stopReason = (j: Journal.Journal): string | undefined => {
  if (j.status === "passed") return undefined
  if (j.status === "failed") {
    const lost = j.findings.filter((f) => f.phase === "before" || f.phase === "after")
    if (lost.length === 0) return undefined
    return `${lost[0]?.phase === "before" ? "the system was not at its baseline before the schedule" : "the system did not return to its baseline after the rollback"}: ${lost.map((f) => f.title).join("; ")}`
  }
  return `a run ended ${j.status}: ${j.summary}`
}

const pairsOf = (schedule: Schedule): ReadonlyArray<string> =>
  schedule.flatMap((a, i) => schedule.slice(i + 1).filter((b) => a.startMs < b.startMs + b.durationMs && b.startMs < a.startMs + a.durationMs).map((b) => [a.fault, b.fault].sort().join(" + ")))

/** Checks a property: real runs, shrinking on a counterexample. Never throws for a failed property; the result says. */
export const check = async (p: Property, options: CheckOptions = {}): Promise<Result> => {
  const fc = await import("fast-check")
  const started = Date.now()
  const faults: Record<string, number> = {}
  const pairs: Record<string, number> = {}
  let n = 0
  let firstAt = 0
  let first: Schedule | undefined
  let last: { schedule: Schedule; journal: Journal.Journal } | undefined
  let stopped: Result["stoppedBy"]
  const property = fc.asyncProperty(schedules(fc, p), async (schedule) => {
    if (stopped !== undefined) return true
    const t0 = Date.now()
    const journal = await Runner.runPromise(p.experimentOf(schedule), options.run)
    n++
    for (const s of schedule) faults[s.fault] = (faults[s.fault] ?? 0) + 1
    for (const pair of pairsOf(schedule)) pairs[pair] = (pairs[pair] ?? 0) + 1
    const reason = stopReason(journal)
    const counterexample = reason === undefined && journal.status === "failed"
    options.onRun?.({ n, stage: options.replay !== undefined ? "replay" : first === undefined ? "search" : "shrink", schedule, status: journal.status, counterexample, durationMs: Date.now() - t0, runId: journal.runId })
    if (reason !== undefined) {
      stopped = { schedule, journal, reason }
      return true
    }
    if (!counterexample) return true
    if (first === undefined) {
      first = schedule
      firstAt = n
    }
    last = { schedule, journal }
    return false
  })
  const limit = options.timeLimit === undefined ? p.timeLimitMs : millisOf(options.timeLimit)
  const details = await fc.check(property, {
    numRuns: options.runs ?? p.runs,
    interruptAfterTimeLimit: limit,
    markInterruptAsFailure: false,
    ...(options.replay === undefined ? (options.seed === undefined ? {} : { seed: options.seed }) : { seed: options.replay.seed, path: options.replay.path, endOnFailure: true }),
  })
  const common = { id: p.id, runs: n, shrinkRuns: first === undefined ? 0 : n - firstAt, seed: details.seed, durationMs: Date.now() - started, coverage: { faults, pairs } }
  if (stopped !== undefined) return { ...common, status: "stopped", stoppedBy: stopped }
  if (!details.failed || last === undefined) return { ...common, status: "passed" }
  const path = details.counterexamplePath ?? options.replay?.path
  return {
    ...common,
    status: "counterexample",
    ...(first === undefined ? {} : { first }),
    minimal: last.schedule,
    journal: last.journal,
    ...(path === null || path === undefined ? {} : { path, replay: `--replay ${details.seed}:${path}` }),
  }
}

/** Parses `<seed>:<path>` (a `--replay` value); undefined when it is not one. */
export const parseReplay = (s: string): { readonly seed: number; readonly path: string } | undefined => {
  const m = /^(-?\d+):(\d+(?::\d+)*)$/.exec(s.trim())
  return m === null ? undefined : { seed: Number(m[1]), path: m[2] as string }
}

/** Several lines a person reads: the verdict, the minimal schedule, the replay. */
export const describe = (r: Result, file?: string): string => {
  const cover = `coverage: ${Object.entries(r.coverage.faults).map(([f, k]) => `${f} ×${k}`).join(", ") || "none"}; pairs together: ${Object.keys(r.coverage.pairs).length}`
  if (r.status === "passed") return `property ${r.id}: passed — ${r.runs} schedule(s) in ${(r.durationMs / 1000).toFixed(1)} s (seed ${r.seed})\n  ${cover}\n`
  if (r.status === "stopped")
    return `property ${r.id}: STOPPED after ${r.runs} run(s) — ${r.stoppedBy?.reason}\n  schedule: ${show(r.stoppedBy?.schedule ?? [])} (run ${r.stoppedBy?.journal.runId})\n  nothing is concluded: restore the baseline and run it again\n`
  const findings = (r.journal?.findings ?? []).map((f) => `    ✗ [${f.severity}] ${f.title}: expected ${f.expected}, observed ${JSON.stringify(f.observed)}`).join("\n")
  return [
    `property ${r.id}: COUNTEREXAMPLE after ${r.runs} run(s) (${r.shrinkRuns} shrink run(s), ${(r.durationMs / 1000).toFixed(1)} s, seed ${r.seed})`,
    `  first failing: ${show(r.first ?? [])}`,
    `  minimal:       ${show(r.minimal ?? [])}  (run ${r.journal?.runId})`,
    findings,
    ...(r.replay === undefined ? [] : [`  replay: npx shiftup run ${file ?? "<file>"} ${r.replay}`]),
    `  ${cover}`,
    "",
  ].join("\n")
}
