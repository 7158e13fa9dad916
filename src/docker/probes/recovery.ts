/**
 * Time to recover: from the first disruption of a container target (a `die`, `kill`, `stop`,
 * `pause` or `oom` event) until every member that went down is up again (and healthy, when
 * asked), measured between the engine's own event timestamps.
 */
import { Duration, Effect } from "effect"
import * as Probe from "../../Probe.ts"
import { RunContext } from "../../RunContext.ts"
import { RecoveryNotObserved, type ShiftupError } from "../../ShiftupError.ts"
import { DockerEngine } from "../internal/client.ts"
import { engineError } from "../internal/errors.ts"
import { failedWith, observed } from "../internal/observe.ts"
import type { Container, DockerEvent } from "../model.ts"
import { EngineCallError } from "../internal/call-error.ts"
import type { ContainerTarget } from "../targets.ts"
import type { ProbeOptions } from "./state.ts"

const iso = (ms: number) => new Date(ms).toISOString()

export interface RecoveryOptions extends ProbeOptions {
  /**
   * The deadline: recovery must complete within this long after the disruption began (and,
   * when the probe starts before the disruption, the disruption must begin within this long
   * after the probe started).
   */
  readonly within: Duration.Input
  /** Recovered only once every disrupted member also reports `health_status: healthy` (after its start/unpause). */
  readonly healthy?: boolean
  /**
   * Count disruptions from: `"run"` (default) the start of the current run, so a
   * fault earlier in the method is seen; `"probe"` the moment the probe starts (start it before
   * the disruption); or a moment. Outside a run, `"run"` means `"probe"`.
   * The engine replays past events from a bounded buffer (the last 256 or so of the engine).
   */
  readonly since?: "run" | "probe" | Date
}

/** One engine event of a member, as the probe saw it. */
export interface SeenEvent {
  readonly container: string
  readonly action: string
  /** ISO time, to the millisecond. */
  readonly at: string
  /** Nanoseconds since the epoch, as the engine stamped it (a decimal string: JSON has no bigint). */
  readonly timeNano: string
}

export interface Recovery {
  /** Milliseconds from the first disruption event to the event that completed the recovery (engine timestamps, µs precision). */
  readonly ms: number
  /** The first `die`/`kill`/`stop`/`pause`/`oom` event since `since`. */
  readonly down: SeenEvent
  /** The `start`/`restart`/`unpause` (or `health_status: healthy`) event after which every disrupted member was up. */
  readonly up: SeenEvent
  /** Every member that went down in the episode, by name: milliseconds until it was up (and healthy) again. */
  readonly members: Readonly<Record<string, number>>
}

const downActions = new Set(["die", "kill", "stop", "pause", "oom"])

interface MemberTrack {
  readonly name: string
  dead: boolean
  paused: boolean
  health: string
  downAt: bigint | undefined
  upAt: bigint | undefined
  removed: boolean
  last: string
}

const unreachableCodes = new Set(["ECONNREFUSED", "ENOENT", "EACCES", "ECONNRESET", "EHOSTUNREACH", "ETIMEDOUT", "EPIPE"])

const callErrorOf = (e: unknown): EngineCallError => {
  const err = e as { statusCode?: number; code?: string; message?: string }
  const detail = err.message ?? String(e)
  if (typeof err.statusCode === "number") return new EngineCallError({ op: "events", status: err.statusCode, detail, unreachable: false, cause: e })
  return new EngineCallError({ op: "events", detail, unreachable: err.code !== undefined && unreachableCodes.has(err.code), cause: e })
}

/** `late`: it went down and did not come back in time (a finding), rather than nothing to observe. */
type Watched = { readonly _tag: "recovered"; readonly recovery: Recovery } | { readonly _tag: "failed"; readonly detail: string; readonly late?: true }

const seen = (name: string, e: DockerEvent): SeenEvent => ({ container: name, action: e.action, at: iso(Number(e.timeNano / 1_000_000n)), timeNano: String(e.timeNano) })

const ms = (from: bigint, to: bigint) => Math.round(Number(to - from) / 1000) / 1000

const downDetail = (t: MemberTrack, healthy: boolean) =>
  t.removed ? `${t.name} was removed` : t.dead ? `${t.name} is down (${t.last})` : t.paused ? `${t.name} is paused` : healthy && t.health !== "healthy" ? `${t.name} is ${t.health === "starting" ? "started but not healthy yet" : `${t.health}`}` : `${t.name} is up`

