/**
 * shiftup: security chaos experiments as typed TypeScript. This entry holds what an experiment
 * author uses: the concepts an experiment is made of, the two ways to run one, the configuration,
 * the journal, and the error family with the reasons a running experiment meets. The machinery
 * under the run (ledger, recovery, policy decisions, the effective budget, the run's context)
 * is in `shiftup/advanced`; docs/api/ lists every entry's exports.
 *
 * @example
 * import { Experiment, Expect, Fault, Http, Probe, run } from "shiftup"
 */
import "../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails
export * as Compensation from "./Compensation.ts"
export { defineConfig, type Config } from "./Config.ts"
export * as Expect from "./Expect.ts"
export * as Experiment from "./Experiment.ts"
export * as Fault from "./Fault.ts"
export * as Http from "./Http.ts"
export * as Journal from "./Journal.ts"
export * as Probe from "./Probe.ts"
export * as Property from "./Property.ts"
export * as Resource from "./Resource.ts"
export * as Runner from "./Runner.ts"
export { runPromise as run, plan } from "./Runner.ts"
export * as Step from "./Step.ts"
export * as Target from "./Target.ts"
// The reasons a running experiment meets, which its own probes, faults, compensators and targets
// fail with, or which building an experiment or a configuration throws. The CLI's, the ledger's,
// recovery's and game days' reasons are in `shiftup/advanced`; `catchTag` needs none of them imported.
export {
  BudgetExceeded,
  CredentialsRefused,
  EgressDenied,
  InjectionFailed,
  InvalidConfig,
  InvalidExperiment,
  isShiftupError,
  OutsideManifest,
  ProbeFailed,
  RecoveryNotObserved,
  RollbackFailed,
  TargetRefused,
  TargetUnresolved,
  type ShiftupError,
} from "./ShiftupError.ts"
