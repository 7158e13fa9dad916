/**
 * `shiftup/testing`: the embedded demo lab and its targets, for the demo, the catalogue's
 * experiments and users' own tests of shiftup itself.
 */
export * as DemoLab from "./demo.ts"
export { adminToken, startLab, type Alert, type AuthMode, type Lab } from "./lab.ts"
