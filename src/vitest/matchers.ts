/**
 * Matchers on a run's journal: `toHoldHypothesis`, `toFailClosed`, `toDetectWithin`. Each failure
 * message names the checks that did not hold, with what was expected and observed.
 */
import { Duration } from "effect"
import type { Journal, StepRecord } from "../Journal.ts"
import { isJournal } from "./journal.ts"

interface MatcherResult {
  readonly pass: boolean
  readonly message: () => string
}
interface MatcherThis {
  readonly isNot: boolean
}

const show = (u: unknown) => (typeof u === "string" ? u : (JSON.stringify(u) ?? String(u)))
const line = (s: StepRecord) => `  - ${s.phase}: ${s.id}: ${s.outcome === "error" ? `error: ${s.message ?? ""}` : `expected ${s.expected ?? "?"}, observed ${show(s.observed)}`}`
const head = (j: Journal) => `${j.experiment.id} (run ${j.runId}, ${j.status}): ${j.summary}`
const notJournal = (u: unknown): MatcherResult => ({ pass: false, message: () => `expected a shiftup journal (the result of run/runExperiment), got ${typeof u}` })
const ranToCompletion = (j: Journal) => j.status === "passed" || j.status === "failed"

/** Every hypothesis check held, before the method and again after rollback. */
export function toHoldHypothesis(this: MatcherThis, received: unknown): MatcherResult {
  if (!isJournal(received)) return notJournal(received)
  const j = received
  const hyp = j.steps.filter((s) => s.kind === "check" && (s.phase === "before" || s.phase === "after"))
  const bad = hyp.filter((s) => s.outcome !== "held")
  const after = hyp.some((s) => s.phase === "after")
  const expectsAfter = j.steps.some((s) => s.phase === "before")
  const pass = ranToCompletion(j) && bad.length === 0 && (!expectsAfter || after)
  return {
    pass,
    message: () =>
      pass
        ? `expected the hypothesis of ${head(j)} not to hold, but every check held`
        : `expected the hypothesis to hold: ${head(j)}${bad.length === 0 ? (ranToCompletion(j) ? "\n  the steady state was not checked again after rollback" : "") : `\n${bad.map(line).join("\n")}`}`,
  }
}

/**
 * The defences failed closed: at least one fault was injected and every check made while the
 * faults were active (phase `method`) held, and the run completed.
 */
export function toFailClosed(this: MatcherThis, received: unknown): MatcherResult {
  if (!isJournal(received)) return notJournal(received)
  const j = received
  const injected = j.steps.some((s) => s.kind === "fault" && s.outcome === "ok")
  const method = j.steps.filter((s) => s.kind === "check" && s.phase === "method")
  const bad = method.filter((s) => s.outcome !== "held")
  const pass = ranToCompletion(j) && injected && method.length > 0 && bad.length === 0
  return {
    pass,
    message: () =>
      pass
        ? `expected ${head(j)} not to fail closed, but every check during the faults held`
        : `expected the defences to fail closed: ${head(j)}${!injected ? "\n  no fault was injected" : ""}${method.length === 0 ? "\n  no check ran while the faults were active" : ""}${bad.length === 0 ? "" : `\n${bad.map(line).join("\n")}`}${j.findings
            .filter((f) => f.phase === "method" && f.remediation !== undefined)
            .map((f) => `\n  fix: ${f.remediation}`)
            .join("")}`,
  }
}

/**
 * Every detection check (`Expect.detects`) held, and each detected within `limit` (milliseconds or
 * an Effect duration such as "2 seconds").
 */
export function toDetectWithin(this: MatcherThis, received: unknown, limit: Duration.Input): MatcherResult {
  if (!isJournal(received)) return notJournal(received)
  const j = received
  const ms = Duration.toMillis(Duration.fromInputUnsafe(limit))
  const detections = j.steps.filter((s) => s.kind === "check" && (s.metric?.name === "time-to-detect" || / detected within /.test(s.id)))
  const slow = detections.filter((s) => s.outcome !== "held" || s.metric === undefined || s.metric.ms > ms)
  const pass = detections.length > 0 && slow.length === 0
  const times = detections.map((s) => (s.metric === undefined ? `${s.id}: not detected` : `${s.id}: ${s.metric.ms} ms`)).join("; ")
  return {
    pass,
    message: () =>
      pass
        ? `expected detection slower than ${ms} ms, but ${times}`
        : detections.length === 0
          ? `expected a detection within ${ms} ms, but ${head(j)} has no detection check (Expect.detects)`
          : `expected every detection within ${ms} ms: ${head(j)}\n${slow.map((s) => (s.metric === undefined ? line(s) : `  - ${s.id}: detected after ${s.metric.ms} ms`)).join("\n")}`,
  }
}

export const matchers = { toHoldHypothesis, toFailClosed, toDetectWithin }

export interface ShiftupMatchers<R = unknown> {
  /** Every hypothesis check held, before the method and after rollback. */
  toHoldHypothesis(): R
  /** A fault was injected and every check while it was active held. */
  toFailClosed(): R
  /** Every `Expect.detects` check held within `limit` (ms or a duration such as "2 seconds"). */
  toDetectWithin(limit: Duration.Input): R
}
