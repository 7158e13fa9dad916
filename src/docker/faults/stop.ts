/**
 * Stop, kill and restart: the target's running containers go down through the engine's API.
 * Their compensation, `docker.start`, starts again each member that was running (and pauses
 * again the ones that were paused), once a stop the engine may still be carrying out has landed.
 */
import { Effect, Schema } from "effect"
import type { Refusal } from "../../Fault.ts"
import * as DockerFault from "../internal/fault.ts"
import type { FaultOptions } from "../internal/fault.ts"
import { awaitExit, pendingStop } from "../internal/inflight.ts"
import { ContainerId, declare, EpochMs, SettleMs } from "../internal/kind.ts"
import type { Container, DockerEngine } from "../model.ts"
import type { ContainerTarget } from "../targets.ts"

/** Beyond a stop's own timeout: the SIGKILL, the exit, and the engine's bookkeeping (measured well under 1 s). */
export const stopMarginMs = 2000

/** Docker's default stop timeout. */
const defaultStopS = 10

/** The longest settle a record may ask for (its schema's bound). */
const maxSettleMs = 10 * 60_000

interface Timing {
  readonly capturedAt?: number
  readonly settleMs?: number
}

const windowOf = (r: Timing) => r.settleMs ?? defaultStopS * 1000 + stopMarginMs

/**
 * Lets a stop, restart or kill that the engine began since the capture land first (see
 * `inflight.ts`): starting the container while the engine still stops it would be undone by the stop.
 */
const settle = (engine: DockerEngine, id: string, r: Timing) =>
  Effect.gen(function* () {
    const windowMs = windowOf(r)
    const since = r.capturedAt ?? Date.now() - windowMs
    const began = yield* pendingStop(engine, id, since, windowMs)
    if (began !== undefined) yield* awaitExit(engine, id, began, began + windowMs)
  })

/**
 * `containers` were running before the fault: once a stop or restart still in flight has
 * landed, start each that is not running now (a restart policy may have brought it back
 * already), and pause again each of `paused` that is not.
 */
export const Start = declare({
  kind: "docker.start",
  fields: { paused: Schema.Array(ContainerId), capturedAt: Schema.optionalKey(EpochMs), settleMs: Schema.optionalKey(SettleMs) },
  undo: (r, engine) => {
    const paused = new Set(r.paused)
    return DockerFault.eachOf(r.containers, (id) =>
      DockerFault.gone(
        Effect.gen(function* () {
          yield* settle(engine, id, r)
          const now = yield* engine.inspect(id)
          if (!now.state.running) yield* engine.start(id)
          if (paused.has(id) && !(now.state.running && now.state.paused)) yield* engine.pause(id)
        }),
      ),
    )
  },
  verify: (r, engine) => {
    const paused = new Set(r.paused)
    const windowMs = windowOf(r)
    return DockerFault.differences(r.containers, (id) =>
      Effect.gen(function* () {
        const now = yield* DockerFault.current(engine, id)
        // Removed since: not something a start can bring back, and not what this fault did.
        if (now === undefined) return undefined
        const began = yield* pendingStop(engine, id, r.capturedAt ?? Date.now() - windowMs, windowMs)
        if (began !== undefined) return `${now.name}: a stop or kill the engine began at ${new Date(began).toISOString()} has not ended yet`
        if (!now.state.running) return `${now.name} is ${now.state.status}, was running`
        if (paused.has(id) && !now.state.paused) return `${now.name} is not paused, was paused`
        return undefined
      }),
    )
  },
  // Docker's default stop timeout and the margin; a stop with a longer timeout records its own `settleMs`.
  settleMs: defaultStopS * 1000 + stopMarginMs,
})

/**
 * What a stop, kill or restart must bring back: the running members, and which of them were
 * paused; when it was captured, and how long the engine may take to finish the change
 * (`waitsS`: the stop's timeout), so recovery lets a change still in flight land first.
 */
