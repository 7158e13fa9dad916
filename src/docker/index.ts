/**
 * `shiftup/docker`: container targets, faults, probes and the reaper, over the Docker engine.
 * Importing it loads dockerode; the core never does.
 *
 * @example
 * import * as Docker from "shiftup/docker"
 * const auth = Docker.container("auth", { environment: "staging" })
 * Docker.pause(auth)
 */
import "../../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails
import * as Faults from "./Faults.ts"
import * as Files from "./Files.ts"
import * as Listener from "./Listener.ts"
import * as Network from "./Network.ts"
import * as Resources from "./Resources.ts"

export { container, containers, type ContainerTarget, type ContainerTargetOptions, type Selector } from "./Container.ts"
export * as Engine from "./engine.ts"
export { DockerEngine } from "./engine.ts"
export { fingerprint, type FingerprintResult } from "./Fingerprint.ts"
export { crash, kill, pause, restart, stop, type FaultOptions, type KillOptions, type StopOptions } from "./Faults.ts"
export { maxTamperBytes, tamper, type TamperOptions } from "./Files.ts"
export { rogueListener, type RogueListenerOptions } from "./Listener.ts"
export { squeeze, unlimitedMemory, type SqueezeOptions } from "./Resources.ts"
export { bandwidth, disconnect, partition, type BandwidthOptions, type DisconnectOptions, type PartitionOptions } from "./Network.ts"
export {
  exitCode,
  exitCodes,
  found,
  health,
  healths,
  logLine,
  recovery,
  restartCount,
  restartCounts,
  running,
  state,
  states,
  timeToRecover,
  type LogLineOptions,
  type Recovery,
  type RecoveryOptions,
} from "./Probes.ts"
export { reap, runLabel, type ReapOptions, type Reaped } from "./Reaper.ts"

/** Every compensator of shiftup/docker, by kind (`docker.*`), for `recover` and configs. */
export const compensators = { ...Faults.compensators, ...Resources.compensators, ...Files.compensators, ...Listener.compensators, ...Network.compensators }