/** Follows the members' events from `fromNs` until the first disruption has been recovered from, or a deadline passes. */
const watch = async (
  engine: DockerEngine,
  list: ReadonlyArray<Container>,
  o: { readonly fromMs: number; readonly startedMs: number; readonly withinMs: number; readonly healthy: boolean; readonly targetId: string },
  outer: AbortSignal,
): Promise<Watched> => {
  const tracks = new Map<string, MemberTrack>(list.map((c) => [c.id, { name: c.name, dead: false, paused: false, health: c.state.health, downAt: undefined, upAt: undefined, removed: false, last: "" }]))
  const names = list.map((c) => c.name).join(", ")
  const fromNs = BigInt(o.fromMs) * 1_000_000n
  const controller = new AbortController()
  const abort = () => controller.abort()
  outer.addEventListener("abort", abort, { once: true })
  // Events arrive some 30–40 ms after they are stamped: the stream is followed a little past a
  // deadline, and whether the recovery made it is decided on the engine's timestamps.
  const grace = 250
  let timer = setTimeout(abort, Math.max(0, o.startedMs + o.withinMs - Date.now()) + grace)
  let down: SeenEvent | undefined
  let downNs = 0n
  const isUp = (t: MemberTrack) => !t.removed && !t.dead && !t.paused && (!o.healthy || t.health === "healthy")
  try {
    for await (const e of engine.events({ containers: list.map((c) => c.id), sinceS: o.fromMs / 1000 }, controller.signal)) {
      const t = tracks.get(e.id)
      if (e.type !== "container" || t === undefined || e.timeNano < fromNs) continue
      const action = e.action
      if (action.startsWith("exec_")) continue
      if (action === "pause") t.paused = true
      else if (action === "unpause") t.paused = false
      else if (action === "die" || action === "kill" || action === "stop" || action === "oom") t.dead = true
      else if (action === "start" || action === "restart") {
        t.dead = false
        // The engine resets the health of a (re)started container to `starting`, without an event.
        if (t.health !== "none") t.health = "starting"
      } else if (action.startsWith("health_status: ")) t.health = action.slice("health_status: ".length)
      else if (action === "destroy") t.removed = true
      t.last = action === "die" && e.attributes["exitCode"] !== undefined ? `die, exit code ${e.attributes["exitCode"]}` : action
      if (down === undefined) {
        if (!downActions.has(action)) continue
        if (e.timeNano > BigInt(o.startedMs + o.withinMs) * 1_000_000n) break
        down = seen(t.name, e)
        downNs = e.timeNano
        // From now on the deadline counts from the disruption.
        clearTimeout(timer)
        timer = setTimeout(abort, Math.max(0, Number(downNs / 1_000_000n) + o.withinMs - Date.now()) + grace)
      }
      if (downActions.has(action) && t.downAt === undefined) t.downAt = e.timeNano
      if (t.removed) return { _tag: "failed", late: true, detail: `"${o.targetId}" went down at ${down.at} (${down.container}: ${down.action}) and cannot recover: ${t.name} was removed` }
      if (t.downAt !== undefined) {
        if (!isUp(t)) t.upAt = undefined
        else if (t.upAt === undefined) t.upAt = e.timeNano
      }
      const affected = [...tracks.values()].filter((x) => x.downAt !== undefined)
      if (affected.every(isUp)) {
        const took = ms(downNs, e.timeNano)
        if (took > o.withinMs) return { _tag: "failed", late: true, detail: `did not recover within ${o.withinMs} ms: went down at ${down.at} (${down.container}: ${down.action}) and was back only after ${took} ms (${t.name}: ${action} at ${seen(t.name, e).at})` }
        return {
          _tag: "recovered",
          recovery: { ms: took, down, up: seen(t.name, e), members: Object.fromEntries(affected.map((x) => [x.name, ms(x.downAt ?? downNs, x.upAt ?? e.timeNano)])) },
        }
      }
    }
  } finally {
    clearTimeout(timer)
    outer.removeEventListener("abort", abort)
    controller.abort()
  }
  if (outer.aborted) return { _tag: "failed", detail: "interrupted" }
  if (down === undefined) return { _tag: "failed", detail: `no disruption (die, kill, stop, pause) of ${names} since ${iso(o.fromMs)} within ${o.withinMs} ms` }
  const elapsed = Date.now() - Number(downNs / 1_000_000n)
  const still = [...tracks.values()].filter((x) => x.downAt !== undefined && !isUp(x))
  return {
    _tag: "failed",
    late: true,
    detail: `did not recover within ${o.withinMs} ms: went down at ${down.at} (${down.container}: ${down.action}); after ${elapsed} ms ${still.map((x) => downDetail(x, o.healthy)).join(", ") || "the event stream ended"}`,
  }
}

