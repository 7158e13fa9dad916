/**
 * Lifecycle faults: pause, stop, kill, crash, restart. Each is a core Fault whose compensation is
 * serialisable data recorded in the ledger before the change, and whose compensator is
 * idempotent (a second replay finds nothing to undo).
 */
import { Effect, Schema } from "effect"
import type { ContainerTarget } from "./Container.ts"
import type { Container, DockerEngine } from "./model.ts"
import * as DockerFault from "./internal/fault.ts"
import { differences, gone, ids } from "./internal/fault.ts"
import { awaitExit, pendingStop } from "./internal/inflight.ts"
import { processOf } from "./internal/netns.ts"
import * as Records from "./internal/records.ts"
import type { Refusal } from "../Fault.ts"
import { fail, InjectionFailed } from "../ShiftupError.ts"

/** Beyond a stop's own timeout: the SIGKILL, the exit, and the engine's bookkeeping (measured well under 1 s). */
const stopMarginMs = 2000

/** Docker's default stop timeout. */
const defaultStopS = 10

/** The container now, or `undefined` when it has been removed. */
const current = (engine: DockerEngine, id: string) => gone(engine.inspect(id).pipe(Effect.map((c): Container | undefined => c)))

/**
 * Lets a stop, restart or kill that the engine began since the capture land first (see
 * `inflight.ts`): starting the container while the engine still stops it would be undone by the stop.
 */
const settle = (engine: DockerEngine, id: string, c: Readonly<Record<string, unknown>>) =>
  Effect.gen(function* () {
    const windowMs = typeof c["settleMs"] === "number" ? c["settleMs"] : defaultStopS * 1000 + stopMarginMs
    const since = typeof c["capturedAt"] === "number" ? c["capturedAt"] : Date.now() - windowMs
    const began = yield* pendingStop(engine, id, since, windowMs)
    if (began !== undefined) yield* awaitExit(engine, id, began, began + windowMs)
  })

const specs: Readonly<Record<string, DockerFault.KindSpec>> = {
  "docker.unpause": {
    undo: (c, engine) =>
      DockerFault.eachOf(ids(c, "containers"), (id) =>
        // One call in the common case; when the engine refuses (already unpaused, say: it answers
        // 500 "is not paused"), the container's state decides whether anything is left to undo.
        engine.unpause(id).pipe(
          Effect.catch((refused) =>
            engine.inspect(id).pipe(
              Effect.flatMap((now) => (now.state.paused ? Effect.fail(refused) : Effect.void)),
              // A container removed since is not paused any more: nothing to undo.
              Effect.catchIf((e) => "status" in e && e.status === 404, () => Effect.void),
            ),
          ),
        ),
      ),
    verify: (c, engine) => differences(ids(c, "containers"), (id) => current(engine, id).pipe(Effect.map((now) => (now?.state.paused === true ? `${now.name} is still paused` : undefined)))),
    schema: Records.record("docker.unpause", {}),
    // A pause takes some 14 ms on the engine.
    settleMs: 2000,
  },
  /**
   * `containers` were running before the fault: once a stop or restart still in flight has
   * landed, start each that is not running now (a restart policy may have brought it back
   * already), and pause again each of `paused` that is not.
   */
  "docker.start": {
    undo: (c, engine) => {
      const paused = new Set(ids(c, "paused"))
      return DockerFault.eachOf(ids(c, "containers"), (id) =>
        gone(
          Effect.gen(function* () {
            yield* settle(engine, id, c)
            const now = yield* engine.inspect(id)
            if (!now.state.running) yield* engine.start(id)
            if (paused.has(id) && !(now.state.running && now.state.paused)) yield* engine.pause(id)
          }),
        ),
      )
    },
    verify: (c, engine) => {
      const paused = new Set(ids(c, "paused"))
      const windowMs = typeof c["settleMs"] === "number" ? c["settleMs"] : defaultStopS * 1000 + stopMarginMs
      return differences(ids(c, "containers"), (id) =>
        Effect.gen(function* () {
          const now = yield* current(engine, id)
          // Removed since: not something a start can bring back, and not what this fault did.
          if (now === undefined) return undefined
          const began = yield* pendingStop(engine, id, typeof c["capturedAt"] === "number" ? c["capturedAt"] : Date.now() - windowMs, windowMs)
          if (began !== undefined) return `${now.name}: a stop or kill the engine began at ${new Date(began).toISOString()} has not ended yet`
          if (!now.state.running) return `${now.name} is ${now.state.status}, was running`
          if (paused.has(id) && !now.state.paused) return `${now.name} is not paused, was paused`
          return undefined
        }),
      )
    },
    schema: Records.record("docker.start", { paused: Schema.Array(Records.ContainerId), capturedAt: Schema.optionalKey(Records.EpochMs), settleMs: Schema.optionalKey(Records.SettleMs) }),
    // Docker's default stop timeout and the margin; a stop with a longer timeout records its own `settleMs`.
    settleMs: defaultStopS * 1000 + stopMarginMs,
  },
}

/** Compensators of this module's faults, by kind. */
export const compensators = DockerFault.compensators(specs)

export interface FaultOptions {
  /** Step id; default `<kind> <target>`. */
  readonly id?: string
}

/**
 * Freezes every process of the target's containers (cgroup freezer): connections hang rather
 * than fail. Rollback unpauses them.
 *
 * @example
 * Docker.pause(auth)
 */
