/**
 * How every Docker fault is built: members resolved for the run, the compensation captured from
 * their current state (ledgered before anything changes), then the change, applied to all
 * members concurrently (bounded). Compensators find their engine by the address they recorded,
 * so `shiftup recover` in another process reaches the same engine.
 */
import { Effect, type Schema } from "effect"
import type * as Compensation from "../../Compensation.ts"
import * as Fault from "../../Fault.ts"
import { RunContext } from "../../RunContext.ts"
import { fail, InjectionFailed, isShiftupError, RollbackFailed, type ShiftupError, TargetUnresolved } from "../../ShiftupError.ts"
import { engineError, members, type ContainerTarget } from "../Container.ts"
import type { Container, EngineCallError } from "../model.ts"
import { at, DockerEngine } from "./client.ts"

/** Calls per fault in flight at once: fast for 50 containers, gentle on the engine. */
export const concurrency = 16

export type Json = Compensation.Json

/** A compensator body: undoes one compensation through `engine`; must be idempotent. */
export type Undo = (c: Compensation.Compensation, engine: DockerEngine) => Effect.Effect<void, EngineCallError | ShiftupError>

/** Reads the world after an undo: `undefined` when it is as captured, else one line saying what still differs. */
export type Check = (c: Compensation.Compensation, engine: DockerEngine) => Effect.Effect<string | undefined, EngineCallError | ShiftupError>

/** How one `docker.*` kind is replayed (see `Compensation.CompensatorSpec`). */
export interface KindSpec {
  readonly undo: Undo
  readonly verify: Check
  /** Decodes a ledger record of this kind (`records.ts`). */
  readonly schema: Schema.Top
  /** How long an injection of this kind that was in flight when its runner died may still take to land. */
  readonly settleMs: number
}

const engineFor = (address: string): Effect.Effect<DockerEngine> =>
  Effect.gen(function* () {
    const current = yield* DockerEngine
    return current.address === address ? current : at(address)
  })

/** Wraps kind specs as compensators: engine lookup by recorded address, errors as `RollbackFailed`. */
export const compensators = (specs: Readonly<Record<string, KindSpec>>): Compensation.Compensators =>
  Object.fromEntries(
    Object.entries(specs).map(([kind, spec]) => {
      const withEngine =
        <A>(body: (c: Compensation.Compensation, engine: DockerEngine) => Effect.Effect<A, EngineCallError | ShiftupError>) =>
        (c: Compensation.Compensation): Effect.Effect<A, ShiftupError> =>
          Effect.gen(function* () {
            const address = String(c["engine"])
            const engine = yield* engineFor(address)
            const rollback = (detail: string) => fail(new RollbackFailed({ fault: kind, target: String(c["target"] ?? "?"), detail }))
            return yield* body(c, engine).pipe(Effect.mapError((e) => (isShiftupError(e) ? e : engineError(address, e, rollback))))
          })
      const compensator: Compensation.CompensatorSpec = { apply: withEngine(spec.undo), verify: withEngine(spec.verify), schema: spec.schema, settleMs: spec.settleMs }
      return [kind, compensator]
    }),
  )

/** Every container of a compensation whose check says something still differs, joined; `undefined` when none does. */
export const differences = <A>(items: ReadonlyArray<A>, check: (a: A) => Effect.Effect<string | undefined, EngineCallError | ShiftupError>): Effect.Effect<string | undefined, EngineCallError | ShiftupError> =>
  Effect.forEach(items, check, { concurrency }).pipe(
    Effect.map((found) => {
      const left = found.filter((d): d is string => d !== undefined)
      return left.length === 0 ? undefined : left.join("; ")
    }),
  )

/** Runs `f` for every item, bounded, failing with every failure's detail joined. */
export const eachOf = <A>(items: ReadonlyArray<A>, f: (a: A) => Effect.Effect<void, EngineCallError | ShiftupError>): Effect.Effect<void, EngineCallError | ShiftupError> =>
  Effect.gen(function* () {
    const results = yield* Effect.forEach(items, (a) => Effect.result(f(a)), { concurrency })
    const failures = results.flatMap((r) => (r._tag === "Failure" ? [r.failure] : []))
    if (failures.length === 0) return
    if (failures.length === 1) return yield* Effect.fail(failures[0] as EngineCallError | ShiftupError)
    const detail = failures.map((e) => (isShiftupError(e) ? e.message : `${e.op}: ${e.detail}`)).join("; ")
    return yield* Effect.fail<EngineCallError>({ _tag: "EngineCallError", op: `${failures.length} of ${items.length} calls`, status: 500, detail, unreachable: failures.every((e) => !isShiftupError(e) && e.unreachable) })
  })

