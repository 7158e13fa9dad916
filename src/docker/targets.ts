/**
 * Container targets: a selector (name, id, labels, image, compose project/service) resolved at
 * plan time into the concrete containers and the population they were drawn from, each with the
 * facts the classifier needs — labels, name, hostnames and aliases, environment variables,
 * image, process, exposed ports, and the endpoints planning may fingerprint (a port published on
 * loopback, else the container's own address on a local engine).
 *
 * The members planned for a run are remembered in the run's store (`internal/members.ts`), so
 * faults act on exactly the containers the policy and the budget were checked against.
 */
import { Effect } from "effect"
import { causedBy, type ShiftupError, TargetUnresolved } from "../ShiftupError.ts"
import type { Environment, Resolution, Target } from "../Target.ts"
import { TargetTypeId } from "../Target.ts"
import { DockerEngine } from "./internal/client.ts"
import { engineError } from "./internal/errors.ts"
import { find, remember } from "./internal/members.ts"
import { factsOf } from "./internal/facts.ts"

export { factsOf }

export interface Selector {
  /** Container name: exact (`"auth"`) or a pattern (`/^shop-web-\d+$/`). */
  readonly name?: string | RegExp
  /** Full id or a unique prefix. */
  readonly id?: string
  /** Every label must match (`{ app: "auth" }`); an empty value only requires the key. */
  readonly labels?: Readonly<Record<string, string>>
  /** Image reference: `busybox`, `busybox:1.36`, or a prefix ending in `/` (`registry.local/shop/`). */
  readonly image?: string
  /** Docker Compose labels: the project and/or the service. */
  readonly compose?: { readonly project?: string; readonly service?: string }
  /** Include stopped containers; default only running (and paused) ones. */
  readonly all?: boolean
}

export interface ContainerTargetOptions {
  readonly select: Selector
  /** Pick this many of the matching containers at random; the matching ones are the population. */
  readonly pick?: number
  readonly environment?: Environment
  readonly dataStore?: boolean | string
  /** Labels of the target itself (classification signals, on top of each container's own). */
  readonly labels?: Readonly<Record<string, string>>
  readonly owner?: string
}

export interface ContainerTarget extends Target {
  readonly kind: "container"
  readonly select: Selector
}

const shuffle = <A>(xs: ReadonlyArray<A>): Array<A> => {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j] as A, out[i] as A]
  }
  return out
}

/**
 * Containers selected by name, id, labels, image or compose service.
 *
 * @example
 * const auth = Docker.containers("auth", { select: { compose: { project: "shop", service: "auth" } }, pick: 1 })
 */
export const containers = (id: string, options: ContainerTargetOptions): ContainerTarget => {
  const resolve: Effect.Effect<Resolution, ShiftupError> = Effect.gen(function* () {
    const engine = yield* DockerEngine
    const unresolved = (detail: string, cause?: unknown) => new TargetUnresolved({ target: id, detail, ...causedBy(cause) })
    const matching = yield* find(options.select).pipe(Effect.mapError((e) => engineError(engine.address, e, unresolved)))
    const chosen = options.pick === undefined ? matching : shuffle(matching).slice(0, options.pick).sort((a, b) => a.name.localeCompare(b.name))
    const facts = chosen.map((c) => factsOf(c, { local: engine.address.startsWith("unix://") }))
    yield* remember(id, chosen.map((c) => c.id))
    // Invariant 7: the local engine's own containers are reachable by the run — these ones.
    const egress = engine.address.startsWith("unix://") ? chosen.flatMap((c) => Object.values(c.networks).map((n) => n.ipv4).filter((ip) => ip !== "")) : []
    return { members: facts, population: matching.length, egress }
  })
  return {
    [TargetTypeId]: TargetTypeId,
    id,
    kind: "container",
    select: options.select,
    ...(options.environment === undefined ? {} : { environment: options.environment }),
    ...(options.dataStore === undefined ? {} : { dataStore: options.dataStore }),
    labels: options.labels ?? {},
    ...(options.owner === undefined ? {} : { owner: options.owner }),
    resolve,
  }
}

/** One container by name: `Docker.container("auth-service", { environment: "staging" })`. */
export const container = (name: string, options: Omit<ContainerTargetOptions, "select" | "pick"> = {}): ContainerTarget => containers(name, { ...options, select: { name } })

export const isContainerTarget = (t: Target): t is ContainerTarget => t.kind === "container" && "select" in t
