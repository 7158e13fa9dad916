/**
 * The deadlines of `eventually` and `detects`, on virtual time (TestClock), on both sides of
 * each boundary: an observation is dated by when its answer arrives; time-to-detect counts from
 * the injection, however late the check started; a match after the deadline is a finding that
 * still records the measured time.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Compensation, Expect, Experiment, Fault, Probe, Runner, Step, Target } from "shiftup"
import { runCheck } from "../../../src/internal/checks.ts"
import { Recorder } from "../../../src/internal/record.ts"
import { observeOf } from "../../../src/internal/capability.ts"

const t = Target.make("lab", { kind: "test", environment: "lab" })

/** A detector whose answer takes `latencyMs` and says whether the alert exists at the time it answers. */
const detector = (alertAtMs: number, latencyMs = 0) =>
  Probe.make({
    id: "alerts",
    target: t,
    observe: Effect.andThen(Effect.sleep(latencyMs), Effect.map(Clock.currentTimeMillis, (now) => (now >= alertAtMs ? 1 : 0))),
  })

const alerted = Expect.predicate("at least 1", (n: number) => n >= 1)

/**
 * Runs `check` from virtual time `startMs`, the last injection at `injectedAtMs`, and advances
 * the clock until it ends.
 */
const runAt = <A>(check: Expect.Check<A>, startMs: number, injectedAtMs?: number) =>
  Effect.gen(function* () {
    const recorder = new Recorder(undefined)
    yield* TestClock.setTime(startMs)
    const fiber = yield* Effect.forkChild(runCheck(check, "method", { recorder, observe: (p) => observeOf(p), lastInjection: () => injectedAtMs }))
    yield* TestClock.adjust("1 minute")
    const held = yield* Fiber.join(fiber)
    return { held, step: recorder.steps[0], findings: recorder.findings }
  })

describe("Expect.detects: the deadline counts from the injection", () => {
  const within = { within: "500 millis", every: "100 millis" } as const

  it.effect("an alert there at the deadline holds; one a millisecond later is a finding", () =>
    Effect.gen(function* () {
      const onTime = yield* runAt(Expect.detects(detector(500), alerted, within), 0, 0)
      expect(onTime.held).toBe(true)
      expect(onTime.step).toMatchObject({ outcome: "held", samples: 6, metric: { name: "time-to-detect", ms: 500 } })

      const late = yield* runAt(Expect.detects(detector(501), alerted, within), 0, 0)
      expect(late.held).toBe(false)
      expect(late.step).toMatchObject({ outcome: "violated", samples: 6, observed: 0 })
      expect(late.step?.metric).toBeUndefined()
      expect(late.step?.message).toContain("did not hold within 500 ms")
    }),
  )

  it.effect("a check that starts after the deadline fails even though its first sample sees the alert; the time is recorded", () =>
    Effect.gen(function* () {
      // An earlier step held the check up: it starts 2513 ms after the injection.
      const r = yield* runAt(Expect.detects(detector(0), alerted, within), 2513, 0)
      expect(r.held).toBe(false)
      expect(r.step).toMatchObject({ outcome: "violated", samples: 1, observed: 1, metric: { name: "time-to-detect", ms: 2513 } })
      expect(r.step?.message).toContain("detected after 2513 ms, deadline 500 ms")
      expect(r.findings).toHaveLength(1)
      expect(r.findings[0]).toMatchObject({ expected: "at least 1 within 500 ms", observed: "1, detected after 2513 ms, deadline 500 ms" })
    }),
  )

  it.effect("a check that starts just inside the deadline and sees the alert at once holds", () =>
    Effect.gen(function* () {
      const r = yield* runAt(Expect.detects(detector(0), alerted, within), 500, 0)
      expect(r.held).toBe(true)
      expect(r.step).toMatchObject({ outcome: "held", samples: 1, metric: { name: "time-to-detect", ms: 500 } })
    }),
  )

  it.effect("a sample sent before the deadline counts when its answer arrives: at the deadline it holds, after it it is late", () =>
    Effect.gen(function* () {
      // Polls start at 0, 200 and 400 and take 100 ms each: the third answer arrives at 500.
      const onTime = yield* runAt(Expect.detects(detector(450, 100), alerted, within), 0, 0)
      expect(onTime.step).toMatchObject({ outcome: "held", samples: 3, metric: { ms: 500 } })
      // Polls start at 0, 201 and 402 and take 101 ms: the third answer arrives at 503.
      const late = yield* runAt(Expect.detects(detector(450, 101), alerted, within), 0, 0)
      expect(late.step).toMatchObject({ outcome: "violated", samples: 3, observed: 1, metric: { ms: 503 } })
      expect(late.step?.message).toContain("detected after 503 ms, deadline 500 ms")
    }),
  )

  it.effect("without an injection the clock starts at the check", () =>
    Effect.gen(function* () {
      const r = yield* runAt(Expect.detects(detector(1300), alerted, within), 1000)
      expect(r.step).toMatchObject({ outcome: "held", metric: { ms: 300 } })
    }),
  )
})

