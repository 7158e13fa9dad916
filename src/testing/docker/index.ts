/**
 * The Docker lab for shiftup's Docker tests, experiments, examples and benchmark: a small staging
 * system of containers, started from local images built from busybox (no registry needed). How
 * the images are built (images.ts) is not part of the entry: `startDockerLab` builds what it
 * needs, and shiftup's own tests import images.ts directly.
 */
export type { DockerLabError } from "./images.ts"
export {
  defaultAuthTimeoutMs,
  defaultCredentials,
  defaultWatchPorts,
  dockerLab,
  get,
  labLabels,
  projectOf,
  reapLab,
  shortRunId,
  startDockerLab,
  type DockerLab,
  type DockerLabOptions,
  type HttpAnswer,
  type LabService,
} from "./lab.ts"
export * from "./targets.ts"
