/**
 * Every sample of a repeated check: counted exactly, kept up to a bound, dated from the check's
 * start (virtual time here), and summed up in the finding ("7 of 15 samples observed 200, first
 * at +400 ms").
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Expect, Journal, Probe, ProbeFailed, Target } from "shiftup"
import { observeOf } from "../../../src/internal/capability.ts"
import { runCheck } from "../../../src/internal/checks.ts"
import { Recorder } from "../../../src/internal/record.ts"
import { SampleLog } from "../../../src/internal/samples.ts"

const t = Target.make("lab", { kind: "test", environment: "lab" })

/** A status probe answering 200 on the listed requests (1-based) and 401 otherwise, after `latencyMs`. */
const statuses = (open: ReadonlySet<number>, latencyMs = 0) => {
  let n = 0
  return Probe.make({ id: "GET /admin", target: t, observe: Effect.andThen(Effect.sleep(latencyMs), Effect.sync(() => (open.has(++n) ? 200 : 401))) })
}

const runAt = <A>(check: Expect.Check<A>, startMs: number, injectedAtMs?: number) =>
  Effect.gen(function* () {
    const recorder = new Recorder(undefined)
    yield* TestClock.setTime(startMs)
    const fiber = yield* Effect.forkChild(runCheck(check, "method", { recorder, observe: (p) => observeOf(p), lastInjection: () => injectedAtMs }))
    yield* TestClock.adjust("10 minutes")
    const held = yield* Fiber.join(fiber)
    return { held, step: recorder.steps[0], findings: recorder.findings }
  })

describe("during: every sample is journaled", () => {
  it.effect("15 samples, 7 answered 200: the counts, each sample, the first violation's offset and the finding's sentence", () =>
    Effect.gen(function* () {
      const open = new Set([5, 6, 9, 10, 11, 14, 15])
      const r = yield* runAt(Expect.during(statuses(open, 10), Expect.never(200), { samples: 15, every: "100 millis" }), 1000, 800)
      expect(r.held).toBe(false)
      const s = r.step?.sampling
      expect(r.step?.samples).toBe(15)
      expect(s?.violated).toBe(7)
      // the 5th answer: 4 pauses of 100 ms and 5 answers of 10 ms
      expect(s?.firstViolationMs).toBe(450)
      expect(s?.sinceInjectionMs).toBe(200)
      expect(s?.dropped).toBe(0)
      expect(s?.kept.map((x) => x.atMs)).toEqual(Array.from({ length: 15 }, (_, i) => i * 110 + 10))
      expect(s?.kept.map((x) => x.value)).toEqual(Array.from({ length: 15 }, (_, i) => (open.has(i + 1) ? 200 : 401)))
      expect(s?.kept.filter((x) => !x.held)).toHaveLength(7)
      expect(r.findings[0]?.observed).toBe(200)
      expect(r.findings[0]?.evidence).toBe("7 of 15 samples observed 200, first at +450 ms (650 ms after the last injection)")
    }),
  )

  it.effect("a burst: answers recorded as they arrive; different violating values are listed with their counts", () =>
    Effect.gen(function* () {
      let n = 0
      const probe = Probe.make({ id: "p", target: t, observe: Effect.sync(() => [401, 200, 500, 200][n++ % 4] as number) })
      const r = yield* runAt(Expect.during(probe, Expect.oneOf(401, 403), { samples: 3, burst: 4, every: "50 millis" }), 0)
      expect(r.step?.samples).toBe(12)
      expect(r.step?.sampling?.violated).toBe(9)
      expect(r.step?.sampling?.sinceInjectionMs).toBeUndefined()
      expect(r.findings[0]?.evidence).toBe('9 of 12 samples violated "one of 401, 403" (200 ×6, 500 ×3), first at +0 ms')
    }),
  )

  it.effect("a check of 10,000 samples journals a step of kilobytes: counts exact, at most 750 samples kept", () =>
    Effect.gen(function* () {
      const open = new Set(Array.from({ length: 10_000 }, (_, i) => i + 1).filter((n) => n % 100 === 37))
      const r = yield* runAt(Expect.during(statuses(open), Expect.never(200), { samples: 2000, burst: 5, every: "1 millis" }), 0)
      expect(r.step?.samples).toBe(10_000)
      expect(r.step?.sampling?.violated).toBe(100)
      expect(r.step?.sampling?.kept.filter((x) => !x.held)).toHaveLength(100)
      expect((r.step?.sampling?.kept.length ?? 0) + (r.step?.sampling?.dropped ?? 0)).toBe(10_000)
      expect(r.step?.sampling?.kept.length).toBeLessThanOrEqual(750)
      expect(JSON.stringify(r.step).length).toBeLessThan(40_000)
      expect(r.findings[0]?.evidence).toMatch(/^100 of 10000 samples observed 200, first at \+\d+ ms$/)
    }),
  )

  it.effect("a check that held still journals its samples, with no violation", () =>
    Effect.gen(function* () {
      const r = yield* runAt(Expect.during(statuses(new Set()), Expect.never(200), { samples: 4, every: "10 millis" }), 0)
      expect(r.held).toBe(true)
      expect(r.step?.sampling).toEqual({ violated: 0, kept: [0, 10, 20, 30].map((atMs) => ({ atMs, held: true, value: 401 })), dropped: 0 })
      expect(r.findings).toEqual([])
    }),
  )
})

