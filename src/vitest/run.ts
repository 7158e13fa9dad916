/**
 * Running an experiment from a test. `runExperiment` ties the run to vitest's test context: when
 * the test times out or is cancelled, vitest aborts the context's signal, the run aborts and
 * rolls back, and the test does not finish (its `onTestFinished` hook waits) until every fault
 * is rolled back — so the next test never sees a fault left in place.
 */
import type { TestContext } from "vitest"
import type { Experiment } from "../Experiment.ts"
import type { Journal } from "../Journal.ts"
import { runPromise, type RunOptions } from "../Runner.ts"
import { record } from "./summary.ts"

export interface TestRunOptions extends RunOptions {
  /** The test's context (`it("…", async (ctx) => …)`): its signal aborts the run, its end awaits the rollback. */
  readonly context?: Pick<TestContext, "signal" | "onTestFinished" | "task">
}

/**
 * Runs an experiment inside a test and resolves with its journal (never throws for a failed,
 * refused or aborted run: assert on the journal, e.g. with `toHoldHypothesis`).
 *
 * @example
 * it("fails closed", async (ctx) => {
 *   const journal = await runExperiment(experiment, { context: ctx })
 *   expect(journal).toFailClosed()
 * })
 */
export const runExperiment = async (experiment: Experiment, options: TestRunOptions = {}): Promise<Journal> => {
  const { context, signal, ...rest } = options
  const controller = new AbortController()
  const abort = (reason: string) => {
    if (!controller.signal.aborted) controller.abort(reason)
  }
  const fromTest = () => abort(`vitest aborted the test (timeout or cancel): ${String(context?.signal.reason ?? "")}`.replace(/: $/, ""))
  const fromCaller = () => abort(String(signal?.reason ?? "aborted"))
  if (context?.signal.aborted === true) fromTest()
  context?.signal.addEventListener("abort", fromTest, { once: true })
  if (signal?.aborted === true) fromCaller()
  signal?.addEventListener("abort", fromCaller, { once: true })
  const running = runPromise(experiment, { ...rest, signal: controller.signal })
  // A test that ends first (a timeout, an assertion that threw elsewhere) waits for the rollback.
  context?.onTestFinished(async () => {
    abort("the test finished before the experiment")
    await running.catch(() => undefined)
  })
  try {
    const journal = await running
    if (context !== undefined) record(context.task, journal)
    return journal
  } finally {
    context?.signal.removeEventListener("abort", fromTest)
    signal?.removeEventListener("abort", fromCaller)
  }
}
