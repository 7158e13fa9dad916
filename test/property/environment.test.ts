/**
 * Environment resolution (DESIGN.md, issue 10 item 2): every signal from every source counts and
 * the most restrictive wins. The arbitraries build multi-member targets whose members carry
 * signals in several sources at once — an explicit declaration, labels, names, host names,
 * process environment variables — often disagreeing. The oracle is written independently of
 * src/internal/classify.ts: the expected environment is the most restrictive of the signals the
 * generator planted; no planted signal → unknown (production). A real run then proves the floor
 * acts on it: nothing is contacted when the step is refused.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Experiment, Runner, Target } from "shiftup"
import type { Environment } from "../../src/Target.ts"
import { Effect } from "effect"
import { withWorld } from "../support/prop-world.ts"

type Env = Exclude<Environment, "unknown">
const rank: Record<Env, number> = { production: 4, staging: 3, development: 2, lab: 1 }
const words: Record<Env, ReadonlyArray<string>> = {
  production: ["production", "prod", "prd", "live", "Production", "PROD"],
  staging: ["staging", "stage", "stg", "preprod", "uat", "qa"],
  development: ["development", "develop", "dev", "local"],
  lab: ["lab", "sandbox", "chaos"],
}
const envArb = fc.constantFrom<Env>("production", "staging", "development", "lab")
/** Filler tokens that name no environment and no data store. */
const filler = fc.constantFrom("orders", "api", "web", "worker", "payments", "eu", "west", "blue", "alpha", "svc", "gateway")

/** A planted signal: the environment it means and how it is written into the facts. */
type Planted = { readonly env: Env; readonly where: "label" | "name" | "hostname" | "env-var" }

const wordOf = (env: Env) => fc.constantFrom(...words[env])
/** A value carrying `env`: the word alone, or one token among fillers (dashes, dots or camelCase). */
const valueOf = (env: Env) =>
  fc.oneof(
    wordOf(env),
    fc.tuple(filler, wordOf(env), fc.integer({ min: 1, max: 9 })).map(([a, w, n]) => `${a}-${w}-${n}`),
    fc.tuple(filler, wordOf(env)).map(([a, w]) => `${a}${w.charAt(0).toUpperCase()}${w.slice(1).toLowerCase()}`),
  )

const member = (i: number) =>
  fc.array(fc.record({ env: envArb, where: fc.constantFrom<Planted["where"]>("label", "name", "hostname", "env-var") }), { maxLength: 4 }).chain((planted) => {
    const labelKeys = fc.constantFrom("env", "ENV", "environment", "stage", "shiftup.env", "app.kubernetes.io/environment")
    const varKeys = fc.constantFrom("NODE_ENV", "APP_ENV", "RAILS_ENV", "SPRING_PROFILES_ACTIVE", "ASPNETCORE_ENVIRONMENT")
    const parts = planted.map((p) =>
      p.where === "label"
        ? fc.tuple(labelKeys, valueOf(p.env)).map(([k, v]) => ({ labels: { [k]: v } }))
        : p.where === "env-var"
          ? fc.tuple(varKeys, valueOf(p.env)).map(([k, v]) => ({ env: { [k]: v } }))
          : p.where === "name"
            ? valueOf(p.env).map((v) => ({ name: v }))
            : valueOf(p.env).map((v) => ({ hostnames: [`${v}.internal`] })),
    )
    return fc.tuple(fc.constant(planted), ...parts).map(([ps, ...fs]) => {
      // Later parts overwrite a key an earlier one set: keep only what survived, for the oracle.
      const facts = fs.reduce<{ id: string; name?: string; hostnames?: Array<string>; labels: Record<string, string>; env: Record<string, string> }>(
        (acc, f) => ({ ...acc, ...("name" in f ? { name: f.name } : {}), hostnames: [...(acc.hostnames ?? []), ...("hostnames" in f ? f.hostnames : [])], labels: { ...acc.labels, ...("labels" in f ? f.labels : {}) }, env: { ...acc.env, ...("env" in f ? f.env : {}) } }),
        { id: `m${i}`, labels: {}, env: {} },
      )
      return { planted: ps, facts }
    })
  })

