/**
 * The reaper (invariant 5): every object shiftup creates on an engine carries a `shiftup.run`
 * label; `reap` removes what is left of runs that are over — containers first (with their
 * anonymous volumes), then networks and images. It removes only the runs it is given (`runIds`),
 * or with `all` every labelled object on the engine; a run whose runner is still alive is left
 * alone unless `force` is given.
 */
import { Effect } from "effect"
import { TargetUnresolved, type ShiftupError } from "../ShiftupError.ts"
import { DockerEngine } from "./internal/client.ts"
import { engineError } from "./internal/errors.ts"
import type { EngineCallError } from "./internal/call-error.ts"

/** The label every object shiftup creates carries; its value is the run id. */
export const runLabel = "shiftup.run"

export interface ReapOptions {
  /** Only these runs' objects; default every labelled object (other runs, other projects too). */
  readonly runIds?: ReadonlyArray<string>
  /** Runs whose runner is alive: their objects are kept unless `force`. */
  readonly liveRuns?: ReadonlyArray<string>
  readonly force?: boolean
}

export interface Reaped {
  readonly kind: "container" | "network" | "image"
  readonly id: string
  readonly name: string
  readonly runId: string
  readonly outcome: "removed" | "kept (run still alive)" | "failed"
  readonly error?: string
}

/**
 * Removes labelled leftovers; resolves with what it did to each object.
 *
 * @example
 * const report = await Effect.runPromise(Docker.reap({ runIds: ["20261127T065138-df11b3"] }))
 */
export const reap = (options: ReapOptions = {}): Effect.Effect<ReadonlyArray<Reaped>, ShiftupError> =>
  Effect.gen(function* () {
    const engine = yield* DockerEngine
    const only = options.runIds === undefined ? undefined : new Set(options.runIds)
    const selector = only !== undefined && only.size === 1 ? [`${runLabel}=${[...only][0]}`] : [runLabel]
    const mine = <A extends { readonly labels: Readonly<Record<string, string>> }>(items: ReadonlyArray<A>) => (only === undefined ? items : items.filter((i) => only.has(i.labels[runLabel] ?? "")))
    const unreachable = (detail: string, cause: unknown) => new TargetUnresolved({ target: "docker engine", detail, cause })
    const live = new Set(options.liveRuns ?? [])
    const keep = (runId: string) => options.force !== true && live.has(runId)
    const out: Array<Reaped> = []
    const removeAll = <A extends { readonly id: string; readonly name: string; readonly labels: Readonly<Record<string, string>> }>(kind: Reaped["kind"], items: ReadonlyArray<A>, remove: (id: string) => Effect.Effect<void, unknown>) =>
      Effect.forEach(
        items,
        (item) => {
          const runId = item.labels[runLabel] ?? "?"
          if (keep(runId)) return Effect.sync(() => void out.push({ kind, id: item.id, name: item.name, runId, outcome: "kept (run still alive)" }))
          return remove(item.id).pipe(
            Effect.match({
              onSuccess: () => void out.push({ kind, id: item.id, name: item.name, runId, outcome: "removed" }),
              onFailure: (e) => void out.push({ kind, id: item.id, name: item.name, runId, outcome: "failed", error: typeof e === "object" && e !== null && "detail" in e ? String(e.detail) : String(e) }),
            }),
          )
        },
        { concurrency: 16, discard: true },
      )
    const mapped = <A>(e: Effect.Effect<A, EngineCallError>) => e.pipe(Effect.mapError((x) => engineError(engine.address, x, unreachable)))
    if (only !== undefined && only.size === 0) return out
    const containers = mine(yield* mapped(engine.list({ all: true, labels: selector })))
    yield* removeAll("container", containers, engine.remove)
    const networks = mine(yield* mapped(engine.networks(selector)))
    yield* removeAll("network", networks, engine.removeNetwork)
    const images = mine(yield* mapped(engine.images(selector)))
    yield* removeAll("image", images.map((i) => ({ ...i, name: i.tags[0] ?? i.id.slice(7, 19) })), engine.removeImage)
    return out
  })
