/**
 * How every Docker fault is built: members resolved for the run, the compensation captured from
 * their current state (ledgered before anything changes) as a record of the fault's declared
 * kind, then the change, applied to all members concurrently (bounded). What the injection needs
 * beyond the record (the members it captured, a plan of rules) waits in the run's store between
 * the two. Compensators find their engine by the address they recorded, so `shiftup recover` in
 * another process reaches the same engine.
 */
import { Effect } from "effect"
import type * as Compensation from "../../Compensation.ts"
import * as Fault from "../../Fault.ts"
import { RunContext } from "../../RunContext.ts"
import { causedBy, fail, InjectionFailed, InvalidExperiment, type Issue, isShiftupError, type ShiftupError, TargetUnresolved } from "../../ShiftupError.ts"
import type { Container, DockerEngine as Client } from "../model.ts"
import { EngineCallError } from "./call-error.ts"
import type { ContainerTarget } from "../targets.ts"
import { DockerEngine } from "./client.ts"
import { engineError } from "./errors.ts"
import type { Base } from "./kind.ts"
import { members } from "./members.ts"

/** The module a fresh process imports to get the Docker compensators again (`recover`, the watchdog). */
export const providerModule = "shiftup/docker"

/** Calls per fault in flight at once: fast for 50 containers, gentle on the engine. */
export const concurrency = 16

/** Options every Docker fault takes. */
export interface FaultOptions {
  /** Step id; default `<kind> <target>`. */
  readonly id?: string
}

/** Refuses a fault's options when it is built (every issue at once), before any experiment runs. */
export const invalidOptions = (fault: string, issues: ReadonlyArray<Issue>): void => {
  if (issues.length > 0) throw fail(new InvalidExperiment({ source: `shiftup/docker ${fault}`, issues }))
}

/** A record's fields as a capture returns them: the fault adds kind, engine, target and (unless given) the members' ids. */
export type Fields<A> = Omit<A, "kind" | keyof Base> & { readonly containers?: ReadonlyArray<string> }

/** What a capture returns: the record, and what the injection needs that the ledger does not. */
export interface Captured<A, P> {
  readonly record: Fields<A>
  readonly plan?: P
}

export interface DockerFaultOptions<A, P> {
  readonly id: string
  readonly title: string
  readonly target: ContainerTarget
  readonly safety?: "disrupt" | "destroy"
  /** The compensation kind, declared once (`kind.ts`): its records, its compensator. */
  readonly kind: Compensation.Kind<A>
  /** Reads what the compensation needs from the members, before anything changes. */
  readonly capture: (members: ReadonlyArray<Container>, engine: Client) => Effect.Effect<Captured<A, P>, EngineCallError | ShiftupError>
  /** The change, on the members captured; `plan` is what the capture planned (absent when no capture ran in this run). */
  readonly inject: (members: ReadonlyArray<Container>, engine: Client, plan: P | undefined) => Effect.Effect<void, EngineCallError | ShiftupError>
  /**
   * Read-only checks of the planned members, at plan time (and at each injection of a generator
   * experiment): each refusal refuses the run before anything is touched.
   */
  readonly preflight?: (members: ReadonlyArray<Container>, engine: Client) => Effect.Effect<ReadonlyArray<Fault.Refusal>, EngineCallError | ShiftupError>
}

/**
 * A core Fault over the target's members. The members are read once, when the compensation is
 * captured, and the injection acts on exactly those.
 */
export const make = <A, P = never>(o: DockerFaultOptions<A, P>): Fault.Fault => {
  // Fault ids are unique in an experiment, and the store is the run's own.
  const key = `shiftup/docker/captured/${o.id}`
  const injectionFailed = (detail: string, cause?: unknown) => new InjectionFailed({ fault: o.id, target: o.target.id, detail, ...causedBy(cause) })
  const preflight = o.preflight
  const mapError = (address: string) => (e: EngineCallError | ShiftupError) => (isShiftupError(e) ? e : engineError(address, e, injectionFailed))
  return Fault.make({
    id: o.id,
    title: o.title,
    target: o.target,
    safety: o.safety ?? "disrupt",
    compensation: Effect.gen(function* () {
      const engine = yield* DockerEngine
      const { store } = yield* RunContext
      const list = yield* members(o.target, injectionFailed)
      store.set(key, { list })
      const captured = yield* o.capture(list, engine).pipe(Effect.mapError(mapError(engine.address)))
      store.set(key, { list, plan: captured.plan })
      return o.kind.make({ ...captured.record, engine: engine.address, target: o.target.id, containers: captured.record.containers ?? list.map((c) => c.id) } as unknown as Omit<A, "kind">)
    }),
    inject: Effect.gen(function* () {
      const engine = yield* DockerEngine
      const { store } = yield* RunContext
      const captured = store.get<{ readonly list: ReadonlyArray<Container>; readonly plan?: P }>(key)
      store.delete(key)
      const list = captured?.list ?? (yield* members(o.target, injectionFailed))
      yield* o.inject(list, engine, captured?.plan).pipe(Effect.mapError(mapError(engine.address)))
    }),
    kind: o.kind.kind,
    provider: { module: providerModule, compensators: { [o.kind.kind]: o.kind.compensator } },
    ...(preflight === undefined
      ? {}
      : {
          preflight: Effect.gen(function* () {
            const engine = yield* DockerEngine
            const unresolved = (detail: string, cause?: unknown) => new TargetUnresolved({ target: o.target.id, detail, ...causedBy(cause) })
            const list = yield* members(o.target, unresolved)
            return yield* preflight(list, engine).pipe(Effect.mapError((e) => (isShiftupError(e) ? e : engineError(engine.address, e, unresolved))))
          }),
        }),
  })
}

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
    // Several calls failed: no one status stands for them all, each failure is kept as the cause.
    const detail = failures.map((e) => e.message).join("; ")
    return yield* new EngineCallError({ op: `${failures.length} of ${items.length} calls`, detail, unreachable: failures.every((e) => e._tag === "EngineCallError" && e.unreachable), cause: failures })
  })

/** `a, b and 3 more`: container names for one-line descriptions. */
export const names = (list: ReadonlyArray<Container>): string => (list.length <= 3 ? list.map((c) => c.name).join(", ") : `${list.slice(0, 2).map((c) => c.name).join(", ")} and ${list.length - 2} more`)

/** Errors of a container that was removed since: nothing left to undo there. */
export const gone = <A>(e: Effect.Effect<A, EngineCallError | ShiftupError>) => Effect.catchIf(e, (x) => x._tag === "EngineCallError" && x.status === 404, () => Effect.void)

/** The container now, or `undefined` when it has been removed. */
export const current = (engine: Client, id: string): Effect.Effect<Container | undefined, EngineCallError> =>
  engine.inspect(id).pipe(Effect.catchIf((e) => e.status === 404, () => Effect.succeed(undefined)))
