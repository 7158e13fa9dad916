/**
 * Container faults: pause, stop, kill, restart, resource squeeze, file tamper, rogue listener.
 * Each is a core Fault whose compensation is serialisable data recorded in the ledger before the
 * change, and whose compensator is idempotent (a second replay finds nothing to undo).
 */
import { Effect } from "effect"
import type { ContainerTarget } from "./Container.ts"
import * as DockerFault from "./internal/fault.ts"

const undo: Readonly<Record<string, DockerFault.Undo>> = {
  "docker.unpause": (c, engine) =>
    DockerFault.eachOf(c["containers"] as ReadonlyArray<string>, (id) =>
      engine.inspect(id).pipe(
        Effect.flatMap((now) => (now.state.paused ? engine.unpause(id) : Effect.void)),
        // A container removed since is not paused any more: nothing to undo.
        Effect.catchIf((e) => "status" in e && e.status === 404, () => Effect.void),
      ),
    ),
}

/** Compensators of this module's faults, by kind. */
export const compensators = DockerFault.compensators(undo)

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
    capture: (list) => Effect.succeed({ description: `unpause ${DockerFault.names(list)}` }),
    inject: (list, engine) => DockerFault.eachOf(list, (c) => (c.state.paused ? Effect.void : engine.pause(c.id))),
    compensators,
  })