export const pause = (target: ContainerTarget, options: FaultOptions = {}) =>
  DockerFault.make({
    id: options.id ?? `pause ${target.id}`,
    title: `pause ${target.id}`,
    target,
    kind: "docker.unpause",
    // Only the members this fault pauses: one that was paused already stays paused after rollback.
    capture: (list) => {
      const running = list.filter((c) => !c.state.paused)
      return Effect.succeed({ description: running.length === 0 ? "nothing to unpause (every member was already paused)" : `unpause ${DockerFault.names(running)}`, containers: running.map((c) => c.id) })
    },
    inject: (list, engine) => DockerFault.eachOf(list, (c) => (c.state.paused ? Effect.void : engine.pause(c.id))),
    compensators,
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
  return { description, containers: running.map((c) => c.id), paused: paused.map((c) => c.id), capturedAt: Date.now(), settleMs: Math.min(Math.round(waitsS * 1000) + stopMarginMs, maxSettleMs) }
}

/** The longest settle a record may ask for (its schema's bound). */
const maxSettleMs = 10 * 60_000

/** Refuses members the engine removes once they exit (`--rm`): no rollback could start them again. */
const removedOnExit =
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
    kind: "docker.start",
    preflight: removedOnExit("a stop"),
    capture: (list) => Effect.succeed(runningState(list, (n) => `start ${n} again (was running)`, options.timeoutS ?? defaultStopS)),
    inject: (list, engine) => DockerFault.eachOf(list, (c) => (c.state.running ? engine.stop(c.id, options.timeoutS) : Effect.void)),
    compensators,
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
    kind: "docker.start",
    preflight: removedOnExit(`a ${signal}`),
    capture: (list) => Effect.succeed(runningState(list, (n) => `start ${n} again if not running (was running)`, 0)),
    inject: (list, engine) => DockerFault.eachOf(list, (c) => (c.state.running ? engine.kill(c.id, signal) : Effect.void)),
    compensators,
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
    kind: "docker.start",
    capture: (list) => Effect.succeed(runningState(list, (n) => `ensure ${n} running (a restart cannot be undone)`, options.timeoutS ?? defaultStopS)),
    // Only running members: restarting a stopped one would start it, which rollback would not undo.
    inject: (list, engine) => DockerFault.eachOf(list, (c) => (c.state.running ? engine.restart(c.id, options.timeoutS) : Effect.void)),
    compensators,
  })

/** Why `crash` cannot kill a container's process from here, or `undefined` when it can. */
const notLocal = (c: Container, owner: "container" | "gone" | "other") =>
  owner === "container"
    ? undefined
    : `process ${c.state.pid} on this machine is ${owner === "gone" ? "not there" : "not"} container ${c.name}'s: is the engine on another machine or in a VM? crash kills the container's process from the engine's own host`

/**
 * Crashes the target's running containers the way a segfault or the OOM killer does: SIGKILL to
 * each one's main process (`State.Pid`) from the host, not through the engine's API, so the
 * engine sees the process die on its own and applies the container's restart policy ("always",
 * "on-failure", "unless-stopped" restart it; "no" leaves it exited). Needs root on the engine's
 * own host: each pid is checked to belong to that container (its `/proc/<pid>/cgroup` names the
 * container id) when the compensation is captured (before anything changes; refused otherwise)
 * and again right before the kill, so a pid of an
 * engine on another machine, in a VM, or reused since, is never signalled. Paused members are
 * left alone (a frozen process would only die once thawed). Rollback (`docker.start`) starts each
 * one that was running and is not running at replay time (its restart policy may have done it).
 *
 * @example
 * Docker.crash(auth)
 * Expect.that(Docker.timeToRecover(auth, { within: "20 seconds", healthy: true }), Expect.range(0, 10_000))
 */
export const crash = (target: ContainerTarget, options: FaultOptions = {}) => {
  const id = options.id ?? `crash ${target.id}`
  const refuse = (detail: string) => Effect.fail(fail(new InjectionFailed({ fault: id, target: target.id, detail })))
  const live = (list: ReadonlyArray<Container>) => list.filter((c) => c.state.running && !c.state.paused && c.state.pid > 0)
  return DockerFault.make({
    id,
    title: `crash ${target.id} (SIGKILL to its process from the host)`,
    target,
    kind: "docker.start",
    preflight: removedOnExit("a crash"),
    capture: (list) =>
      Effect.gen(function* () {
        for (const c of live(list)) {
          const why = notLocal(c, yield* processOf(c.state.pid, c.id))
          if (why !== undefined) return yield* refuse(why)
        }
        const running = live(list)
        return {
          description: running.length === 0 ? "nothing to start (no member was running unpaused)" : `start ${DockerFault.names(running)} again if not running (was running; its restart policy may restart it first)`,
          containers: running.map((c) => c.id),
          paused: [],
          capturedAt: Date.now(),
          settleMs: stopMarginMs,
        }
      }),
    inject: (list, engine) =>
      DockerFault.eachOf(live(list), (planned) =>
        Effect.gen(function* () {
          // The pid as it is now: the container may have restarted since the plan.
          const c = yield* engine.inspect(planned.id)
          if (!c.state.running || c.state.paused || c.state.pid <= 0) return
          const owner = yield* processOf(c.state.pid, c.id)
          if (owner === "gone") return
          const why = notLocal(c, owner)
          if (why !== undefined) return yield* refuse(why)
          yield* Effect.try({
            try: () => process.kill(c.state.pid, "SIGKILL"),
            catch: (e) => (e as NodeJS.ErrnoException).code ?? String(e),
          }).pipe(
            Effect.catch((code) =>
              code === "ESRCH" ? Effect.void : refuse(code === "EPERM" ? `killing process ${c.state.pid} of ${c.name} needs root on the engine's host (EPERM)` : `kill ${c.state.pid} (${c.name}): ${code}`),
            ),
          )
        }),
      ),
    compensators,
  })
}

