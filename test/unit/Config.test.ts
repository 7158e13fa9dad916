import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { type Config, defineConfig, isShiftupError, type ShiftupError } from "shiftup"
import type { Issue } from "shiftup/advanced"

const issuesOf = (config: unknown, source?: string): { readonly issues: ReadonlyArray<Issue>; readonly message: string } => {
  try {
    defineConfig(config as Config, source)
  } catch (e) {
    expect(isShiftupError(e)).toBe(true)
    const reason = e as ShiftupError
    if (reason._tag !== "InvalidConfig") return expect.fail(`expected InvalidConfig, got ${reason._tag}`)
    return { issues: reason.issues, message: (e as Error).message }
  }
  return expect.fail("defineConfig did not throw")
}

describe("defineConfig", () => {
  it("returns a valid config unchanged", () => {
    const config: Config = {
      policy: { allow: { staging: ["observe"] }, observeProduction: false, denyDataStores: true, denyTargets: ["*-db"] },
      budget: { maxTargets: 3, maxDuration: "2 minutes", egress: ["10.0.0.0/8"] },
      compensators: { "test.k": () => Effect.void },
      stateDir: "/tmp/x",
      rollbackTimeout: "5 seconds",
    }
    expect(defineConfig(config)).toBe(config)
    expect(defineConfig({})).toEqual({})
  })

  it("reports every issue at once with its path", () => {
    const { issues, message } = issuesOf(
      {
        policy: { allow: { staging: ["observe", "nuke"] }, observeProduction: "yes" },
        budget: { maxTargets: -1, maxDuration: "forever" },
        compensators: { "test.k": "not a function" },
        stateDir: 42,
      },
      "ci.config.ts",
    )
    expect(issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(["policy.allow.staging[1]", "policy.observeProduction", "budget.maxTargets", "budget.maxDuration", "compensators.test.k", "stateDir"]),
    )
    expect(message).toContain("invalid config ci.config.ts")
    expect(message).toContain("  - budget.maxTargets:")
  })

  it("cannot even express allowing anything in production or unknown", () => {
    for (const env of ["production", "unknown"]) expect(issuesOf({ policy: { allow: { [env]: ["disrupt"] } } }).issues.map((i) => i.path)).toEqual([`policy.allow.${env}`])
  })

  it("an unknown key is an issue (a typo must not silently drop a restriction)", () => {
    expect(issuesOf({ polcy: { denyDataStores: true } }).issues.map((i) => i.path)).toEqual(["polcy"])
  })

  it("the source defaults to shiftup.config.ts", () => {
    expect(issuesOf({ stateDir: 1 }).message).toContain("invalid config shiftup.config.ts")
  })
})