/**
 * Recovery from the first disruption: a `die`, `kill`, `stop` or `pause` (or `oom`) event of a
 * member since `since`, until every member that went down has a `start`/`restart`/`unpause`
 * again — and, with `healthy`, a `health_status: healthy` after it. Measured between the
 * engine's own event timestamps, so the probe's polling or scheduling adds nothing. The probe
 * waits for the recovery; when it does not happen within `within` after the disruption, it
 * fails with `ProbeFailed` saying when the target went down and what is still down.
 *
 * Use `timeToRecover` for the milliseconds; this form keeps the events for the journal.
 */
export const recovery = (target: ContainerTarget, options: RecoveryOptions): Probe.Probe<Recovery> => {
  const id = options.id ?? `${target.id} recovery${options.healthy === true ? " (healthy)" : ""}`
  return Probe.make({ id, title: options.id ?? recoveryTitle(target, options), target, observe: observeRecovery(target, options, id) })
}

const recoveryTitle = (target: ContainerTarget, options: RecoveryOptions) =>
  `time for ${target.id} to recover${options.healthy === true ? " healthy" : ""} (within ${Duration.format(Duration.fromInputUnsafe(options.within))})`

const observeRecovery = (target: ContainerTarget, options: RecoveryOptions, id: string): Effect.Effect<Recovery, ShiftupError> => {
  const withinMs = Duration.toMillis(Duration.fromInputUnsafe(options.within))
  const healthy = options.healthy === true
  const probeFailed = failedWith(id, target.id)
  return Effect.gen(function* () {
    const startedMs = Date.now()
    const since = options.since ?? "run"
    const fromMs = since instanceof Date ? since.getTime() : since === "probe" ? startedMs : ((yield* RunContext).startedAt ?? startedMs)
    const engine = yield* DockerEngine
    const list = yield* observed(target, id)
    if (healthy) {
      const without = list.filter((c) => c.state.health === "none")
      if (without.length > 0) return yield* Effect.fail(probeFailed(`${without.map((c) => c.name).join(", ")} has no HEALTHCHECK, so it can never report healthy; drop \`healthy: true\``))
    }
    const watched = yield* Effect.tryPromise({
      try: (signal) => watch(engine, list, { fromMs, startedMs, withinMs, healthy, targetId: target.id }, signal),
      catch: (e) => engineError(engine.address, callErrorOf(e), probeFailed),
    })
    // Not recovering is the system's answer (a finding), not a failure to observe.
    if (watched._tag === "failed" && watched.late === true) return yield* Effect.fail(new RecoveryNotObserved({ check: id, withinMs, last: watched.detail }))
    if (watched._tag === "failed") return yield* Effect.fail(probeFailed(watched.detail))
    return watched.recovery
  })
}

/**
 * Time-to-recover in milliseconds: from the first disruption event of the target (`die`, `kill`,
 * `stop`, `pause`) to its `start`/`unpause` — with `healthy`, to its `health_status: healthy` —
 * measured between the engine's event timestamps. When the target does not recover within
 * `within` it fails with `RecoveryNotObserved`, which the runner records as a violated check (a
 * finding, exit 1) with the measured detail; it fails with `ProbeFailed` (the run aborts) when it
 * cannot observe at all, e.g. no disruption happened.
 *
 * Put it after the fault: by default it counts disruptions since the run began, so it sees a
 * crash that happened before it started observing.
 *
 * @example
 * // auth runs with restart policy "always"; crash() SIGKILLs its process from the host
 * method: [
 *   crash(auth),
 *   Expect.that(Docker.timeToRecover(auth, { within: "20 seconds", healthy: true }), Expect.range(0, 10_000)),
 * ]
 */
export const timeToRecover = (target: ContainerTarget, options: RecoveryOptions): Probe.Probe<number> => {
  const id = options.id ?? `${target.id} time to recover${options.healthy === true ? " (healthy)" : ""}`
  return Probe.make({ id, title: options.id ?? recoveryTitle(target, options), target, observe: Effect.map(observeRecovery(target, options, id), (r) => r.ms) })
}
