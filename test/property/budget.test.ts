/**
 * Invariant 4: the blast-radius budget is never exceeded. A static plan over budget is refused
 * (`budget.*`) before any contact; a generator-form experiment is checked at every injection:
 * outside its manifest → `OutsideManifest`, over budget → `BudgetExceeded`, and in every case
 * the active faults never outnumber `maxConcurrentFaults` and destroys stay within
 * `maxDestroySteps`. Config caps only tighten the experiment's budget.
 */
import { Cause, Effect, Exit } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Experiment, Runner, Step, Target, type ShiftupError } from "shiftup"
import { labTarget, withWorld } from "../support/prop-world.ts"

const limit = fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined })
const tightest = (...xs: ReadonlyArray<number | undefined>): number => Math.min(...xs.filter((x): x is number => x !== undefined))

/** Budget keys present only when a value was drawn (exactOptionalPropertyTypes). */
const defined = <T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> }

describe("the budget is never exceeded (invariant 4)", () => {
  it("static plans: over budget is refused with a budget rule before any contact; within budget never exceeds it", async () => {
    const spec = fc.record({
      // Population of each lab target's selector (one member is picked).
      populations: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      faults: fc.array(fc.record({ target: fc.nat(), destroy: fc.boolean() }), { maxLength: 5 }),
      probes: fc.array(fc.nat(), { maxLength: 3 }),
      budget: fc.record({ maxTargets: limit, maxConcurrentFaults: limit, maxDestroySteps: limit, maxPercent: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }) }),
      caps: fc.record({ maxTargets: limit, maxConcurrentFaults: limit, maxDestroySteps: limit }),
    })
    let refusedRuns = 0
    let passedRuns = 0
    await fc.assert(
      fc.asyncProperty(spec, async (s) =>
        withWorld(async (w) => {
          const targets = s.populations.map((population, i) =>
            labTarget(`lab${i}`, { resolve: Effect.succeed({ members: [{ id: `lab${i}-member` }], population }) }),
          )
          const at = (n: number) => targets[n % targets.length] as Target.Target
          const method = [
            ...s.faults.flatMap((f, i) => [w.fault(`f${i}`, at(f.target), { safety: f.destroy ? "destroy" : "disrupt" }), Step.wait(1)]),
            ...s.probes.map((n, i) => w.probe(`p${i}`, at(n))),
          ]
          const experiment = Experiment.make({
            id: "prop.budget.static",
            title: "static budget",
            targets: Object.fromEntries(targets.map((t) => [t.id, t])),
            budget: defined(s.budget),
            method,
          })
          const journal = await Runner.runPromise(experiment, w.options({ budget: defined(s.caps) }))

          // The model: defaults (DESIGN/Budget.ts), the experiment's value, then the config cap: tightest wins.
          const max = {
            targets: tightest(s.budget.maxTargets ?? 10, s.caps.maxTargets),
            concurrent: tightest(s.budget.maxConcurrentFaults ?? 3, s.caps.maxConcurrentFaults),
            destroy: tightest(s.budget.maxDestroySteps ?? 0, s.caps.maxDestroySteps),
            percent: s.budget.maxPercent ?? 100,
          }
          const touched = new Set([...s.faults.map((f) => at(f.target).id), ...s.probes.map((n) => at(n).id)])
          const destroys = s.faults.filter((f) => f.destroy).length
          const percent = Math.max(0, ...s.faults.map((f) => 100 / (s.populations[f.target % targets.length] ?? 1)))
          const exceeded = [
            ...(touched.size > max.targets ? ["budget.max-targets"] : []),
            ...(s.faults.length > max.concurrent ? ["budget.max-concurrent-faults"] : []),
            ...(destroys > max.destroy ? ["budget.max-destroy-steps"] : []),
            ...(percent > max.percent ? ["budget.max-percent"] : []),
          ]
          expect(journal.plan?.budget.maxConcurrentFaults).toBe(max.concurrent)
          expect(journal.plan?.budget.maxDestroySteps).toBe(max.destroy)
          expect(journal.plan?.budget.maxTargets).toBe(max.targets)
          if (exceeded.length > 0) {
            refusedRuns++
            expect(journal.status).toBe("refused")
            expect(journal.exitCode).toBe(2)
            expect(exceeded).toContain(journal.refusal?.rule)
            expect(journal.errors.map((e) => e.tag)).toEqual(["BudgetExceeded"])
            expect(w.contacts).toEqual([])
          } else {
            passedRuns++
            expect(journal.status).toBe("passed")
            expect(w.injected).toHaveLength(s.faults.length)
          }
          expect(w.maxActive).toBeLessThanOrEqual(max.concurrent)
          expect(w.injected.filter((id) => s.faults[Number(id.slice(1))]?.destroy === true).length).toBeLessThanOrEqual(max.destroy)
          expect(new Set(w.contacts.map((c) => c.target)).size).toBeLessThanOrEqual(max.targets)
        }),
      ),
      { numRuns: 100 },
    )
    expect(refusedRuns).toBeGreaterThan(10)
    expect(passedRuns).toBeGreaterThan(10)
  })

  it("generator form: every injection is checked against the manifest and the budget", async () => {
    type Key = "labA" | "labB" | "stg" | "undeclared"
    const spec = fc.record({
      manifest: fc.record({ labA: fc.constantFrom("disrupt", "destroy", undefined), labB: fc.constantFrom("disrupt", "destroy", undefined), stg: fc.constantFrom("disrupt", undefined) }),
      attempts: fc.array(fc.record({ target: fc.constantFrom<Key>("labA", "labB", "stg", "undeclared"), destroy: fc.boolean(), observeFirst: fc.boolean() }), { maxLength: 8 }),
      maxConcurrentFaults: fc.integer({ min: 0, max: 4 }),
      maxDestroySteps: fc.integer({ min: 0, max: 3 }),
    })
    let planRefusals = 0
    let outside = 0
    let overBudget = 0
    let ok = 0
    await fc.assert(
      fc.asyncProperty(spec, async (s) =>
        withWorld(async (w) => {
          const targets = { labA: labTarget("labA"), labB: labTarget("labB"), stg: Target.make("stg", { environment: "staging" }) }
          const undeclared = labTarget("undeclared")
          const mayInject = defined(s.manifest) as Record<string, "disrupt" | "destroy">
          const outcomes: Array<string> = []
          const experiment = Experiment.gen(
            {
              id: "prop.budget.gen",
              title: "generator budget",
              targets,
              mayInject,
              budget: { maxConcurrentFaults: s.maxConcurrentFaults, maxDestroySteps: s.maxDestroySteps },
            },
            function* (ctx) {
              for (const [i, a] of s.attempts.entries()) {
                const target = a.target === "undeclared" ? undeclared : targets[a.target]
                if (a.observeFirst) yield* Effect.exit(ctx.observe(w.probe(`look ${i}`, target)))
                const exit: Exit.Exit<void, ShiftupError> = yield* Effect.exit(ctx.inject(w.fault(`f${i}`, target, { safety: a.destroy ? "destroy" : "disrupt" })))
                if (Exit.isSuccess(exit)) outcomes.push("ok")
                else {
                  const e = Cause.squash(exit.cause) as ShiftupError
                  outcomes.push(e._tag === "BudgetExceeded" ? e.rule : e._tag)
                }
              }
            },
          )
          const journal = await Runner.runPromise(experiment, w.options())

          // At plan time a manifest allowing destroy counts as one destroy step.
          if (Object.values(mayInject).includes("destroy") && s.maxDestroySteps === 0) {
            planRefusals++
            expect(journal.status).toBe("refused")
            expect(journal.refusal?.rule).toBe("budget.max-destroy-steps")
            expect(w.contacts).toEqual([])
            return
          }
          // The model: manifest first, then the budget, in the order of the attempts.
          const rank = { disrupt: 1, destroy: 2 }
          let active = 0
          let destroys = 0
          const want = s.attempts.map((a) => {
            const allowed = a.target === "undeclared" ? undefined : mayInject[a.target]
            if (allowed === undefined || rank[a.destroy ? "destroy" : "disrupt"] > rank[allowed]) return "OutsideManifest"
            if (active + 1 > s.maxConcurrentFaults) return "budget.max-concurrent-faults"
            if (a.destroy && destroys + 1 > s.maxDestroySteps) return "budget.max-destroy-steps"
            active++
            if (a.destroy) destroys++
            return "ok"
          })
          expect(outcomes).toEqual(want)
          for (const o of outcomes) {
            if (o === "ok") ok++
            else if (o === "OutsideManifest") outside++
            else overBudget++
          }

          // Refused injections never reach the target; accepted ones are all rolled back, newest first.
          const accepted = s.attempts.flatMap((_, i) => (want[i] === "ok" ? [`f${i}`] : []))
          expect(w.injected).toEqual(accepted)
          expect(w.compensated).toEqual([...accepted].reverse())
          expect(w.contactedTargets.has("undeclared")).toBe(false)
          expect(w.maxActive).toBeLessThanOrEqual(s.maxConcurrentFaults)
          expect(w.injected.filter((id) => s.attempts[Number(id.slice(1))]?.destroy === true).length).toBeLessThanOrEqual(s.maxDestroySteps)
          expect(journal.status).toBe("passed")
        }),
      ),
      { numRuns: 100 },
    )
    expect(planRefusals).toBeGreaterThan(3)
    expect(outside).toBeGreaterThan(10)
    expect(overBudget).toBeGreaterThan(10)
    expect(ok).toBeGreaterThan(10)
  })
})
