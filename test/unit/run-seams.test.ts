/**
 * The run engine through its seams: an in-memory ledger store and journal sink, a run-events
 * listener, and Effect's TestClock driving every timing rule of a whole run — time-to-detect
 * deadlines, the method's maximum duration, a fault's maximum time, stop conditions and probe
 * pacing — with virtual minutes passing in milliseconds of real time.
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import { Clock, Duration, Effect, type Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { Expect, Experiment, type Journal, Probe, Runner, Step } from "shiftup"
import { JournalSink, LedgerStore, LedgerError, RunEvents } from "shiftup/advanced"
import { labTarget, withWorld, type World } from "../support/prop-world.ts"

const t = labTarget("lab")

/**
 * Runs `run` on virtual time: the clock moves `step` at a time, real IO (leases, the journal) gets
 * its turn between moves, until the run ends. Returns the journal and the real milliseconds taken.
 */
const onVirtualTime = (run: Effect.Effect<Journal.Journal>, layers: Layer.Layer<never> = Layer.empty, step: Duration.Input = "1 second", maxSteps = 3600) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const real = performance.now()
      const fiber: Fiber.Fiber<Journal.Journal> = yield* Effect.forkChild(run)
      for (let i = 0; i < maxSteps && fiber.pollUnsafe() === undefined; i++) {
        yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
        yield* TestClock.adjust(step)
      }
      const exit = fiber.pollUnsafe()
      if (exit === undefined) throw new Error(`the run did not end within ${maxSteps} virtual steps`)
      const journal = yield* exit
      return { journal, realMs: performance.now() - real, virtualMs: yield* Clock.currentTimeMillis }
    }).pipe(Effect.provide(Layer.merge(TestClock.layer(), layers))),
  )

/** An alert sink that has the alert from `firesAtMs` (virtual time) on. */
const alertSink = (w: World, firesAtMs: number) => Probe.make({ id: "alerts", target: t, observe: Effect.map(Clock.currentTimeMillis, (now) => (w.injected.length > 0 && now >= firesAtMs ? 1 : 0)) })

describe("the run's seams: ledger store, journal sink, run events", () => {
  it("a run with an in-memory ledger and journal writes no file; the records, the journal and the events are all there", () =>
    withWorld(async (w) => {
      const ledgers = LedgerStore.memory()
      const journals = JournalSink.memory()
      const events: Array<string> = []
      const e = Experiment.make({ id: "seams.memory", title: "t", targets: { t }, hypothesis: [Expect.that(w.probe("ok", t), true)], method: [w.fault("a", t)] })
      const layers = Layer.mergeAll(LedgerStore.layer(ledgers), JournalSink.layer(journals), RunEvents.layer((ev) => events.push(ev._tag)))
      const j = await Effect.runPromise(Runner.run(e, { ...w.options(), journal: join(w.stateDir, "j.json") }).pipe(Effect.provide(layers)))
      expect(j).toMatchObject({ status: "passed", exitCode: 0, ledger: `memory:${j.runId}` })
      expect(ledgers.records(j.runId).map((r) => r.type)).toEqual(["run", "intent", "applied", "rolled-back", "end"])
      expect(journals.journals.get(join(w.stateDir, "j.json"))).toEqual(j)
      expect(existsSync(join(w.stateDir, "ledger"))).toBe(false)
      expect(existsSync(join(w.stateDir, "j.json"))).toBe(false)
      expect(w.injected).toEqual(["a"])
      expect(w.compensated).toEqual(["a"])
      expect(events[0]).toBe("Planned")
      expect(events.at(-1)).toBe("Finished")
      expect(events).toContain("FaultActive")
      expect(events).toContain("RolledBack")
    }))

  it("a ledger that cannot take the intent: the fault is never injected, the earlier one is rolled back", () =>
    withWorld(async (w) => {
      const inner = LedgerStore.memory()
      let intents = 0
      const full: LedgerStore.LedgerStore = {
        ...inner,
        open: (o) =>
          Effect.map(inner.open(o), (writer) => ({
            ...writer,
            append: (r) => (r.type === "intent" && ++intents === 2 ? Effect.fail(new LedgerError({ path: writer.path, detail: "no space left on device", errno: "ENOSPC" })) : writer.append(r)),
          })),
      }
      const e = Experiment.make({ id: "seams.full", title: "t", targets: { t }, hypothesis: [Expect.that(w.probe("ok", t), true)], method: [w.fault("a", t), w.fault("b", t)] })
      const j = await Effect.runPromise(Runner.run(e, w.options()).pipe(Effect.provide(LedgerStore.layer(full))))
      expect(w.injected).toEqual(["a"])
      expect(w.compensated).toEqual(["a"])
      expect(j.status).toBe("aborted")
      expect(j.errors.map((x) => x.tag)).toContain("LedgerError")
      expect(j.rollbacks.map((r) => `${r.fault}:${r.outcome}`)).toEqual(["a:restored"])
    }))

  it("a journal sink that fails: the run says its journal was not written (exit 4), never a silent pass", () =>
    withWorld(async (w) => {
      const broken: JournalSink.JournalSink = { write: () => Effect.fail(new Error("read-only file system")) }
      const e = Experiment.make({ id: "seams.sink", title: "t", targets: { t }, hypothesis: [Expect.that(w.probe("ok", t), true)], method: [] })
      const j = await Effect.runPromise(Runner.run(e, { ...w.options(), journal: join(w.stateDir, "j.json") }).pipe(Effect.provide(JournalSink.layer(broken))))
      expect(j.exitCode).toBe(4)
      expect(j.summary).toContain("journal NOT written")
      expect(j.errors).toEqual([{ tag: "JournalWriteFailed", message: expect.stringContaining("read-only file system") }])
    }))
})

