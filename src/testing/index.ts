/**
 * `shiftup/testing`: the embedded demo lab and its targets, for the demo, the catalogue's
 * experiments and users' own tests of shiftup itself; and `DockerLab`, the Docker lab's
 * containers and URLs as `experiments/docker/` finds them (it names selectors only, so
 * importing it loads no Docker client).
 */
import "../../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails
export * as DemoLab from "./demo.ts"
export * as DockerLab from "./docker/index.ts"
export { adminToken, labResource, startLab, type Alert, type AuthMode, type Lab, type LabOptions, type ServiceMode } from "./lab.ts"
