/**
 * Invariant 3 over random settings: no configuration (or experiment setting) lowers the floor.
 * Production and unknown allow only observation with the experiment's opt-in, production data
 * stores nothing, destroy only lab; and adding a configuration can only refuse more.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { defineConfig, Experiment, Runner, Target, type Config } from "shiftup"
import { Policy, type Classification } from "shiftup/advanced"
import { withWorld } from "../support/prop-world.ts"

type Safety = "observe" | "disrupt" | "destroy"
const safety = fc.constantFrom<Safety>("observe", "disrupt", "destroy")
const environment = fc.constantFrom<Target.Environment>("production", "unknown", "staging", "development", "lab")

const classification: fc.Arbitrary<Classification> = fc.record({ environment, store: fc.boolean(), engine: fc.constantFrom(undefined, "postgres", "redis") }).map(({ environment, store, engine }) => ({
  environment,
  effective: environment === "unknown" ? "production" : environment,
  environmentSignals: [{ source: "explicit", key: "environment", value: environment, means: environment }],
  dataStore: { is: store, ...(store && engine !== undefined ? { engine } : {}), signals: store ? [{ source: "explicit", key: "dataStore", value: "true", means: engine ?? "data store" }] : [] },
}))

/** Anything a config or an experiment may say — plus keys the type forbids, as a JS user could write. */
const settings: fc.Arbitrary<Policy.PolicySettings> = fc
  .record(
    {
      allow: fc.record(
        {
          staging: fc.subarray<Safety>(["observe", "disrupt", "destroy"]),
          development: fc.subarray<Safety>(["observe", "disrupt", "destroy"]),
          lab: fc.subarray<Safety>(["observe", "disrupt", "destroy"]),
          production: fc.subarray<Safety>(["observe", "disrupt", "destroy"]),
          unknown: fc.subarray<Safety>(["observe", "disrupt", "destroy"]),
        },
        { requiredKeys: [] },
      ),
      observeProduction: fc.boolean(),
      denyDataStores: fc.boolean(),
      denyTargets: fc.array(fc.constantFrom("*", "api", "api*", "*-db", "other", "a?i"), { maxLength: 2 }),
    },
    { requiredKeys: [] },
  )
  .map((s) => s as Policy.PolicySettings)

const input = fc.record({ safety, classification, experiment: settings, config: settings, target: fc.constantFrom("api", "orders-db", "web") })

type Input = typeof input extends fc.Arbitrary<infer A> ? A : never

const decideWith = (i: Input, config: Policy.PolicySettings = i.config) =>
  Policy.decide({ step: "step", target: i.target, safety: i.safety, classification: i.classification, experiment: i.experiment, config })

describe("no setting lowers the floor (invariant 3)", () => {
  it("production and unknown never allow disrupt or destroy, whatever the config and experiment say", () => {
    fc.assert(
      fc.property(input, (i) => {
        const d = decideWith(i)
        if (i.classification.effective === "production" && i.safety !== "observe") {
          expect(d.allowed).toBe(false)
          expect(d.rule.startsWith("floor.")).toBe(true)
        }
      }),
      { numRuns: 1000 },
    )
  })

  it("an allowed decision always satisfies the floor", () => {
    fc.assert(
      fc.property(input, (i) => {
        const d = decideWith(i)
        if (!d.allowed) return
        expect(d.rule).toBe("allowed")
        const c = i.classification
        if (c.effective === "production") {
          expect(i.safety).toBe("observe")
          expect(c.dataStore.is).toBe(false)
          expect(i.experiment.observeProduction).toBe(true)
          expect(i.config.observeProduction).not.toBe(false)
        }
        if (i.safety === "destroy") expect(c.effective).toBe("lab")
      }),
      { numRuns: 1000 },
    )
  })

  it("a config can only tighten: allowed with a config implies allowed without one", () => {
    fc.assert(
      fc.property(input, (i) => {
        if (decideWith(i).allowed) expect(decideWith(i, {}).allowed).toBe(true)
      }),
      { numRuns: 1000 },
    )
  })

  it("production data stores are refused for every step, observation included", () => {
    fc.assert(
      fc.property(input, (i) => {
        const c = i.classification
        if (c.effective === "production" && c.dataStore.is) expect(decideWith(i).rule).toBe("floor.production-data-store")
      }),
      { numRuns: 500 },
    )
  })

  it("a run with any valid config refuses to disrupt a production target, before contact", async () => {
    const configs = fc.record(
      {
        policy: fc.record(
          {
            allow: fc.record({ staging: fc.subarray<Safety>(["observe", "disrupt", "destroy"]), lab: fc.subarray<Safety>(["observe", "disrupt", "destroy"]) }, { requiredKeys: [] }),
            observeProduction: fc.boolean(),
            denyDataStores: fc.boolean(),
          },
          { requiredKeys: [] },
        ),
        budget: fc.record({ maxConcurrentFaults: fc.integer({ min: 0, max: 20 }), maxDestroySteps: fc.integer({ min: 0, max: 20 }) }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    )
    await fc.assert(
      fc.asyncProperty(configs, fc.constantFrom<"disrupt" | "destroy">("disrupt", "destroy"), fc.constantFrom<Target.Environment | undefined>("production", "unknown", undefined), fc.boolean(), async (c, s, env, optIn) =>
        withWorld(async (w) => {
          const config: Config = defineConfig(c as Config)
          const t = Target.make("api", env === undefined ? {} : { environment: env })
          const e = Experiment.make({ id: "prop.floor", title: "floor", targets: { t }, observeProduction: optIn, budget: { maxDestroySteps: 5 }, method: [w.fault("down", t, { safety: s })] })
          const journal = await Runner.runPromise(e, { ...w.options(), config })
          expect(journal.status).toBe("refused")
          expect(journal.refusal?.rule.startsWith("floor.")).toBe(true)
          expect(w.contacts).toEqual([])
        }),
      ),
      { numRuns: 40 },
    )
  })
})
