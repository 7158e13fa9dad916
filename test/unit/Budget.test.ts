import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Target } from "shiftup"
import { Budget } from "shiftup/advanced"

describe("Budget.effective: the tightest limit wins", () => {
  it("defaults apply when nothing is given", () => {
    expect(Budget.effective(undefined, undefined)).toEqual(Budget.defaults)
    expect(Budget.defaults).toMatchObject({ maxTargets: 10, maxPercent: 100, maxConcurrentFaults: 3, maxDestroySteps: 0, maxFaultTimeMs: 300_000, maxDurationMs: 600_000, maxProbeRate: 200, egress: [] })
  })

  it("the experiment's budget replaces a default, in either direction", () => {
    const b = Budget.effective({ maxTargets: 50, maxConcurrentFaults: 1, maxDestroySteps: 2, maxDuration: "2 minutes", maxFaultTime: 1500, maxProbeRate: 20, maxPercent: 30 }, undefined)
    expect(b).toMatchObject({ maxTargets: 50, maxConcurrentFaults: 1, maxDestroySteps: 2, maxDurationMs: 120_000, maxFaultTimeMs: 1500, maxProbeRate: 20, maxPercent: 30 })
  })

  it("a config cap lowers the experiment's value but never raises it", () => {
    const b = Budget.effective({ maxTargets: 5, maxConcurrentFaults: 4, maxDestroySteps: 1, maxDuration: "1 minute" }, { maxTargets: 2, maxConcurrentFaults: 9, maxDestroySteps: 3, maxDuration: "10 minutes" })
    expect(b).toMatchObject({ maxTargets: 2, maxConcurrentFaults: 4, maxDestroySteps: 1, maxDurationMs: 60_000 })
  })

  it("a config cap lowers a default", () => {
    expect(Budget.effective({}, { maxConcurrentFaults: 1, maxDuration: "30 seconds" })).toMatchObject({ maxConcurrentFaults: 1, maxDurationMs: 30_000 })
    expect(Budget.effective({}, { maxDestroySteps: 5 }).maxDestroySteps).toBe(0)
  })

  it("the default probe rate depends on the environment; an experiment's rate applies everywhere; a cap lowers each", () => {
    expect(Budget.effective(undefined, undefined).probeRates).toEqual({ production: 200, staging: 1000, development: null, lab: null })
    expect(Budget.effective({ maxProbeRate: 50 }, undefined).probeRates).toEqual({ production: 50, staging: 50, development: 50, lab: 50 })
    expect(Budget.effective(undefined, { maxProbeRate: 100 }).probeRates).toEqual({ production: 100, staging: 100, development: 100, lab: 100 })
    expect(Budget.effective({ maxProbeRate: 5000 }, { maxProbeRate: 300 }).probeRates).toEqual({ production: 300, staging: 300, development: 300, lab: 300 })
  })

  it("a lab target runs unpaced by default, a production one at 200 per second (measured through a run)", async () => {
    const { Experiment, Expect, Probe, Target: Targets, run } = await import("shiftup")
    const { mkdtempSync } = await import("node:fs")
    const { tmpdir } = await import("node:os")
    const { join } = await import("node:path")
    const timeOf = async (target: Target.Target, observeProduction: boolean) => {
      const seen: Array<number> = []
      const probe = Probe.make({ id: "tick", target, observe: () => (seen.push(performance.now()), 1) })
      const j = await run(Experiment.make({ id: "pace", title: "t", targets: { target }, observeProduction, method: [Expect.during(probe, 1, { samples: 20, every: 0 })] }), { journal: false, stateDir: mkdtempSync(join(tmpdir(), "pace-")) })
      expect(j.status, j.summary).toBe("passed")
      return (seen.at(-1) ?? 0) - (seen[0] ?? 0)
    }
    // 20 observations: unpaced in a lab (well under the 95 ms that 200/s would take), paced in production.
    expect(await timeOf(Targets.make("lab-box", { environment: "lab" }), false)).toBeLessThan(60)
    expect(await timeOf(Targets.make("prod-box", { environment: "production" }), true)).toBeGreaterThanOrEqual(90)
  })

  it("egress is the experiment's list, narrowed to the config's when it has one", () => {
    expect(Budget.effective({ egress: ["10.0.0.0/8", "192.168.1.7"] }, undefined).egress).toEqual(["10.0.0.0/8", "192.168.1.7"])
    expect(Budget.effective({ egress: ["10.0.0.0/8", "192.168.1.7"] }, { egress: ["10.0.0.0/8"] }).egress).toEqual(["10.0.0.0/8"])
    expect(Budget.effective({}, { egress: ["10.0.0.0/8"] }).egress).toEqual([])
  })

  it("property: adding a config never loosens any limit", () => {
    const count = fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined })
    const ms = fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined })
    const budget = fc.record({ maxTargets: count, maxPercent: count, maxConcurrentFaults: count, maxDestroySteps: count, maxFaultTime: ms, maxDuration: ms, maxProbeRate: ms, egress: fc.option(fc.subarray(["10.0.0.0/8", "::1", "192.168.0.0/16"]), { nil: undefined }) }).map(
      (b) => Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)) as Budget.Budget,
    )
    fc.assert(
      fc.property(budget, budget, (e, c) => {
        const alone = Budget.effective(e, undefined)
        const capped = Budget.effective(e, c)
        const caps = { maxTargets: c.maxTargets, maxPercent: c.maxPercent, maxConcurrentFaults: c.maxConcurrentFaults, maxDestroySteps: c.maxDestroySteps, maxFaultTimeMs: c.maxFaultTime, maxDurationMs: c.maxDuration, maxProbeRate: c.maxProbeRate }
        for (const [k, cap] of Object.entries(caps) as Array<[keyof typeof caps, number | undefined]>) {
          expect(capped[k]).toBeLessThanOrEqual(alone[k])
          expect(capped[k]).toBe(cap === undefined ? alone[k] : Math.min(alone[k], cap))
        }
        for (const x of capped.egress) expect(alone.egress).toContain(x)
      }),
      { numRuns: 300 },
    )
  })
})