/** The environments actually present in a member's facts, read back by the test's own rules. */
const present = (facts: { name?: string; hostnames?: ReadonlyArray<string>; labels: Record<string, string>; env: Record<string, string> }): ReadonlyArray<Env> => {
  const envOf = (value: string): ReadonlyArray<Env> => {
    const tokens = value.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/).map((t) => t.replace(/(?<=[a-z])\d+$/, ""))
    return (Object.keys(words) as ReadonlyArray<Env>).filter((e) => words[e].some((w) => tokens.includes(w.toLowerCase())))
  }
  return [...(facts.name === undefined ? [] : envOf(facts.name)), ...(facts.hostnames ?? []).flatMap(envOf), ...Object.values(facts.labels).flatMap(envOf), ...Object.values(facts.env).flatMap(envOf)]
}

const mostRestrictive = (envs: ReadonlyArray<Env>): Environment => (envs.length === 0 ? "unknown" : envs.reduce((a, b) => (rank[b] > rank[a] ? b : a)))

/** A target's environment: each member on its own (a member with no signal is unknown), then the most protected member. */
const ofTarget = (members: ReadonlyArray<Environment>): Environment =>
  members.includes("production") ? "production" : members.includes("unknown") ? "unknown" : mostRestrictive(members as ReadonlyArray<Env>)

const spec = fc.record({
  explicit: fc.option(envArb, { nil: undefined }),
  members: fc.integer({ min: 1, max: 3 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => member(i)))),
  safety: fc.constantFrom("observe", "disrupt", "destroy") as fc.Arbitrary<"observe" | "disrupt" | "destroy">,
})

describe("environment resolution: the most restrictive signal wins (invariant 3)", () => {
  it("multi-member targets with signals in several sources, often conflicting: the plan's environment is the most restrictive planted one, and the floor follows it", async () => {
    let conflicts = 0
    let multi = 0
    await fc.assert(
      fc.asyncProperty(spec, async (s) =>
        withWorld(async (w) => {
          const envs = [...(s.explicit === undefined ? [] : [s.explicit]), ...s.members.flatMap((m) => present(m.facts))]
          const expected = ofTarget(s.members.map((m) => mostRestrictive([...(s.explicit === undefined ? [] : [s.explicit]), ...present(m.facts)])))
          if (new Set(envs).size > 1) conflicts++
          if (s.members.length > 1) multi++
          const t = Target.make("svc", { ...(s.explicit === undefined ? {} : { environment: s.explicit }), resolve: Effect.succeed({ members: s.members.map((m) => m.facts), population: s.members.length }) })
          const step = s.safety === "observe" ? w.probe("look", t) : w.fault("poke", t, { safety: s.safety })
          const journal = await Runner.runPromise(Experiment.make({ id: "prop.env", title: "env", targets: { t }, observeProduction: true, budget: { maxDestroySteps: 1, maxPercent: 100 }, method: [step] }), w.options())
          const planned = journal.plan?.targets[0]
          expect(planned?.environment).toBe(expected)
          const effective = expected === "unknown" ? "production" : expected
          const allowed = s.safety === "observe" || (s.safety === "disrupt" ? effective !== "production" : effective === "lab")
          expect(journal.status, journal.summary).toBe(allowed ? "passed" : "refused")
          if (!allowed) expect(w.contacts).toEqual([])
          // Every planted signal is journaled, not only the decisive ones.
          expect(new Set(planned?.environmentSignals.filter((x) => x.source !== "default" && x.source !== "explicit").map((x) => x.means))).toEqual(new Set(s.members.flatMap((m) => present(m.facts))))
          if (new Set(envs).size > 1 && s.members.length === 1) expect(planned?.conflict).toContain(`the most restrictive wins: ${expected}`)
        }),
      ),
      { numRuns: 150 },
    )
    // The space that matters was covered: conflicts, and targets with several members.
    expect(conflicts).toBeGreaterThan(40)
    expect(multi).toBeGreaterThan(40)
  })
})
