import { describe, expect, it } from "vitest"
import { Target } from "shiftup"
import { Policy, type Classification } from "shiftup/advanced"
import { classifyMember } from "../../src/internal/classify.ts"

type Safety = "observe" | "disrupt" | "destroy"

const classified = (options: Target.TargetOptions): Classification => classifyMember(Target.make("t", options), { id: "t", ...options.facts })

const decide = (options: Target.TargetOptions, safety: Safety, settings: { readonly experiment?: Policy.PolicySettings; readonly config?: Policy.PolicySettings; readonly target?: string } = {}) =>
  Policy.decide({ step: "step", target: settings.target ?? "t", safety, classification: classified(options), experiment: settings.experiment ?? {}, config: settings.config ?? {} })

describe("Policy.decide: the hard floor", () => {
  it("floor.production-data-store: a production data store is refused for every step, even observation with the opt-in", () => {
    for (const safety of ["observe", "disrupt", "destroy"] as const) {
      const d = decide({ environment: "production", facts: { image: "postgres:16" } }, safety, { experiment: { observeProduction: true } })
      expect(d).toMatchObject({ allowed: false, rule: "floor.production-data-store", safety })
      expect(d.reason).toContain("postgres")
    }
    expect(decide({ facts: { ports: [6379] } }, "observe", { experiment: { observeProduction: true } }).rule).toBe("floor.production-data-store")
  })

  it("floor.unknown-is-production: an unknown environment allows no disrupt or destroy", () => {
    for (const safety of ["disrupt", "destroy"] as const) {
      const d = decide({}, safety, { experiment: { observeProduction: true } })
      expect(d).toMatchObject({ allowed: false, rule: "floor.unknown-is-production" })
      expect(d.reason).toContain("treated as production")
    }
  })

  it("floor.production-observe-only: production allows only observation", () => {
    for (const safety of ["disrupt", "destroy"] as const)
      expect(decide({ labels: { env: "prod" } }, safety, { experiment: { observeProduction: true } })).toMatchObject({ allowed: false, rule: "floor.production-observe-only" })
  })

  it("floor.production-observe-opt-in: observing production needs the experiment's opt-in", () => {
    expect(decide({ environment: "production" }, "observe")).toMatchObject({ allowed: false, rule: "floor.production-observe-opt-in" })
    expect(decide({}, "observe")).toMatchObject({ allowed: false, rule: "floor.production-observe-opt-in" })
    expect(decide({ environment: "production" }, "observe", { experiment: { observeProduction: true } })).toMatchObject({ allowed: true, rule: "allowed" })
    expect(decide({}, "observe", { experiment: { observeProduction: true } })).toMatchObject({ allowed: true, rule: "allowed" })
  })

  it("the opt-in in a config does not count: only the experiment opts in", () => {
    expect(decide({ environment: "production" }, "observe", { config: { observeProduction: true } }).rule).toBe("floor.production-observe-opt-in")
  })

  it("config.observe-production: a config can forbid every experiment's opt-in", () => {
    expect(decide({ environment: "production" }, "observe", { experiment: { observeProduction: true }, config: { observeProduction: false } })).toMatchObject({ allowed: false, rule: "config.observe-production" })
  })

  it("floor.destroy-lab-only: destroy is allowed only on lab targets", () => {
    for (const environment of ["staging", "development"] as const) expect(decide({ environment }, "destroy")).toMatchObject({ allowed: false, rule: "floor.destroy-lab-only" })
    expect(decide({ environment: "lab" }, "destroy")).toMatchObject({ allowed: true, rule: "allowed" })
  })

  it("allows observe and disrupt in staging, development and lab by default, data stores included", () => {
    for (const environment of ["staging", "development", "lab"] as const)
      for (const safety of ["observe", "disrupt"] as const) expect(decide({ environment, dataStore: "redis" }, safety).allowed).toBe(true)
    expect(decide({ environment: "staging", dataStore: "redis" }, "disrupt").reason).toContain("data store (redis)")
  })
})

describe("Policy.decide: configuration and experiment settings only tighten", () => {
  it('a config with allow: { staging: ["observe"] } refuses disrupt in staging', () => {
    const config = { allow: { staging: ["observe"] as Array<Safety> } }
    expect(decide({ environment: "staging" }, "disrupt", { config })).toMatchObject({ allowed: false, rule: "config.allow" })
    expect(decide({ environment: "staging" }, "observe", { config }).allowed).toBe(true)
    // Other environments are not narrowed.
    expect(decide({ environment: "lab" }, "disrupt", { config }).allowed).toBe(true)
  })

  it("an experiment's allow narrows too", () => {
    expect(decide({ environment: "lab" }, "destroy", { experiment: { allow: { lab: ["observe", "disrupt"] } } })).toMatchObject({ allowed: false, rule: "experiment.allow" })
  })

  it("allow lists cannot widen: destroy stays lab-only, production stays observe-only", () => {
    const wide = { allow: { staging: ["observe", "disrupt", "destroy"], production: ["disrupt", "destroy"], unknown: ["disrupt"] } } as unknown as Policy.PolicySettings
    expect(decide({ environment: "staging" }, "destroy", { config: wide, experiment: wide }).rule).toBe("floor.destroy-lab-only")
    expect(decide({ environment: "production" }, "disrupt", { config: wide, experiment: { ...wide, observeProduction: true } }).rule).toBe("floor.production-observe-only")
    expect(decide({}, "disrupt", { config: wide, experiment: wide }).rule).toBe("floor.unknown-is-production")
  })

  it("denyTargets (with * wildcards) refuses matching targets, from the config or the experiment", () => {
    expect(decide({ environment: "lab" }, "observe", { target: "orders-db", config: { denyTargets: ["*-db"] } })).toMatchObject({ allowed: false, rule: "config.deny-target" })
    expect(decide({ environment: "lab" }, "observe", { target: "orders-db", experiment: { denyTargets: ["orders-*"] } })).toMatchObject({ allowed: false, rule: "experiment.deny-target" })
    expect(decide({ environment: "lab" }, "observe", { target: "orders-api", config: { denyTargets: ["*-db", "orders.api"] } }).allowed).toBe(true)
  })

  it("denyDataStores refuses data stores in every environment", () => {
    expect(decide({ environment: "lab", facts: { image: "mongo:7" } }, "observe", { config: { denyDataStores: true } })).toMatchObject({ allowed: false, rule: "config.deny-data-stores" })
    expect(decide({ environment: "lab", dataStore: true }, "observe", { experiment: { denyDataStores: true } })).toMatchObject({ allowed: false, rule: "experiment.deny-data-stores" })
    expect(decide({ environment: "lab" }, "observe", { config: { denyDataStores: true } }).allowed).toBe(true)
  })

  it("every decision names the step, target, safety, rule and a reason", () => {
    const d = decide({ environment: "development", labels: {} }, "disrupt", { target: "api" })
    expect(d).toEqual({ step: "step", target: "api", safety: "disrupt", allowed: true, rule: "allowed", reason: "development permits disrupt" })
    const u = decide({}, "observe", { experiment: { observeProduction: true } })
    expect(u.reason).toBe("unknown as production permits observe")
  })
})
