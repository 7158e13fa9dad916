/**
 * `shiftup/docker`: container targets, faults, probes and the reaper, over the Docker engine.
 * Importing it loads dockerode; the core never does.
 *
 * @example
 * import * as Docker from "shiftup/docker"
 * const auth = Docker.container("auth", { environment: "staging" })
 * Docker.pause(auth)
 */
import * as Faults from "./Faults.ts"

export { container, containers, type ContainerTarget, type ContainerTargetOptions, type Selector } from "./Container.ts"
export * as Engine from "./Engine.ts"
export { pause } from "./Faults.ts"
export { reap, runLabel, type ReapOptions, type Reaped } from "./Reaper.ts"

/** Every compensator of shiftup/docker, by kind (`docker.*`), for `recover` and configs. */
export const compensators = { ...Faults.compensators }
