/**
 * Container state probes: read-only observations of a container target's members — state,
 * health, restart count, exit code, whether it runs.
 *
 * A target may select several containers. Every state probe has a per-member form whose value
 * is a record `container name → value` (`states`, `healths`, `restartCounts`, `exitCodes`) and a
 * single-value form that summarises the members so that asserting the good value asserts it for
 * all of them:
 *
 * | probe | single value for several members |
 * | --- | --- |
 * | `state` | the least available status (`dead` < `removing` < `exited` < `created` < `restarting` < `paused` < `running`) |
 * | `health` | the worst health (`unhealthy` < `starting` < `none` < `healthy`) |
 * | `restartCount` | the sum of the members' restart counts |
 * | `exitCode` | the first non-zero last exit code (members in name order), else 0 |
 * | `running` | every member's status is `running` (a paused container is not running here, unlike Docker's `State.Running`) |
 *
 * Which members they observe, in a run and outside one: `internal/observe.ts`.
 */
import { Effect } from "effect"
import * as Probe from "../../Probe.ts"
import { observed } from "../internal/observe.ts"
import type { Container } from "../model.ts"
import type { ContainerTarget } from "../targets.ts"

export interface ProbeOptions {
  /** Probe id; default `<target> <what>`, e.g. `auth state`. */
  readonly id?: string
}

const eachMember = <A>(target: ContainerTarget, id: string, title: string, read: (c: Container) => A): Probe.Probe<Readonly<Record<string, A>>> =>
  Probe.make({
    id,
    title,
    target,
    observe: Effect.map(observed(target, id), (list) => Object.fromEntries(list.map((c) => [c.name, read(c)]))),
  })

const summary = <A, B>(target: ContainerTarget, id: string, title: string, read: (c: Container) => A, combine: (values: ReadonlyArray<A>) => B): Probe.Probe<B> =>
  Probe.make({ id, title, target, observe: Effect.map(observed(target, id), (list) => combine(list.map(read))) })

/** The value of `order` that comes first among `values` (unknown values come before all of them). */
const worst = (order: ReadonlyArray<string>) => (values: ReadonlyArray<string>): string => {
  const unknown = values.find((v) => !order.includes(v))
  if (unknown !== undefined) return unknown
  return order.find((o) => values.includes(o)) ?? "none"
}

const statusOrder = ["dead", "removing", "exited", "created", "restarting", "paused", "running"]
const healthOrder = ["unhealthy", "starting", "none", "healthy"]

/**
 * The status of each member: `created`, `running`, `paused`, `restarting`, `removing`, `exited`
 * or `dead`, by container name.
 *
 * @example
 * Expect.that(Docker.states(web), Expect.predicate("two running", (s) => Object.values(s).filter((x) => x === "running").length >= 2))
 */
export const states = (target: ContainerTarget, options: ProbeOptions = {}): Probe.Probe<Readonly<Record<string, string>>> =>
  eachMember(target, options.id ?? `${target.id} states`, options.id ?? `status of each container of ${target.id}`, (c) => c.state.status)

/**
 * The target's status: a member's status, or with several members the least available one, so
 * `"running"` means every member runs.
 *
 * @example
 * method: [Docker.pause(auth), Expect.that(Docker.state(auth), "paused")]
 */
export const state = (target: ContainerTarget, options: ProbeOptions = {}): Probe.Probe<string> =>
  summary(target, options.id ?? `${target.id} state`, options.id ?? `status of ${target.id}`, (c) => c.state.status, worst(statusOrder))

/** The health of each member by container name: `healthy`, `unhealthy`, `starting`, or `none` without a HEALTHCHECK. */
export const healths = (target: ContainerTarget, options: ProbeOptions = {}): Probe.Probe<Readonly<Record<string, string>>> =>
  eachMember(target, options.id ?? `${target.id} healths`, options.id ?? `health of each container of ${target.id}`, (c) => c.state.health)

/**
 * The target's health (`healthy`, `unhealthy`, `starting` or `none`); with several members the
 * worst one, so `"healthy"` means every member is healthy.
 *
 * @example
 * recovery: [Expect.eventually(Docker.health(auth), "healthy", { within: "30 seconds" })]
 */
export const health = (target: ContainerTarget, options: ProbeOptions = {}): Probe.Probe<string> =>
  summary(target, options.id ?? `${target.id} health`, options.id ?? `health of ${target.id}`, (c) => c.state.health, worst(healthOrder))

/** How often the engine restarted each member (its restart policy at work), by container name. */
export const restartCounts = (target: ContainerTarget, options: ProbeOptions = {}): Probe.Probe<Readonly<Record<string, number>>> =>
  eachMember(target, options.id ?? `${target.id} restart counts`, options.id ?? `restart count of each container of ${target.id}`, (c) => c.restartCount)

/**
 * How often the engine restarted the target's containers (the sum over its members). Restarts
 * by the engine's restart policy count; a `docker restart` does not.
 *
 * @example
 * Expect.that(Docker.restartCount(auth), Expect.range(1, 3))
 */
export const restartCount = (target: ContainerTarget, options: ProbeOptions = {}): Probe.Probe<number> =>
  summary(target, options.id ?? `${target.id} restart count`, options.id ?? `restart count of ${target.id}`, (c) => c.restartCount, (xs) => xs.reduce((a, b) => a + b, 0))

/** The last exit code of each member by container name (0 for one that never exited). */
export const exitCodes = (target: ContainerTarget, options: ProbeOptions = {}): Probe.Probe<Readonly<Record<string, number>>> =>
  eachMember(target, options.id ?? `${target.id} exit codes`, options.id ?? `exit code of each container of ${target.id}`, (c) => c.state.exitCode)

/**
 * The last exit code: a member's, or with several members the first non-zero one (in name
 * order), so `0` means none failed. 137 is a SIGKILL (128 + 9), 143 a SIGTERM.
 *
 * @example
 * Expect.that(Docker.exitCode(job), 0)
 */
export const exitCode = (target: ContainerTarget, options: ProbeOptions = {}): Probe.Probe<number> =>
  summary(target, options.id ?? `${target.id} exit code`, options.id ?? `exit code of ${target.id}`, (c) => c.state.exitCode, (xs) => xs.find((x) => x !== 0) ?? 0)

/**
 * Whether every member is running — status `running`; a paused container is not running here.
 *
 * @example
 * hypothesis: [Expect.that(Docker.running(auth), true)]
 */
export const running = (target: ContainerTarget, options: ProbeOptions = {}): Probe.Probe<boolean> =>
  summary(target, options.id ?? `${target.id} running`, options.id ?? `${target.id} is running`, (c) => c.state.status === "running", (xs) => xs.length > 0 && xs.every(Boolean))
