/**
 * Running a check: one observation, rounds of observations `during` the faults (bursts run
 * concurrently), or polling until it holds (`eventually`, measuring time-to-recover or, from the
 * last injection, time-to-detect). A violation is a finding; a probe error fails the step.
 */
import { Cause, Clock, Effect, Exit } from "effect"
import type { Check, Mode } from "../Expect.ts"
import * as Journal from "../Journal.ts"
import type { Probe } from "../Probe.ts"
import { describeUnknown, fail, isShiftupError, ProbeFailed, RecoveryNotObserved, type ShiftupError } from "../ShiftupError.ts"
import { iso, type Recorder } from "./record.ts"
import { duringEvidence, pollEvidence, SampleLog } from "./samples.ts"

export interface CheckEnv {
  readonly recorder: Recorder
  /** Observes through the budget's probe rate. */
  readonly observe: <A>(probe: Probe<A>) => Effect.Effect<A, ShiftupError>
  /** When the last fault was injected, for time-to-detect. */
  readonly lastInjection: () => number | undefined
}

interface Outcome {
  violated: boolean
  violating: unknown
  last: unknown
  metric: Journal.StepRecord["metric"] | undefined
  /** Every sample, counted, and kept up to a bound; set when the check starts observing. */
  log: SampleLog | undefined
}

const observeAll = <A>(check: Check<A>, env: CheckEnv, o: Outcome): Effect.Effect<void, ShiftupError> =>
  Effect.gen(function* () {
    const mode = check.mode
    // Virtual time in tests (TestClock); the wall clock in a run.
    const started = yield* Clock.currentTimeMillis
    const log = (o.log = new SampleLog({ startedAt: started, injectedAt: env.lastInjection(), snapshot: Journal.snapshot }))
    if (mode._tag === "during") {
      // Each sample is dated by its answer, and recorded as it arrives (a burst's answers interleave).
      const see = (v: A) =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          o.last = v
          const held = check.matcher.test(v)
          log.add(at, held, { value: v })
          if (!held && !o.violated) {
            o.violated = true
            o.violating = v
          }
        })
      for (let round = 0; round < mode.samples; round++) {
        if (round > 0) yield* Effect.sleep(mode.everyMs)
        yield* Effect.forEach(Array.from({ length: mode.burst }), () => Effect.flatMap(env.observe(check.probe), see), { concurrency: mode.burst, discard: true })
      }
      return
    }
    if (mode._tag === "once") return
    const since = mode.since === "last-fault" ? (env.lastInjection() ?? started) : started
    const deadline = since + mode.withinMs
    for (;;) {
      const r = yield* Effect.exit(env.observe(check.probe))
      // An observation is dated by its answer: one sent before the deadline but answered after
      // it is late, since what it saw may have happened after the deadline.
      const at = yield* Clock.currentTimeMillis
      if (Exit.isSuccess(r)) {
        o.last = r.value
        const matched = check.matcher.test(r.value)
        log.add(at, matched, { value: r.value })
        if (matched) {
          // Measured even when late (a check delayed by an earlier step), so the finding says by how much.
          o.metric = { name: mode.metric, ms: at - since }
          if (at > deadline) {
            o.violated = true
            o.violating = r.value
          }
          return
        }
      } else {
        const error = describeUnknown(Cause.squash(r.cause))
        o.last = `error: ${error}`
        log.add(at, false, { error })
      }
      if (at >= deadline) {
        o.violated = true
        o.violating = o.last
        return
      }
      // The last poll falls on the deadline itself.
      yield* Effect.sleep(Math.min(mode.everyMs, deadline - at))
    }
  })

/**
 * A single observation, without generators: the common case and the runner's hot path. A
 * matcher that throws fails the step like a probe error.
 */
