/**
 * Invariants 1 and 3: a plan that touches a refused target is refused as a whole before any
 * side effect — no probe, no injection — with a journal whose status is `refused`, naming the
 * rule, and exit code 2. The expected verdict comes from an independent model of the floor.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Expect, Experiment, Journal, Runner, Step, Target } from "shiftup"
import { withWorld, type World } from "../support/prop-world.ts"

type Env = Target.Environment
type Signalled = "explicit" | "label" | "name" | "hostname" | "env-var"
type Store = "no" | "explicit" | "image" | "port" | "fingerprint"
type Safety = "observe" | "disrupt" | "destroy"

interface TargetSpec {
  readonly env: Env
  readonly via: Signalled
  readonly store: Store
}

/** Words that name each environment (DESIGN.md); `unknown` has none. */
const words: Record<Exclude<Env, "unknown">, ReadonlyArray<string>> = {
  production: ["production", "prod", "prd", "live"],
  staging: ["staging", "stg"],
  development: ["development", "dev"],
  lab: ["lab", "sandbox"],
}

const targetSpec: fc.Arbitrary<TargetSpec> = fc.record({
  env: fc.constantFrom<Env>("production", "unknown", "staging", "development", "lab"),
  via: fc.constantFrom<Signalled>("explicit", "label", "name", "hostname", "env-var"),
  store: fc.constantFrom<Store>("no", "no", "no", "explicit", "image", "port", "fingerprint"),
})

const makeTarget = (id: string, spec: TargetSpec, word: number): Target.Target => {
  const w = spec.env === "unknown" ? undefined : words[spec.env][word % words[spec.env].length]
  const facts: { -readonly [K in keyof Target.Facts]?: Target.Facts[K] } = {}
  let environment: Env | undefined
  if (w !== undefined)
    switch (spec.via) {
      case "explicit":
        environment = spec.env
        break
      case "label":
        facts.labels = { environment: w }
        break
      case "name":
        facts.name = `orders-${w}-1`
        break
      case "hostname":
        facts.hostnames = [`api.${w}.example.internal`]
        break
      case "env-var":
        facts.env = { APP_ENV: w }
        break
    }
  if (spec.env === "unknown" && spec.via === "explicit") environment = "unknown"
  if (spec.store === "image") facts.image = "postgres:16"
  if (spec.store === "port") facts.ports = [6379]
  if (spec.store === "fingerprint") facts.fingerprint = "mysql"
  return Target.make(id, { ...(environment === undefined ? {} : { environment }), ...(spec.store === "explicit" ? { dataStore: true } : {}), facts })
}

/** The floor, written from DESIGN.md invariant 3, independently of src/Policy.ts. */
const floor = (spec: TargetSpec, safety: Safety, observeProduction: boolean): string | undefined => {
  const production = spec.env === "production" || spec.env === "unknown"
  if (production && spec.store !== "no") return "floor.production-data-store"
  if (production && safety !== "observe") return spec.env === "unknown" ? "floor.unknown-is-production" : "floor.production-observe-only"
  if (production && !observeProduction) return "floor.production-observe-opt-in"
  if (safety === "destroy" && spec.env !== "lab") return "floor.destroy-lab-only"
  return undefined
}

interface StepSpec {
  readonly kind: "probe" | "check" | "disrupt" | "destroy" | "wait"
  readonly target: number
}

const stepSpec: fc.Arbitrary<StepSpec> = fc.record({ kind: fc.constantFrom("probe", "check", "disrupt", "destroy", "wait"), target: fc.nat() })

const experimentSpec = fc.record({
  targets: fc.array(fc.tuple(targetSpec, fc.nat()), { minLength: 1, maxLength: 4 }),
  hypothesis: fc.array(fc.nat(), { maxLength: 2 }),
  guards: fc.array(fc.nat(), { maxLength: 1 }),
  recovery: fc.array(fc.nat(), { maxLength: 1 }),
  method: fc.array(stepSpec, { maxLength: 6 }),
  observeProduction: fc.boolean(),
})

type ExperimentSpec = typeof experimentSpec extends fc.Arbitrary<infer A> ? A : never

