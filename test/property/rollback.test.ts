/**
 * Invariant 2: rollback always runs, in reverse order of injection, whatever ends the method —
 * a violated check, a probe that fails, an injection that throws, a stop condition, the
 * budget's deadlines, an AbortSignal, or the interruption of the run's fiber. Every fault whose
 * intent reached the ledger is compensated; a fault never reached is not.
 */
import { Effect, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Expect, Experiment, Journal, Runner, Step } from "shiftup"
import { isPrefix, isSubsequence, labTarget, withWorld, type World } from "../support/prop-world.ts"

type Scenario =
  | { readonly kind: "none" }
  | { readonly kind: "violated"; readonly at: number }
  | { readonly kind: "probe-error"; readonly at: number }
  | { readonly kind: "inject-fails"; readonly at: number }
  | { readonly kind: "guard"; readonly at: number }
  | { readonly kind: "timeout"; readonly at: number }
  | { readonly kind: "fault-time"; readonly at: number }
  | { readonly kind: "signal"; readonly afterFaults: number; readonly delayMs: number }
  | { readonly kind: "interrupt"; readonly afterFaults: number; readonly delayMs: number }

const at = fc.nat(6)
const scenarios: { readonly [K in Scenario["kind"]]: fc.Arbitrary<Extract<Scenario, { kind: K }>> } = {
  none: fc.constant({ kind: "none" }),
  violated: fc.record({ kind: fc.constant("violated"), at }),
  "probe-error": fc.record({ kind: fc.constant("probe-error"), at }),
  "inject-fails": fc.record({ kind: fc.constant("inject-fails"), at }),
  guard: fc.record({ kind: fc.constant("guard"), at }),
  timeout: fc.record({ kind: fc.constant("timeout"), at }),
  "fault-time": fc.record({ kind: fc.constant("fault-time"), at }),
  // A random point: once `afterFaults` faults are in (0: right away), plus a random delay.
  // Tied to progress rather than to the clock, so a loaded machine still gets every point.
  // A negative delay aborts the signal before the run even starts.
  signal: fc.record({ kind: fc.constant("signal"), afterFaults: at, delayMs: fc.integer({ min: -1, max: 5 }) }),
  interrupt: fc.record({ kind: fc.constant("interrupt"), afterFaults: at, delayMs: fc.integer({ min: 0, max: 5 }) }),
}

const titles: Record<Scenario["kind"], string> = {
  none: "the method completes",
  violated: "a check is violated (a finding; the method goes on)",
  "probe-error": "a check's probe fails",
  "inject-fails": "an injection throws at a random step",
  guard: "a stop condition (Expect.guard) trips",
  timeout: "budget.maxDuration runs out",
  "fault-time": "budget.maxFaultTime runs out",
  signal: "the AbortSignal is aborted at a random time",
  interrupt: "the Effect fiber running the experiment is interrupted at a random time",
}

/** Long enough that the event under test always ends the method first. */
const forever = 5_000

interface Built {
  readonly experiment: Experiment.Experiment
  /** The faults the method would inject if nothing stopped it, in order. */
  readonly order: ReadonlyArray<string>
  /** The faults that must be reached, when that does not depend on timing. */
  readonly reached?: ReadonlyArray<string>
  /** The journal's status and abort cause, when there is a journal. */
  readonly status?: Journal.Status
  readonly cause?: NonNullable<Journal.Journal["abort"]>["cause"]
  /** Bounds on the faults reached, when the exact number depends on timing. */
  readonly atMost?: number
  readonly atLeast?: number
}

type MethodStep = Experiment.Definition["method"][number]

const build = (w: World, faults: number, waits: boolean, s: Scenario): Built => {
  const t = labTarget("lab")
  const order = Array.from({ length: faults }, (_, i) => `f${i}`)
  // Where the scenario's event sits: before the at-th fault (0 … faults).
  const at = "at" in s ? s.at % (faults + 1) : faults
  const failing = s.kind === "inject-fails" && faults > 0 ? s.at % faults : -1
  let tripped = false
  const before: Array<Array<MethodStep>> = order.map(() => [])
  const after: Array<MethodStep> = []
  const place = (index: number, ...xs: Array<MethodStep>) => (index < faults ? before[index]?.push(...xs) : after.push(...xs))
  let budget: NonNullable<Experiment.Definition["budget"]> = { maxConcurrentFaults: 10 }
  let stopWhen: NonNullable<Experiment.Definition["stopWhen"]> = []
  let built: Omit<Built, "experiment" | "order">
  switch (s.kind) {
    case "none":
      built = { reached: order, status: "passed" }
      break
    case "violated":
      place(at, Expect.that(w.probe("violating probe", t, () => false), true))
      built = { reached: order, status: "failed" }
      break
    case "probe-error": {
      const broken = w.probe("throwing probe", t, (): boolean => {
        throw new Error("probe broke")
      })
      place(at, Expect.that(broken, true))
      built = { reached: order.slice(0, at), status: "aborted", cause: "error" }
      break
    }
    case "inject-fails":
      // The failing fault was ledgered before its inject ran, so it is reached and compensated.
      built = failing < 0 ? { reached: order, status: "passed" } : { reached: order.slice(0, failing + 1), status: "aborted", cause: "error" }
      break
    case "guard":
      stopWhen = [Expect.guard(w.probe("healthy", t, () => !tripped), true, { every: 1 })]
      place(
        at,
        w.probe("trip the guard", t, () => {
          tripped = true
          return true
        }),
        Step.wait(forever),
      )
      built = { reached: order.slice(0, at), status: "aborted", cause: "guard" }
      break
    case "timeout":
      budget = { ...budget, maxDuration: 30 }
      place(at, Step.wait(forever))
      built = { status: "aborted", cause: "timeout" }
      break
    case "fault-time": {
      // The fault clock starts at an injection, so the long wait comes after at least one fault.
      if (faults === 0) {
        built = { reached: order, status: "passed" }
        break
      }
      budget = { ...budget, maxFaultTime: 10 }
      const k = 1 + (s.at % faults)
      place(k, Step.wait(forever))
      // The first fault's clock may run out while later ones are still being injected: the
      // faults reached are a prefix, of at least one (and at most k) faults.
      built = { status: "aborted", cause: "budget", atMost: k }
      break
    }
    case "signal":
      // The method holds after `afterFaults` faults, so the abort (which waits for them, plus a
      // random delay) lands there even on a loaded machine; it may also land mid-injection.
      place(Math.min(s.afterFaults, faults), Step.wait(forever))
      after.push(Step.wait(forever))
      built = { status: "aborted", cause: "signal", atLeast: s.delayMs < 0 ? 0 : Math.min(s.afterFaults, faults) }
      break
    case "interrupt":
      place(Math.min(s.afterFaults, faults), Step.wait(forever))
      after.push(Step.wait(forever))
      built = { atLeast: Math.min(s.afterFaults, faults) }
      break
  }
  const method: Array<MethodStep> = []
  order.forEach((id, i) => {
    method.push(...(before[i] ?? []), w.fault(id, t, { fails: i === failing }))
    if (waits) method.push(Step.wait(1))
  })
  method.push(...after)
  const experiment = Experiment.make({ id: "prop.rollback", title: "rollback always runs", targets: { t }, budget, stopWhen, method })
  return { experiment, order, ...built }
}