export interface DockerFaultOptions {
  readonly id: string
  readonly title: string
  readonly target: ContainerTarget
  readonly safety?: "disrupt" | "destroy"
  /** The compensation kind (`docker.unpause`…); its body is in `undo`. */
  readonly kind: string
  /** Reads what the compensation needs from the members, before anything changes. */
  readonly capture: (members: ReadonlyArray<Container>, engine: DockerEngine) => Effect.Effect<{ readonly description: string; readonly [field: string]: Json }, EngineCallError | ShiftupError>
  readonly inject: (members: ReadonlyArray<Container>, engine: DockerEngine) => Effect.Effect<void, EngineCallError | ShiftupError>
  readonly compensators: Compensation.Compensators
  /**
   * Read-only checks of the planned members, at plan time (and at each injection of a generator
   * experiment): each refusal refuses the run before anything is touched.
   */
  readonly preflight?: (members: ReadonlyArray<Container>, engine: DockerEngine) => Effect.Effect<ReadonlyArray<Fault.Refusal>, EngineCallError | ShiftupError>
}

/**
 * A core Fault over the target's members. The members are read once, when the compensation is
 * captured, and the injection acts on exactly those.
 */
export const make = (o: DockerFaultOptions): Fault.Fault => {
  // Per run id: the same experiment may run twice at once (two test files, say).
  const captured = new Map<string, ReadonlyArray<Container>>()
  const injectionFailed = (detail: string) => fail(new InjectionFailed({ fault: o.id, target: o.target.id, detail }))
  const preflight = o.preflight
  const mapError = (address: string) => (e: EngineCallError | ShiftupError) => (isShiftupError(e) ? e : engineError(address, e, injectionFailed))
  return Fault.make({
    id: o.id,
    title: o.title,
    target: o.target,
    safety: o.safety ?? "disrupt",
    compensation: Effect.gen(function* () {
      const engine = yield* DockerEngine
      const list = yield* members(o.target, injectionFailed)
      captured.set((yield* RunContext).runId, list)
      const saved = yield* o.capture(list, engine).pipe(Effect.mapError(mapError(engine.address)))
      return { ...saved, kind: o.kind, engine: engine.address, target: o.target.id, containers: saved["containers"] ?? list.map((c) => c.id) }
    }),
    inject: Effect.gen(function* () {
      const engine = yield* DockerEngine
      const runId = (yield* RunContext).runId
      const list = captured.get(runId) ?? (yield* members(o.target, injectionFailed))
      captured.delete(runId)
      yield* o.inject(list, engine).pipe(Effect.mapError(mapError(engine.address)))
    }),
    kind: o.kind,
    provider: { module: "shiftup/docker", compensators: o.compensators },
    ...(preflight === undefined
      ? {}
      : {
          preflight: Effect.gen(function* () {
            const engine = yield* DockerEngine
            const unresolved = (detail: string) => fail(new TargetUnresolved({ target: o.target.id, detail }))
            const list = yield* members(o.target, unresolved)
            return yield* preflight(list, engine).pipe(Effect.mapError((e) => (isShiftupError(e) ? e : engineError(engine.address, e, unresolved))))
          }),
        }),
  })
}

/** `a, b and 3 more`: container names for one-line descriptions. */
export const names = (list: ReadonlyArray<Container>): string => (list.length <= 3 ? list.map((c) => c.name).join(", ") : `${list.slice(0, 2).map((c) => c.name).join(", ")} and ${list.length - 2} more`)

/** Errors of a container that was removed since: nothing left to undo there. */
export const gone = <A>(e: Effect.Effect<A, EngineCallError | ShiftupError>) => Effect.catchIf(e, (x) => "status" in x && x.status === 404, () => Effect.void)

/** A list of ids from a compensation field. */
export const ids = (c: Readonly<Record<string, unknown>>, field: string): ReadonlyArray<string> => (Array.isArray(c[field]) ? (c[field] as ReadonlyArray<unknown>).map(String) : [])