const build = (w: World, spec: ExperimentSpec) => {
  const targets = spec.targets.map(([t, word], i) => makeTarget(`t${i}`, t, word))
  const pick = (n: number) => n % targets.length
  const touches: Array<{ readonly target: number; readonly safety: Safety }> = []
  const probe = (n: number, id: string) => {
    touches.push({ target: pick(n), safety: "observe" })
    return w.probe(id, targets[pick(n)] as Target.Target)
  }
  const hypothesis = spec.hypothesis.map((n, i) => Expect.that(probe(n, `hypothesis ${i}`), true))
  const stopWhen = spec.guards.map((n, i) => Expect.guard(probe(n, `guard ${i}`), true, { every: 1 }))
  const recovery = spec.recovery.map((n, i) => Expect.that(probe(n, `recovery ${i}`), true))
  const method = spec.method.map((s, i) => {
    switch (s.kind) {
      case "wait":
        return Step.wait(1)
      case "probe":
        return probe(s.target, `probe ${i}`)
      case "check":
        return Expect.that(probe(s.target, `check ${i}`), true)
      case "disrupt":
      case "destroy":
        touches.push({ target: pick(s.target), safety: s.kind })
        return w.fault(`fault ${i}`, targets[pick(s.target)] as Target.Target, { safety: s.kind })
    }
  })
  const experiment = Experiment.make({
    id: "prop.refusal",
    title: "refused targets are never contacted",
    targets: Object.fromEntries(targets.map((t) => [t.id, t])),
    observeProduction: spec.observeProduction,
    // Generous: this property is about the policy; the budget has its own.
    budget: { maxTargets: 10, maxConcurrentFaults: 10, maxDestroySteps: 10 },
    hypothesis,
    stopWhen,
    recovery,
    method,
  })
  const verdicts = touches.map((t) => ({ ...t, id: targets[t.target]?.id ?? "?", rule: floor(spec.targets[t.target]?.[0] as TargetSpec, t.safety, spec.observeProduction) }))
  return { experiment, verdicts }
}

describe("a refused target is never contacted (invariants 1 and 3)", () => {
  it("refuses the whole run before any contact, naming the rule, exit 2; an allowed run touches only allowed targets", async () => {
    let refusedRuns = 0
    let allowedRuns = 0
    await fc.assert(
      fc.asyncProperty(experimentSpec, async (spec) =>
        withWorld(async (w) => {
          const { experiment, verdicts } = build(w, spec)
          const journal = await Runner.runPromise(experiment, w.options())
          const refused = verdicts.filter((v) => v.rule !== undefined)
          if (refused.length > 0) {
            refusedRuns++
            expect(w.contacts).toEqual([])
            expect(w.ledgerIntents()).toEqual([])
            expect(journal.status).toBe("refused")
            expect(journal.exitCode).toBe(2)
            expect(Journal.exitCodes.refused).toBe(2)
            expect(refused.map((v) => v.rule)).toContain(journal.refusal?.rule)
            expect(refused.map((v) => v.id)).toContain(journal.refusal?.target)
            expect(journal.errors.map((e) => e.tag)).toContain("TargetRefused")
            expect(journal.steps).toEqual([])
            // Every refused (step, target) of the model is refused in the plan too, by the same rule.
            const decided = journal.plan?.decisions.filter((d) => !d.allowed).map((d) => `${d.target} ${d.safety} ${d.rule}`) ?? []
            for (const v of refused) expect(decided).toContain(`${v.id} ${v.safety} ${v.rule}`)
          } else {
            allowedRuns++
            expect(journal.refusal).toBeUndefined()
            expect(journal.status).toBe("passed")
            const allowed = new Set(verdicts.map((v) => v.id))
            for (const id of w.contactedTargets) expect(allowed.has(id)).toBe(true)
          }
        }),
      ),
      { numRuns: 100 },
    )
    // The generator must exercise both sides, or the property proves little.
    expect(refusedRuns).toBeGreaterThan(10)
    expect(allowedRuns).toBeGreaterThan(10)
  })
})