const runOnce = <A>(check: Check<A>, phase: Journal.Phase, env: CheckEnv): Effect.Effect<boolean, ShiftupError> =>
  Effect.suspend(() => {
    env.recorder.emit({ _tag: "StepStarted", id: check.id, phase, kind: "check" })
    return Effect.flatMap(Clock.currentTimeMillis, (t0) =>
      Effect.flatMap(
        Effect.exit(
          Effect.flatMap(env.observe(check.probe), (value) =>
            Effect.try({ try: () => ({ value, held: check.matcher.test(value) }), catch: (e) => fail(new ProbeFailed({ probe: check.probe.id, target: check.probe.target.id, detail: `matcher "${check.matcher.describe}" threw: ${describeUnknown(e)}` })) }),
          ),
        ),
        (exit) => Effect.flatMap(Clock.currentTimeMillis, (t1) => {
          const base = { id: check.id, phase, kind: "check" as const, target: check.probe.target.id, startedAt: iso(t0), endedAt: iso(t1), durationMs: t1 - t0, expected: check.matcher.describe, samples: 1 }
          if (Exit.isFailure(exit)) {
            const error = Cause.squash(exit.cause)
            // A probe that measured a recovery and saw none reports the system's answer: a finding.
            if (isShiftupError(error) && error._tag === "RecoveryNotObserved") {
              env.recorder.step({ ...base, outcome: "violated", observed: error.last, message: error.message })
              env.recorder.findings.push(finding(check, phase, error.last))
              return Effect.succeed(false)
            }
            env.recorder.step({ ...base, outcome: "error", message: describeUnknown(error) })
            return Effect.failCause(exit.cause)
          }
          const observed = Journal.snapshot(exit.value.value)
          env.recorder.step({ ...base, outcome: exit.value.held ? "held" : "violated", observed })
          if (!exit.value.held) env.recorder.findings.push(finding(check, phase, observed))
          return Effect.succeed(exit.value.held)
        }),
      ),
    )
  })

const finding = <A>(check: Check<A>, phase: Journal.Phase, observed: unknown, evidence?: string): Journal.Finding => ({
  id: check.id,
  severity: check.severity,
  title: check.title,
  phase,
  target: check.probe.target.id,
  expected: check.matcher.describe + (check.mode._tag === "eventually" ? ` within ${check.mode.withinMs} ms` : ""),
  observed,
  ...(evidence === undefined ? {} : { evidence }),
  ...(check.remediation === undefined ? {} : { remediation: check.remediation }),
  ...(check.cwe === undefined ? {} : { cwe: check.cwe }),
})

/** Runs one check and records it; succeeds with whether it held. */
export const runCheck = <A>(check: Check<A>, phase: Journal.Phase, env: CheckEnv): Effect.Effect<boolean, ShiftupError> =>
  check.mode._tag === "once" ? runOnce(check, phase, env) : runRepeated(check, phase, env)

const runRepeated = <A>(check: Check<A>, phase: Journal.Phase, env: CheckEnv): Effect.Effect<boolean, ShiftupError> =>
  Effect.gen(function* () {
    const target = check.probe.target.id
    const mode = check.mode
    const o: Outcome = { violated: false, violating: undefined, last: undefined, metric: undefined, log: undefined }
    const { exit, t0, t1 } = yield* env.recorder.timed(check.id, phase, "check", observeAll(check, env, o))
    const sampling = o.log?.sampling()
    const base = {
      id: check.id,
      phase,
      kind: "check" as const,
      target,
      startedAt: iso(t0),
      endedAt: iso(t1),
      durationMs: t1 - t0,
      expected: check.matcher.describe,
      samples: o.log?.total ?? 0,
      ...(sampling === undefined ? {} : { sampling }),
    }
    if (Exit.isFailure(exit)) {
      env.recorder.step({ ...base, outcome: "error", message: describeUnknown(Cause.squash(exit.cause)) })
      return yield* Effect.failCause(exit.cause)
    }
    const observed = Journal.snapshot(o.violated ? o.violating : o.last)
    const late = o.violated && mode._tag === "eventually" ? lateness(check.id, mode, o.metric, observed) : undefined
    env.recorder.step({ ...base, outcome: o.violated ? "violated" : "held", observed, ...(o.metric === undefined ? {} : { metric: o.metric }), ...(late === undefined ? {} : { message: late.message }) })
    if (o.violated) {
      const log = o.log
      const evidence = log === undefined ? undefined : mode._tag === "during" ? duringEvidence(log, check.matcher.describe, sampling?.sinceInjectionMs) : pollEvidence(log, o.metric === undefined ? undefined : log.lastAtMs)
      env.recorder.findings.push(finding(check, phase, late?.observed ?? observed, evidence))
    }
    return !o.violated
  })

/**
 * What a violated `eventually` says: it never matched within its window, or it matched only
 * after its deadline (`metric` then holds the measured time, and the finding says it).
 */
const lateness = (id: string, mode: Extract<Mode, { _tag: "eventually" }>, metric: Outcome["metric"], observed: unknown): { readonly message: string; readonly observed?: string } => {
  if (metric === undefined) return { message: new RecoveryNotObserved({ check: id, withinMs: mode.withinMs, last: JSON.stringify(observed) ?? "nothing" }).message }
  const when = `${mode.metric === "time-to-detect" ? "detected" : "matched"} after ${metric.ms} ms, deadline ${mode.withinMs} ms`
  return { message: `"${id}" ${when}`, observed: `${JSON.stringify(observed) ?? "nothing"}, ${when}` }
}
