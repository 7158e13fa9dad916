/**
 * shiftup: security chaos experiments as typed TypeScript.
 *
 * @example
 * import { Experiment, Expect, Fault, Http, Probe, run } from "shiftup"
 */
import "../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails
export * as Budget from "./Budget.ts"
export * as Compensation from "./Compensation.ts"
export { defineConfig, type Config } from "./Config.ts"
export * as Expect from "./Expect.ts"
export * as Experiment from "./Experiment.ts"
export * as Fault from "./Fault.ts"
export * as Http from "./Http.ts"
export * as Journal from "./Journal.ts"
export * as Ledger from "./Ledger.ts"
export * as Policy from "./Policy.ts"
export * as Probe from "./Probe.ts"
export * as Recover from "./Recover.ts"
export * as Resource from "./Resource.ts"
export * as Runner from "./Runner.ts"
export { RunContext } from "./RunContext.ts"
export * as Step from "./Step.ts"
export * as Target from "./Target.ts"
export * from "./ShiftupError.ts"
export { runPromise as run, plan } from "./Runner.ts"
export type { Classification, Signal } from "./internal/classify.ts"
