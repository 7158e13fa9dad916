/**
 * What a test records about each run it made, for the reporter: a small, serialisable summary of
 * the journal, kept in the vitest task's `meta` (which travels from the worker to the reporter),
 * with the findings that test answers for.
 */
import type { Finding, Journal } from "../Journal.ts"

export interface RunSummary {
  readonly experiment: string
  readonly title: string
  readonly runId: string
  readonly status: Journal["status"]
  readonly summary: string
  readonly findings: ReadonlyArray<Finding>
  readonly rollbacks: { readonly total: number; readonly restored: number }
}

/** A run's summary, with the findings the recording test answers for (default: all of them). */
export const summarize = (j: Journal, findings: ReadonlyArray<Finding> = j.findings): RunSummary => ({
  experiment: j.experiment.id,
  title: j.experiment.title,
  runId: j.runId,
  status: j.status,
  summary: j.summary,
  findings,
  rollbacks: { total: j.rollbacks.length, restored: j.rollbacks.filter((r) => r.outcome === "restored").length },
})

/** The meta key under which runs are recorded on a vitest task. */
export const metaKey = "shiftup"

/**
 * Appends a run's summary to a task's meta, with the findings that test produced (default: all).
 * A run recorded by several tests (one per check, with `describeExperiment`) is one run to the
 * reporter, each finding attributed to the test that recorded it.
 */
export const record = (task: { readonly meta: object }, j: Journal, findings?: ReadonlyArray<Finding>): void => {
  const meta = task.meta as Record<string, unknown>
  const list = Array.isArray(meta[metaKey]) ? (meta[metaKey] as Array<RunSummary>) : []
  list.push(summarize(j, findings))
  meta[metaKey] = list
}