describe("eventually / detects: every poll is a sample", () => {
  it.effect("polls through errors until a match: errors and values kept, the match last", () =>
    Effect.gen(function* () {
      let n = 0
      const probe = Probe.make({ id: "health", target: t, observe: Effect.suspend(() => (++n <= 2 ? Effect.fail(new ProbeFailed({ probe: "health", target: "lab", detail: `refused #${n}` })) : Effect.succeed(n >= 4 ? 200 : 503))) })
      const r = yield* runAt(Expect.eventually(probe, 200, { within: "1 second", every: "100 millis" }), 0)
      expect(r.held).toBe(true)
      expect(r.step?.sampling?.kept).toEqual([
        { atMs: 0, held: false, error: expect.stringContaining("refused #1") },
        { atMs: 100, held: false, error: expect.stringContaining("refused #2") },
        { atMs: 200, held: false, value: 503 },
        { atMs: 300, held: true, value: 200 },
      ])
      expect(r.step?.sampling?.violated).toBe(3)
    }),
  )

  it.effect("a detection that never comes: the finding says none of the samples matched", () =>
    Effect.gen(function* () {
      const probe = Probe.make({ id: "alerts", target: t, observe: Effect.map(Clock.currentTimeMillis, () => 0) })
      const r = yield* runAt(Expect.detects(probe, Expect.predicate("at least 1", (x: number) => x >= 1), { within: "500 millis", every: "100 millis" }), 100, 0)
      expect(r.held).toBe(false)
      expect(r.step?.sampling).toMatchObject({ violated: 5, sinceInjectionMs: 100, dropped: 0 })
      expect(r.findings[0]?.evidence).toBe("none of 5 samples matched")
    }),
  )
})

describe("SampleLog: bounded, counts exact", () => {
  const fill = (n: number, violatesAt: (i: number) => boolean, value: (i: number) => unknown = (i) => (violatesAt(i) ? 200 : 401)) => {
    const log = new SampleLog({ startedAt: 1000, injectedAt: undefined, snapshot: Journal.snapshot })
    for (let i = 0; i < n; i++) log.add(1000 + i, !violatesAt(i), { value: value(i) })
    return log
  }

  it("keeps every sample up to 500", () => {
    const s = fill(500, (i) => i % 7 === 0).sampling()
    expect(s.kept).toHaveLength(500)
    expect(s.dropped).toBe(0)
    expect(s.violated).toBe(72)
  })

  it("10,000 samples: at most 750 kept (a uniform subsample and the first 250 violations), the rest counted as dropped, the counts exact, the JSON small", () => {
    const violates = (i: number) => i % 13 === 5
    const s = fill(10_000, violates, (i) => ({ status: violates(i) ? 200 : 401, body: "x".repeat(5000) })).sampling()
    expect(s.violated).toBe(Array.from({ length: 10_000 }, (_, i) => i).filter(violates).length)
    expect(s.firstViolationMs).toBe(5)
    expect(s.kept.length).toBeLessThanOrEqual(750)
    expect(s.kept.length + s.dropped).toBe(10_000)
    // in arrival order, the first 250 violations all there, the held ones spread over the whole run
    const at = s.kept.map((x) => x.atMs)
    expect(at).toEqual([...at].sort((a, b) => a - b))
    expect(s.kept.filter((x) => !x.held).slice(0, 250).map((x) => x.atMs)).toEqual(Array.from({ length: 10_000 }, (_, i) => i).filter(violates).slice(0, 250))
    expect(Math.max(...s.kept.filter((x) => x.held).map((x) => x.atMs))).toBeGreaterThan(9000)
    // a large value is cut: the whole sampling stays well under a megabyte
    expect(JSON.stringify(s).length).toBeLessThan(250_000)
    expect(String(s.kept[0]?.value)).toMatch(/… \(\d+ chars\)$/)
  })
})
