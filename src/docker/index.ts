/**
 * `shiftup/docker`: container targets, faults, probes and the reaper, over the Docker engine.
 * Importing it loads dockerode; the core never does. The folder follows the adapter shape of
 * docs/adapters.md: `targets.ts`, `faults/`, `probes/`, `compensators.ts`, `reaper.ts`.
 *
 * @example
 * import * as Docker from "shiftup/docker"
 * const auth = Docker.container("auth", { environment: "staging" })
 * Docker.pause(auth)
 */
import "../../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails

export { container, containers, type ContainerTarget, type ContainerTargetOptions, type Selector } from "./targets.ts"
export * as Engine from "./engine.ts"
export { DockerEngine } from "./engine.ts"
export { fingerprint, type FingerprintResult } from "../internal/fingerprint.ts"
export type { FaultOptions } from "./internal/fault.ts"
export { pause } from "./faults/pause.ts"
export { kill, restart, stop, type KillOptions, type StopOptions } from "./faults/stop.ts"
export { crash } from "./faults/crash.ts"
export { maxTamperBytes, tamper, type TamperOptions } from "./faults/tamper.ts"
export { rogueListener, type RogueListenerOptions } from "./faults/rogue-listener.ts"
export { squeeze, unlimitedMemory, type SqueezeOptions } from "./faults/squeeze.ts"
export { disconnect, type DisconnectOptions } from "./faults/disconnect.ts"
export { partition, type PartitionOptions } from "./faults/partition.ts"
export { bandwidth, type BandwidthOptions } from "./faults/bandwidth.ts"
export { exitCode, exitCodes, health, healths, restartCount, restartCounts, running, state, states } from "./probes/state.ts"
export { found, logLine, type LogLineOptions } from "./probes/logs.ts"
export { recovery, timeToRecover, type Recovery, type RecoveryOptions } from "./probes/recovery.ts"
export { compensators } from "./compensators.ts"
export { reap, runLabel, type ReapOptions, type Reaped } from "./reaper.ts"
