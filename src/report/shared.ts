/**
 * Helpers shared by the file reporters: escaping, value rendering, time arithmetic over a
 * journal. Everything here is pure.
 */
import type { Journal, StepRecord } from "../Journal.ts"

/** Escapes text for HTML and XML content and attribute values. */
export const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&apos;"))

/** Removes characters XML 1.0 does not allow at all (control characters other than tab, LF, CR). */
// oxlint-disable-next-line no-control-regex
export const xmlSafe = (s: string): string => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "\ufffd")

/** A value as one line of text: strings as they are, everything else as JSON. */
export const show = (u: unknown, max = 300): string => {
  const s = typeof u === "string" ? u : u === undefined ? "" : (JSON.stringify(u) ?? String(u))
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}

export const ms = (iso: string): number => Date.parse(iso)

/** Assertions of a run: its check steps, in order. */
export const assertions = (j: Journal): ReadonlyArray<StepRecord> => j.steps.filter((s) => s.kind === "check")

/** Whether the run ended for a reason no check explains: refused, invalid, aborted, rollback incomplete. */
export const runProblem = (j: Journal): string | undefined => {
  switch (j.status) {
    case "refused":
      return j.refusal === undefined ? j.summary : `${j.refusal.rule}: ${j.refusal.reason} (step "${j.refusal.step}" on ${j.refusal.target})`
    case "aborted":
      return j.abort === undefined ? j.summary : `aborted (${j.abort.cause}): ${j.abort.detail}`
    case "invalid":
    case "rollback-incomplete":
      return j.summary
    default:
      return undefined
  }
}

export const statusWord: Readonly<Record<Journal["status"], string>> = {
  passed: "PASSED",
  failed: "FAILED",
  refused: "REFUSED",
  aborted: "ABORTED",
  invalid: "INVALID",
  "rollback-incomplete": "ROLLBACK INCOMPLETE",
}

/** What a repeated check's samples showed, in a few words: `7 of 15 samples did not match, first at +412 ms`. */
export const samplesLine = (s: StepRecord): string | undefined => {
  const x = s.sampling
  if (x === undefined || x.violated === 0) return undefined
  return `${x.violated} of ${s.samples ?? x.kept.length + x.dropped} samples did not match, first at +${x.firstViolationMs ?? 0} ms${x.dropped > 0 ? ` (${x.kept.length} kept in the journal)` : ""}`
}

/** The step a finding came from (the violated check with its id and phase). */
export const stepOf = (j: Journal, f: { readonly id: string; readonly phase: StepRecord["phase"] }): StepRecord | undefined =>
  j.steps.find((s) => s.id === f.id && s.phase === f.phase && s.outcome === "violated")

export type MetricName = "time-to-detect" | "time-to-recover"

/** A run's time-to-detect or time-to-recover: the slowest measured, and the checks that saw nothing. */
export interface Timing {
  readonly name: MetricName
  /** Checks measuring it. */
  readonly checks: number
  /** The slowest measured time, when any check matched. */
  readonly worstMs?: number
  /** Checks whose expectation never matched: nothing was detected, or nothing recovered. */
  readonly missed: number
  /** Checks that matched after their deadline. */
  readonly late: number
}

const measures = (s: StepRecord, name: MetricName) =>
  s.kind === "check" && (s.metric?.name === name || (s.metric === undefined && (name === "time-to-detect" ? / detected within /.test(s.id) : / eventually \(within /.test(s.id))))

/** The run's time-to-detect or time-to-recover, or undefined when no check measured it. */
export const timing = (j: Journal, name: MetricName): Timing | undefined => {
  const steps = j.steps.filter((s) => measures(s, name))
  if (steps.length === 0) return undefined
  const measured = steps.flatMap((s) => (s.metric === undefined ? [] : [s.metric.ms]))
  return {
    name,
    checks: steps.length,
    ...(measured.length === 0 ? {} : { worstMs: Math.max(...measured) }),
    missed: steps.filter((s) => s.metric === undefined && s.outcome !== "held").length,
    late: steps.filter((s) => s.metric !== undefined && s.outcome === "violated").length,
  }
}

/** A timing as a table cell: `420 ms`, `2513 ms (late)`, `not detected`, or `—`. */
export const timingText = (t: Timing | undefined): string => {
  if (t === undefined) return "—"
  const never = t.name === "time-to-detect" ? "not detected" : "not recovered"
  if (t.worstMs === undefined) return t.missed > 0 ? never : "—"
  return `${t.worstMs} ms${t.late > 0 ? " (late)" : ""}${t.missed > 0 ? `; ${t.missed} ${never}` : ""}`
}

/** Failures first: the order a game day's runs are shown in (stable within a status). */
export const statusRank: Readonly<Record<Journal["status"], number>> = { "rollback-incomplete": 0, failed: 1, aborted: 2, refused: 3, invalid: 4, passed: 5 }

/**
 * A game day's time-to-detect or time-to-recover across runs, in one line:
 * `4 runs: median 420 ms, slowest 1200 ms (gateway.alerts); 1 run: not detected`; undefined when
 * no run measured it.
 */
export const acrossRuns = (journals: ReadonlyArray<Journal>, name: MetricName): string | undefined => {
  const runs = journals.flatMap((j) => {
    const t = timing(j, name)
    return t === undefined ? [] : [{ j, t }]
  })
  if (runs.length === 0) return undefined
  const measured = runs.flatMap(({ j, t }) => (t.worstMs === undefined ? [] : [{ id: j.experiment.id, ms: t.worstMs }])).sort((a, b) => a.ms - b.ms)
  const missed = runs.filter(({ t }) => t.missed > 0).length
  const late = runs.filter(({ t }) => t.late > 0).length
  const slowest = measured[measured.length - 1]
  const median = measured.length === 0 ? undefined : measured.length % 2 === 1 ? measured[(measured.length - 1) / 2]?.ms : ((measured[measured.length / 2 - 1]?.ms ?? 0) + (measured[measured.length / 2]?.ms ?? 0)) / 2
  const parts = [
    ...(slowest === undefined ? [] : [`${measured.length} run${measured.length === 1 ? "" : "s"} measured: median ${Math.round(median ?? 0)} ms, slowest ${slowest.ms} ms (${slowest.id})`]),
    ...(late === 0 ? [] : [`${late} past the deadline`]),
    ...(missed === 0 ? [] : [`${missed} run${missed === 1 ? "" : "s"} ${name === "time-to-detect" ? "detected nothing" : "did not recover"}`]),
  ]
  return parts.join("; ")
}