/** Waits until `n` faults were injected (the method always gets there: it ends in a long wait). */
const injected = (w: World, n: number) =>
  Effect.gen(function* () {
    while (w.injected.length < n) yield* Effect.sleep(1)
  }).pipe(Effect.timeout(10_000))

const runScenario = async (w: World, e: Experiment.Experiment, s: Scenario, faults: number): Promise<Journal.Journal | undefined> => {
  if (s.kind === "interrupt") {
    return Effect.runPromise(
      Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(Runner.run(e, w.options()))
        yield* injected(w, Math.min(s.afterFaults, faults))
        if (s.delayMs > 0) yield* Effect.sleep(s.delayMs)
        yield* Fiber.interrupt(fiber)
        return undefined
      }),
    )
  }
  if (s.kind === "signal") {
    const controller = new AbortController()
    if (s.delayMs < 0) controller.abort("stopped before the start")
    const journal = Runner.runPromise(e, { ...w.options(), signal: controller.signal })
    await Effect.runPromise(injected(w, s.delayMs < 0 ? 0 : Math.min(s.afterFaults, faults)))
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, s.delayMs)))
    controller.abort("stopped by the test")
    return journal
  }
  return Runner.runPromise(e, w.options())
}

describe("rollback always runs, in reverse order (invariant 2)", () => {
  for (const kind of Object.keys(scenarios) as Array<Scenario["kind"]>) {
    it(`when ${titles[kind]}`, async () => {
      // How often the runs reached some faults, and stopped before the last: the generator must
      // produce both, or the property would hold vacuously.
      let reachedSome = 0
      let stoppedEarly = 0
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 5 }), fc.boolean(), scenarios[kind] as fc.Arbitrary<Scenario>, async (faults, waits, s) =>
          withWorld(async (w) => {
            const { experiment, order, reached, status, cause, atMost, atLeast } = build(w, faults, waits, s)
            const journal = await runScenario(w, experiment, s, faults)
            const intents = w.ledgerIntents()
            if (intents.length > 0) reachedSome++
            if (intents.length < order.length) stoppedEarly++

            // Faults are reached in method order, and only up to where the method stopped.
            expect(isPrefix(intents, order)).toBe(true)
            if (reached !== undefined) expect(intents).toEqual(reached)
            if (atMost !== undefined) expect(intents.length).toBeLessThanOrEqual(atMost)
            if (atLeast !== undefined) expect(intents.length).toBeGreaterThanOrEqual(atLeast)
            // Write-ahead: every inject ran after its intent was durable, and only for ledgered faults.
            expect(w.ledgeredBeforeInject.every((x) => x.ok)).toBe(true)
            expect(isSubsequence(w.injected, intents)).toBe(true)
            // The property: each ledgered fault is compensated exactly once, newest first; nothing else is.
            expect(w.compensated).toEqual([...intents].reverse())
            expect(w.active.size).toBe(0)
            expect(w.ledgerPending()).toEqual([])

            if (s.kind === "interrupt") return
            if (journal === undefined) return expect.fail("the Promise API must resolve with a journal")
            expect(journal.rollbacks.map((r) => r.fault)).toEqual([...intents].reverse())
            expect(journal.rollbacks.every((r) => r.outcome === "restored")).toBe(true)
            expect(journal.status).toBe(status)
            expect(journal.abort?.cause).toBe(cause)
            expect(journal.exitCode).toBe(Journal.exitCodes[journal.status])
          }),
        ),
        { numRuns: 25 },
      )
      expect(reachedSome).toBeGreaterThan(0)
      if (kind !== "none" && kind !== "violated") expect(stoppedEarly).toBeGreaterThan(0)
    })
  }
})
