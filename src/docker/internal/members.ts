/**
 * The containers a target stands for in a run. Planning resolves a selector once and remembers
 * the members it checked in the run's store (`RunContext.store`); faults and probes of the same
 * run act on exactly those, so nothing is touched that the policy and the budget did not see.
 * Outside a run (or for a target the run did not plan) the selector is resolved afresh.
 */
import { Effect } from "effect"
import { RunContext } from "../../RunContext.ts"
import type { ShiftupError } from "../../ShiftupError.ts"
import type { Container, EngineCallError } from "../model.ts"
import type { ContainerTarget, Selector } from "../targets.ts"
import { DockerEngine } from "./client.ts"
import { engineError } from "./errors.ts"

const plannedKey = (target: string) => `shiftup/docker/members/${target}`

/** Remembers, for the current run, the container ids planned for `target`. */
export const remember = (target: string, ids: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.gen(function* () {
    const ctx = yield* RunContext
    ctx.store.set(plannedKey(target), ids)
  })

const matches = (c: Container, s: Selector): boolean => {
  if (s.all !== true && !c.state.running) return false
  if (s.name !== undefined && !(typeof s.name === "string" ? c.name === s.name.replace(/^\//, "") : s.name.test(c.name))) return false
  if (s.id !== undefined && !c.id.startsWith(s.id)) return false
  if (s.labels !== undefined && !Object.entries(s.labels).every(([k, v]) => k in c.labels && (v === "" || c.labels[k] === v))) return false
  if (s.image !== undefined) {
    const image = s.image
    const ok = image.endsWith("/") ? c.image.startsWith(image) : c.image === image || (!image.includes(":") && c.image.startsWith(`${image}:`)) || c.image === `${image}:latest`
    if (!ok) return false
  }
  if (s.compose?.project !== undefined && c.labels["com.docker.compose.project"] !== s.compose.project) return false
  if (s.compose?.service !== undefined && c.labels["com.docker.compose.service"] !== s.compose.service) return false
  return true
}

/** The containers a selector matches right now, inspected, in name order. */
export const find = (select: Selector): Effect.Effect<ReadonlyArray<Container>, EngineCallError> =>
  Effect.gen(function* () {
    const engine = yield* DockerEngine
    const summaries = yield* engine.list({ all: select.all === true || select.id !== undefined, ...(select.labels === undefined ? {} : { labels: Object.entries(select.labels).map(([k, v]) => (v === "" ? k : `${k}=${v}`)) }) })
    const inspected = yield* Effect.forEach(summaries, (s) => engine.inspect(s.id).pipe(Effect.catchIf((e) => e.status === 404, () => Effect.succeed(undefined))), { concurrency: 16 })
    return inspected.filter((c): c is Container => c !== undefined && matches(c, select)).sort((a, b) => a.name.localeCompare(b.name))
  })

/**
 * The containers this run planned for `target`, inspected now. Outside a run (or for a target
 * the run did not plan) the selector is resolved afresh. A planned container that has gone is an
 * error: a fault never silently acts on fewer (or other) containers than were checked.
 */
export const members = (target: ContainerTarget, onError: (detail: string, cause?: unknown) => ShiftupError): Effect.Effect<ReadonlyArray<Container>, ShiftupError> =>
  Effect.gen(function* () {
    const engine = yield* DockerEngine
    const planned = (yield* RunContext).store.get<ReadonlyArray<string>>(plannedKey(target.id))
    if (planned === undefined) {
      const found = yield* find(target.select).pipe(Effect.mapError((e) => engineError(engine.address, e, onError)))
      return found.length === 0 ? yield* Effect.fail(onError(`no container matches the selector of "${target.id}"`)) : found
    }
    return yield* Effect.forEach(planned, (cid) => engine.inspect(cid).pipe(Effect.mapError((e) => engineError(engine.address, e, (d, cause) => onError(e.status === 404 ? `planned container ${cid.slice(0, 12)} is gone` : d, cause)))), {
      concurrency: 16,
    })
  })
