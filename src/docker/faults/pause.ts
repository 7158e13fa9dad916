/**
 * Pause: freezes every process of the target's containers (cgroup freezer); connections hang
 * rather than fail. Its compensation, `docker.unpause`, unpauses exactly the members it paused.
 */
import { Effect } from "effect"
import * as DockerFault from "../internal/fault.ts"
import type { FaultOptions } from "../internal/fault.ts"
import { declare } from "../internal/kind.ts"
import type { ContainerTarget } from "../targets.ts"

/** Unpauses `containers`; one already unpaused, or removed since, is left alone. */
export const Unpause = declare({
  kind: "docker.unpause",
  fields: {},
  undo: (r, engine) =>
    DockerFault.eachOf(r.containers, (id) =>
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
  verify: (r, engine) => DockerFault.differences(r.containers, (id) => DockerFault.current(engine, id).pipe(Effect.map((now) => (now?.state.paused === true ? `${now.name} is still paused` : undefined)))),
  // A pause takes some 14 ms on the engine.
  settleMs: 2000,
})

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
    kind: Unpause,
    // Only the members this fault pauses: one that was paused already stays paused after rollback.
    capture: (list) => {
      const running = list.filter((c) => !c.state.paused)
      return Effect.succeed({ record: { description: running.length === 0 ? "nothing to unpause (every member was already paused)" : `unpause ${DockerFault.names(running)}`, containers: running.map((c) => c.id) } })
    },
    inject: (list, engine) => DockerFault.eachOf(list, (c) => (c.state.paused ? Effect.void : engine.pause(c.id))),
  })
