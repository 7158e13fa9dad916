/**
 * Two front doors over one engine: `run` is an Effect for Effect users; `runPromise` (also
 * exported as `run` from the package root) needs no Effect knowledge. Neither ever throws for
 * a failed, refused or aborted run: the result is the journal, whose `status` and `exitCode` say.
 */
import { Effect } from "effect"
import type { Experiment } from "./Experiment.ts"
import type { Journal } from "./Journal.ts"
import * as internal from "./internal/runner.ts"

export type RunOptions = internal.RunOptions
export type RunEvent = internal.RunEvent

/**
 * Runs an experiment as an Effect. Interrupting the fiber still rolls back every fault.
 *
 * @example
 * const journal = yield* Runner.run(experiment, { signal })
 */
export const run: (experiment: Experiment, options?: RunOptions) => Effect.Effect<Journal> = internal.run

/**
 * Runs an experiment and resolves with its journal.
 *
 * @example
 * const journal = await runPromise(experiment)
 * if (journal.status !== "passed") console.log(journal.summary)
 */
export const runPromise = (experiment: Experiment, options?: RunOptions): Promise<Journal> => Effect.runPromise(internal.run(experiment, options))

/** The dry run: resolves, classifies and decides without touching anything. */
export const plan = (experiment: Experiment, options: Omit<RunOptions, "dryRun"> = {}): Promise<Journal> => runPromise(experiment, { ...options, dryRun: true })

export const newRunId = internal.newRunId
