/**
 * Resources: what a run owns for its own duration — a TCP fault proxy the service reaches its
 * store through, an alert sink, a fixture server. Declared on the experiment, a resource is
 * acquired only after the plan is accepted (plan before touch: a refused run starts nothing),
 * before the steady-state checks, and released after the rollback and the final checks, in
 * reverse order, on every exit path — success, finding, abort, timeout, signal. A resource is not
 * a fault: it does not count against the fault budget, and acquiring it does not start the
 * time-to-detect clock. Like faults and probes, a resource is a description: only the runner
 * acquires it.
 *
 * Experiment modules must have no side effects at import: start nothing at the top level, declare
 * it here instead (the CLI warns when loading a file opened a socket).
 */
import { Effect } from "effect"
import { sealResource } from "./internal/capability.ts"
import { lift, type Thunk } from "./internal/lift.ts"
import { causedBy, InjectionFailed, RollbackFailed } from "./ShiftupError.ts"
import type { Target } from "./Target.ts"

export const ResourceTypeId: unique symbol = Symbol.for("shiftup/Resource") as never

export interface Resource<A> {
  readonly [ResourceTypeId]: { readonly _A: (_: never) => A }
  readonly _tag: "Resource"
  readonly id: string
  readonly title: string
  /**
   * What the resource reaches, if anything (a proxy's upstream): planned and decided like an
   * observation of that target, so a proxy in front of a refused store is never started.
   */
  readonly target?: Target
}

export interface ResourceOptions<A> {
  readonly id: string
  readonly title?: string
  readonly target?: Target
  /** Starts it; its value is what `release` gets. A throw fails the run before the method (exit 3). */
  readonly acquire: Thunk<A>
  /** Stops it; runs once, after the rollback, whatever happened. */
  readonly release?: (value: A) => void | Promise<void> | Effect.Effect<void, never>
}

const variance = { _A: (_: never) => _ }

/**
 * A resource the run starts after its plan is accepted and stops at its very end.
 *
 * @example
 * const fixture = Resource.make({ id: "fixture", acquire: () => startFixtureServer(), release: (s) => s.close() })
 * export default Experiment.make({ id, title, targets, resources: { fixture }, method: [...] })
 */
export const make = <A>(options: ResourceOptions<A>): Resource<A> => {
  const resource = { [ResourceTypeId]: variance, _tag: "Resource", id: options.id, title: options.title ?? options.id, ...(options.target === undefined ? {} : { target: options.target }) } as Resource<A>
  const target = options.target?.id ?? options.id
  return sealResource(resource, {
    acquire: lift(options.acquire, (detail, cause) => new InjectionFailed({ fault: `resource ${options.id}`, target, detail, ...causedBy(cause) })),
    release: (value) =>
      options.release === undefined
        ? Effect.void
        : lift(() => options.release?.(value as A), (detail, cause) => new RollbackFailed({ fault: `resource ${options.id}`, target, detail, ...causedBy(cause) })).pipe(Effect.asVoid),
  })
}

export const isResource = (u: unknown): u is Resource<unknown> => typeof u === "object" && u !== null && ResourceTypeId in u
