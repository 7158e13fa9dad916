/**
 * Property-based chaos on the demo lab (experiments/property/gateway.ordering.ts: ≤ 3 of 4
 * faults in a 600 ms window, a fresh lab per schedule): how many real runs a minute the property
 * makes, measured on the fixed gateway (no counterexample, so every run is a search run; aim
 * ≥ 60), and how many shrink runs it takes to get from the first failing schedule to the minimal
 * one for the planted ordering bug, median over seeds.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Property } from "../src/index.ts"
import { freeBasePort } from "../test/support/proc-lab.ts"
import { gatewayOrdering } from "../experiments/property/gateway.ordering.ts"
import { median, spread, type Line, type Section } from "./lib.ts"

export const propertySection: Section = {
  name: "property",
  title: "property-based chaos on the demo lab (schedules of ≤ 3 faults in 600 ms, a lab per schedule)",
  run: async () => {
    process.env["SHIFTUP_LAB_PORT"] = String(await freeBasePort())
    const state = mkdtempSync(join(tmpdir(), "shiftup-bench-property-"))
    try {
      const t0 = performance.now()
      const passed = await Property.check(gatewayOrdering({ orderingBug: false }), { seed: 1, runs: 40, run: { stateDir: state } })
      const perMinute = passed.runs / ((performance.now() - t0) / 60_000)
      const seeds = [1, 2, 3, 4, 5]
      const shrinks: Array<number> = []
      const minimalSizes: Array<number> = []
      for (const seed of seeds) {
        const r = await Property.check(gatewayOrdering(), { seed, run: { stateDir: state } })
        if (r.status !== "counterexample") throw new Error(`seed ${seed}: expected a counterexample, got ${r.status}`)
        shrinks.push(r.shrinkRuns)
        minimalSizes.push(r.minimal?.length ?? 0)
      }
      return [
        { name: "property.runs_per_minute", value: perMinute, digits: 0, note: `real runs a minute on the fixed gateway (${passed.runs} runs); aim ≥ 60` },
        { name: "property.shrink_runs", value: median(shrinks), digits: 0, note: `runs from the first failing schedule to the minimal one, median over seeds ${seeds.join(", ")} (spread ${spread(shrinks, 0)})` },
        { name: "property.minimal_faults", value: median(minimalSizes), digits: 0, note: "faults in the minimal schedule (the planted bug needs 2)" },
      ] satisfies ReadonlyArray<Line>
    } finally {
      rmSync(state, { recursive: true, force: true })
    }
  },
}
