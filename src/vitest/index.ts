/**
 * `shiftup/vitest`: experiments inside vitest suites.
 *
 * - `describeExperiment(experiment)` registers an experiment as a suite, one test per assertion;
 * - `runExperiment(experiment, { context })` runs one inside a test, rolling back even when the
 *   test times out;
 * - matchers on journals — `toHoldHypothesis`, `toFailClosed`, `toDetectWithin` — registered
 *   on `expect` when this module is imported in a test file;
 * - `test`, with fixtures: `lab` (the demo lab for one test, closed however the test ends) and
 *   `run` (`runExperiment` bound to the test);
 * - `testProperty(property)` runs a property (`Property.make`) as one test, printing the minimal
 *   counterexample, its seed and the replay line on failure;
 * - `ShiftupReporter` prints every finding at the end of the test run.
 *
 * @example
 * import { describeExperiment, runExperiment } from "shiftup/vitest"
 * describeExperiment(experiment)
 * it("fails closed", async (ctx) => expect(await runExperiment(experiment, { context: ctx })).toFailClosed())
 */
import "../../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails
import { expect } from "vitest"
import { matchers, type ShiftupMatchers } from "./matchers.ts"

export { describeExperiment, FindingError, type DescribeOptions } from "./describe.ts"
export { matchers, toDetectWithin, toFailClosed, toHoldHypothesis, type ShiftupMatchers } from "./matchers.ts"
export { shiftupFixtures, test, type ShiftupFixtures } from "./fixtures.ts"
export { findingsBlock, ShiftupReporter, type ReporterOptions } from "./reporter.ts"
export { runExperiment, type TestRunOptions } from "./run.ts"
export { CounterexampleError, testProperty, type PropertyTestOptions } from "./property.ts"
export type { RunSummary } from "./summary.ts"

// In a test worker, the matchers are available as soon as this module is imported.
if (process.env["VITEST_WORKER_ID"] !== undefined) expect.extend(matchers)

declare module "vitest" {
  interface Matchers<R, T> extends ShiftupMatchers<R> {}
}
