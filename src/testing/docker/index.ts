/**
 * The Docker lab for shiftup's Docker tests, experiments, examples and benchmark: local images
 * built from busybox (no registry needed) and a small staging system of containers.
 */
export { applets, ensureImageMap, ensureImages, hasRedisServer, imageSpecs, type DockerLabError, type EnsureOptions, type ImageSpec, type LabImageName } from "./images.ts"
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