const runningState = (list: ReadonlyArray<Container>, verb: (names: string) => string, waitsS: number) => {
  const running = list.filter((c) => c.state.running)
  const paused = running.filter((c) => c.state.paused)
  const description = running.length === 0 ? "nothing to start (no member was running)" : `${verb(DockerFault.names(running))}${paused.length === 0 ? "" : `, then pause ${DockerFault.names(paused)} again`}`
  return Effect.succeed({
    record: { description, containers: running.map((c) => c.id), paused: paused.map((c) => c.id), capturedAt: Date.now(), settleMs: Math.min(Math.round(waitsS * 1000) + stopMarginMs, maxSettleMs) },
  })
}

/** Refuses members the engine removes once they exit (`--rm`): no rollback could start them again. */
export const removedOnExit =
  (what: string) =>
  (list: ReadonlyArray<Container>): Effect.Effect<ReadonlyArray<Refusal>> =>
    Effect.succeed(
      list
        .filter((c) => c.autoRemove && c.state.running)
        .map((c) => ({ rule: "docker.auto-remove", detail: `container ${c.name} was started with --rm (AutoRemove): ${what} removes it, and no rollback can bring it back; target a container started without --rm` })),
    )

export interface StopOptions extends FaultOptions {
  /** Seconds between SIGTERM and SIGKILL; default 10 (Docker's). */
  readonly timeoutS?: number
}

/**
 * Stops the target's running containers (SIGTERM, then SIGKILL after `timeoutS`). Rollback
 * starts again each one that was running (and pauses again the ones that were paused).
 *
 * @example
 * Docker.stop(auth, { timeoutS: 2 })
 */
export const stop = (target: ContainerTarget, options: StopOptions = {}) =>
  DockerFault.make({
    id: options.id ?? `stop ${target.id}`,
    title: `stop ${target.id}`,
    target,
    kind: Start,
    preflight: removedOnExit("a stop"),
    capture: (list) => runningState(list, (n) => `start ${n} again (was running)`, options.timeoutS ?? defaultStopS),
    inject: (list, engine) => DockerFault.eachOf(list, (c) => (c.state.running ? engine.stop(c.id, options.timeoutS) : Effect.void)),
  })

export interface KillOptions extends FaultOptions {
  /** Default `SIGKILL`. A signal the process survives leaves it running; rollback then has nothing to do. */
  readonly signal?: string
}

/**
 * Sends a signal to the main process of the target's running containers. Rollback starts each
 * one that was running and is not running at replay time (a restart policy may have restarted it).
 *
 * @example
 * Docker.kill(auth) // SIGKILL
 * Docker.kill(auth, { signal: "SIGTERM" })
 */
export const kill = (target: ContainerTarget, options: KillOptions = {}) => {
  const signal = options.signal ?? "SIGKILL"
  return DockerFault.make({
    id: options.id ?? `kill ${target.id}`,
    title: `kill ${target.id} (${signal})`,
    target,
    kind: Start,
    preflight: removedOnExit(`a ${signal}`),
    capture: (list) => runningState(list, (n) => `start ${n} again if not running (was running)`, 0),
    inject: (list, engine) => DockerFault.eachOf(list, (c) => (c.state.running ? engine.kill(c.id, signal) : Effect.void)),
  })
}

/**
 * Restarts the target's running containers. A restart cannot be undone; rollback ensures each
 * one is running (a restart that failed half-way leaves it stopped), and paused again if it was.
 *
 * @example
 * Docker.restart(auth, { timeoutS: 1 })
 */
export const restart = (target: ContainerTarget, options: StopOptions = {}) =>
  DockerFault.make({
    id: options.id ?? `restart ${target.id}`,
    title: `restart ${target.id}`,
    target,
    kind: Start,
    capture: (list) => runningState(list, (n) => `ensure ${n} running (a restart cannot be undone)`, options.timeoutS ?? defaultStopS),
    // Only running members: restarting a stopped one would start it, which rollback would not undo.
    inject: (list, engine) => DockerFault.eachOf(list, (c) => (c.state.running ? engine.restart(c.id, options.timeoutS) : Effect.void)),
  })