describe("Expect.eventually: the deadline counts from the start of the check", () => {
  const within = { within: "1 second", every: "250 millis" } as const

  it.effect("recovered at the deadline holds; a millisecond later is a finding", () =>
    Effect.gen(function* () {
      const onTime = yield* runAt(Expect.eventually(detector(11_000), alerted, within), 10_000, 0)
      expect(onTime.step).toMatchObject({ outcome: "held", samples: 5, metric: { name: "time-to-recover", ms: 1000 } })
      const late = yield* runAt(Expect.eventually(detector(11_001), alerted, within), 10_000, 0)
      expect(late.step).toMatchObject({ outcome: "violated", samples: 5, observed: 0 })
      expect(late.step?.message).toContain("did not hold within 1000 ms")
    }),
  )

  it.effect("an answer that arrives after the deadline does not count as held", () =>
    Effect.gen(function* () {
      // One slow poll: sent at 0, answered at 1200, recovered by then.
      const r = yield* runAt(Expect.eventually(detector(0, 1200), alerted, within), 0)
      expect(r.held).toBe(false)
      expect(r.step).toMatchObject({ outcome: "violated", samples: 1, observed: 1, metric: { name: "time-to-recover", ms: 1200 } })
      expect(r.step?.message).toContain("matched after 1200 ms, deadline 1000 ms")
      const inTime = yield* runAt(Expect.eventually(detector(0, 1000), alerted, within), 0)
      expect(inTime.step).toMatchObject({ outcome: "held", samples: 1, metric: { ms: 1000 } })
    }),
  )
})

describe("through the runner, on virtual time: the injection and the check read the same clock", () => {
  /** A run whose detection needs `detectAfterMs` after the injection, behind a wait of `waitMs`. */
  const runWith = (waitMs: number, detectAfterMs: number) =>
    Effect.gen(function* () {
      let injectedAt: number | undefined
      const incident = Fault.make({
        id: "incident",
        target: t,
        compensation: Compensation.ephemeral({ target: "lab", description: "end it" }),
        inject: Effect.map(Clock.currentTimeMillis, (now) => void (injectedAt = now)),
        release: () => undefined,
      })
      const alerts = Probe.make({ id: "alerts", target: t, observe: Effect.map(Clock.currentTimeMillis, (now) => (injectedAt !== undefined && now - injectedAt >= detectAfterMs ? 1 : 0)) })
      const dir = mkdtempSync(join(tmpdir(), "shiftup-checks-"))
      // The budget's probe rate paces on real time; at this rate it never delays a poll.
      const experiment = Experiment.make({ id: "u.detect.virtual", title: "t", targets: { t }, budget: { maxProbeRate: 1_000_000 }, method: [incident, Step.wait(waitMs), Expect.detects(alerts, alerted, { within: "500 millis", every: "100 millis" })] })
      const fiber = yield* Effect.forkChild(Runner.run(experiment, { stateDir: dir, journal: false }))
      yield* TestClock.adjust("10 seconds")
      const journal = yield* Fiber.join(fiber)
      rmSync(dir, { recursive: true, force: true })
      return { journal, step: journal.steps.find((s) => s.kind === "check") }
    })

  it.effect("a wait of 2513 ms before the check: detected at its first sample, 2513 ms after the injection — a finding, exit 1", () =>
    Effect.gen(function* () {
      const { journal, step } = yield* runWith(2513, 0)
      expect(journal).toMatchObject({ status: "failed", exitCode: 1 })
      expect(step).toMatchObject({ outcome: "violated", samples: 1, metric: { name: "time-to-detect", ms: 2513 } })
    }),
  )

  it.effect("a wait of 400 ms and a detection at 500 ms: held, exit 0", () =>
    Effect.gen(function* () {
      const { journal, step } = yield* runWith(400, 500)
      expect(journal).toMatchObject({ status: "passed", exitCode: 0 })
      expect(step).toMatchObject({ outcome: "held", samples: 2, metric: { name: "time-to-detect", ms: 500 } })
    }),
  )
})