describe("timing rules of a whole run on virtual time (TestClock)", () => {
  const memory = () => Layer.merge(LedgerStore.layer(LedgerStore.memory()), JournalSink.layer(JournalSink.memory()))

  it("time-to-detect: an alert at 60 s of a 60 s deadline holds; one at 61 s is a finding, measured from the injection", () =>
    withWorld(async (w) => {
      const detectedBy = (firesAtMs: number) =>
        Experiment.make({
          id: `seams.detect.${firesAtMs}`,
          title: "t",
          targets: { t },
          method: [w.fault("rogue", t), Expect.detects(alertSink(w, firesAtMs), Expect.predicate("an alert", (n: number) => n >= 1), { within: "60 seconds", every: "5 seconds" })],
        })
      const onTime = await onVirtualTime(Runner.run(detectedBy(60_000), w.options()), memory())
      expect(onTime.journal).toMatchObject({ status: "passed", exitCode: 0 })
      expect(onTime.journal.steps.find((s) => s.kind === "check")).toMatchObject({ outcome: "held", metric: { name: "time-to-detect", ms: 60_000 }, samples: 13 })

      const late = await onVirtualTime(Runner.run(detectedBy(61_000), w.options()), memory())
      expect(late.journal).toMatchObject({ status: "failed", exitCode: 1 })
      expect(late.journal.steps.find((s) => s.kind === "check")).toMatchObject({ outcome: "violated", samples: 13 })
      expect(late.journal.findings).toHaveLength(1)
      // A virtual minute each, in well under a real one.
      expect(late.realMs).toBeLessThan(20_000)
      expect(w.compensated).toEqual(["rogue", "rogue"])
    }))

  it("budget.maxDuration: a 10-minute wait in a 5-minute budget aborts at 5 minutes of virtual time and rolls back", () =>
    withWorld(async (w) => {
      const e = Experiment.make({ id: "seams.deadline", title: "t", targets: { t }, budget: { maxDuration: "5 minutes" }, method: [w.fault("a", t), Step.wait("10 minutes")] })
      const r = await onVirtualTime(Runner.run(e, w.options()), memory())
      expect(r.journal).toMatchObject({ status: "aborted", exitCode: 3, abort: { cause: "timeout" } })
      expect(r.journal.durationMs).toBeGreaterThanOrEqual(300_000)
      expect(r.journal.durationMs).toBeLessThan(302_000)
      expect(r.journal.rollbacks.map((x) => `${x.fault}:${x.outcome}`)).toEqual(["a:restored"])
    }))

  it("budget.maxFaultTime: a fault held past its budget is aborted at that time, not at the method's end", () =>
    withWorld(async (w) => {
      const e = Experiment.make({ id: "seams.faulttime", title: "t", targets: { t }, budget: { maxFaultTime: "90 seconds" }, method: [w.fault("a", t), Step.wait("4 minutes")] })
      const r = await onVirtualTime(Runner.run(e, w.options()), memory())
      expect(r.journal).toMatchObject({ status: "aborted", exitCode: 3, abort: { cause: "budget" } })
      expect(r.journal.durationMs).toBeGreaterThanOrEqual(90_000)
      expect(r.journal.durationMs).toBeLessThan(92_000)
      expect(w.compensated).toEqual(["a"])
    }))

  it("a stop condition polled every 10 s aborts within one period of the system going bad, and rolls back", () =>
    withWorld(async (w) => {
      const healthy = Probe.make({ id: "health", target: t, observe: Effect.map(Clock.currentTimeMillis, (now) => now < 95_000) })
      const e = Experiment.make({ id: "seams.guard", title: "t", targets: { t }, stopWhen: [Expect.guard(healthy, true, { every: "10 seconds" })], method: [w.fault("a", t), Step.wait("10 minutes")] })
      const r = await onVirtualTime(Runner.run(e, w.options()), memory())
      expect(r.journal).toMatchObject({ status: "aborted", abort: { cause: "guard" } })
      // Bad from 95 s on; polled at 100 s.
      expect(r.journal.durationMs).toBeGreaterThanOrEqual(100_000)
      expect(r.journal.durationMs).toBeLessThan(101_000)
      expect(w.compensated).toEqual(["a"])
    }))

  it("probe pacing: at maxProbeRate 4/s, 12 observations of one target are 250 ms apart on the clock", () =>
    withWorld(async (w) => {
      const seen: Array<number> = []
      const probe = Probe.make({ id: "paced", target: t, observe: Effect.map(Clock.currentTimeMillis, (now) => seen.push(now) > 0) })
      const e = Experiment.make({ id: "seams.pacing", title: "t", targets: { t }, budget: { maxProbeRate: 4 }, method: [w.fault("a", t), Expect.during(probe, true, { samples: 4, burst: 3, every: "1 millis" })] })
      const r = await onVirtualTime(Runner.run(e, w.options()), memory(), "50 millis")
      expect(r.journal.status).toBe("passed")
      expect(seen).toHaveLength(12)
      seen.sort((a, b) => a - b)
      const gaps = seen.slice(1).map((at, i) => at - (seen[i] ?? 0))
      expect(gaps.every((g) => g >= 250)).toBe(true)
      expect((seen.at(-1) ?? 0) - (seen[0] ?? 0)).toBeLessThan(11 * 250 + 100)
    }))
})
