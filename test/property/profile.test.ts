/**
 * Invariant 3 with environment profiles: a profile in force can only refuse more. For any step,
 * classification, config and experiment settings and any profile (any fault classes, even ones a
 * JS user could write that the floor does not know), a decision allowed with the profile is
 * allowed without it; a profile never changes what the floor refuses; and a step the profile
 * allows is decided exactly as without a profile.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Policy, type Classification } from "shiftup/advanced"

type Safety = "observe" | "disrupt" | "destroy"
const safety = fc.constantFrom<Safety>("observe", "disrupt", "destroy")
const environment = fc.constantFrom<"production" | "unknown" | "staging" | "development" | "lab">("production", "unknown", "staging", "development", "lab")
const classification: fc.Arbitrary<Classification> = fc.record({ environment, store: fc.boolean() }).map(({ environment, store }) => ({
  environment,
  effective: environment === "unknown" ? "production" : environment,
  environmentSignals: [{ source: "explicit", key: "environment", value: environment, means: environment }],
  dataStore: { is: store, signals: [] },
}))
const settings: fc.Arbitrary<Policy.PolicySettings> = fc.record(
  { allow: fc.record({ staging: fc.subarray<Safety>(["observe", "disrupt", "destroy"]), lab: fc.subarray<Safety>(["observe", "disrupt", "destroy"]) }, { requiredKeys: [] }), observeProduction: fc.boolean(), denyDataStores: fc.boolean() },
  { requiredKeys: [] },
)
const profile: fc.Arbitrary<Policy.ProfileInForce> = fc.record({
  name: fc.constantFrom("web", "healthcare", "strict"),
  why: fc.constant("--profile"),
  faultClasses: fc.subarray<Safety>(["observe", "disrupt", "destroy"]),
})

describe("a profile only narrows the policy (invariant 3)", () => {
  it("allowed with a profile ⇒ allowed without it; the floor's refusals are the floor's; an allowed class changes nothing", () => {
    let narrowed = 0
    fc.assert(
      fc.property(safety, classification, settings, settings, profile, (s, c, experiment, config, p) => {
        const base = { step: "step", target: "api", safety: s, classification: c, experiment, config }
        const without = Policy.decide(base)
        const withProfile = Policy.decide({ ...base, profile: p })
        if (withProfile.allowed) expect(without.allowed).toBe(true)
        if (without.rule.startsWith("floor.")) expect(withProfile.rule).toBe(without.rule)
        if (p.faultClasses.includes(s)) expect(withProfile).toEqual(without)
        else if (without.allowed) {
          expect([withProfile.allowed, withProfile.rule]).toEqual([false, "profile.fault-class"])
          narrowed++
        }
      }),
      { numRuns: 2000 },
    )
    // The arbitraries reach the interesting case: a profile refusing what would be allowed.
    expect(narrowed).toBeGreaterThan(100)
  })
})
