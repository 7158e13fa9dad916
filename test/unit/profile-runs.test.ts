/**
 * The environment profile in a run, without a server: which profile governs a target and why
 * (the one selection rule of `shiftup misconfig`), its fault classes as a policy decision that
 * only narrows (the floor still decides first), where a target's probe rate comes from, and the
 * plan's copy of both — an unknown `--profile` is invalid input naming the known profiles.
 */
import { describe, expect, it } from "vitest"
import { Expect, Experiment, Http, Probe, Runner, Target } from "shiftup"
import { Policy, type Classification } from "shiftup/advanced"
import * as SecurityHttp from "shiftup/http"
import * as Budget from "../../src/Budget.ts"
import type { Config } from "../../src/Config.ts"
import { classifyMember } from "../../src/internal/classify.ts"
import { policyProfile, probeRateOf } from "../../src/internal/plan.ts"
import { profiles, type ProfileName } from "../../src/misconfig/profiles.ts"
import { narrowedBy, select } from "../../src/misconfig/select.ts"
import type { MisconfigSettings } from "../../src/misconfig/settings.ts"

const settings: MisconfigSettings = {
  profile: "internal",
  environments: { staging: "healthcare", lab: "payments" },
  targets: { "billing-api": "payments", "orders-1": "web" },
  profiles: { strict: { extends: "healthcare", faultClasses: ["observe"] } },
}

describe("the profile in force for a run's target, and why", () => {
  it.each([
    ["--profile wins over everything", { keys: ["billing-api"], effective: "staging" }, "strict", "strict --profile strict (flag)"],
    ["the target's id", { keys: ["billing-api"], effective: "staging" }, undefined, 'payments misconfig.targets["billing-api"] (target)'],
    ["a member's name, after the target id", { keys: ["orders", "orders-1"], effective: "staging" }, undefined, 'web misconfig.targets["orders-1"] (target)'],
    ["the environment", { keys: ["gateway"], effective: "staging" }, undefined, "healthcare misconfig.environments.staging (the target classifies as staging) (environment)"],
    ["the config's default", { keys: ["gateway"], effective: "production" }, undefined, "internal misconfig.profile (config)"],
  ] as const)("%s", (_, subject, flag, expected) => {
    const p = select({ ...subject, noun: "the target" }, settings, flag)
    expect(`${p.profile.name} ${p.why} (${p.source})`).toBe(expected)
  })

  it("nothing names one: web, said so", () => {
    const p = select({ keys: ["gateway"], effective: "lab" }, {})
    expect([p.profile.name, p.source, p.why]).toEqual(["web", "default", "the default profile (no --profile, no misconfig section naming one)"])
  })

  it("an unknown name is InvalidConfig naming the built-in and the config's profiles", () => {
    expect(() => select({ keys: [], effective: "lab" }, settings, "hospital")).toThrow(/no profile "hospital": the built-in ones are web, healthcare, payments, internal, the config's strict/)
  })
})

const classified = (options: Target.TargetOptions): Classification => classifyMember(Target.make("t", options), { id: "t", ...options.facts })
const strict = policyProfile(select({ keys: ["t"], effective: "staging" }, settings, "strict"))

describe("Policy.decide with a profile: its fault classes narrow, never widen", () => {
  it("profile.fault-class: disrupt in staging under a profile allowing only observe, naming the profile, why, the class and what to change", () => {
    const d = Policy.decide({ step: "pause-auth", target: "t", safety: "disrupt", classification: classified({ environment: "staging" }), experiment: {}, config: {}, profile: strict })
    expect(d).toMatchObject({ allowed: false, rule: "profile.fault-class", step: "pause-auth", safety: "disrupt" })
    expect(d.reason).toBe(
      "profile strict (chosen by --profile strict) allows only [observe] in staging, not disrupt; remove the disrupt step or run it against a target whose profile allows disrupt (misconfig.targets / misconfig.environments in the config) — a profile can only narrow what the floor allows, and --profile cannot widen what the config chose",
    )
    expect(Policy.decide({ step: "look", target: "t", safety: "observe", classification: classified({ environment: "staging" }), experiment: {}, config: {}, profile: strict }).allowed).toBe(true)
  })

  it("the floor decides first: a profile allowing destroy does not allow it outside lab, nor anything but observe in production", () => {
    const web = policyProfile(select({ keys: ["t"], effective: "staging" }, {}, "web"))
    expect(web?.faultClasses).toContain("destroy")
    expect(Policy.decide({ step: "s", target: "t", safety: "destroy", classification: classified({ environment: "staging" }), experiment: {}, config: {}, profile: web }).rule).toBe("floor.destroy-lab-only")
    expect(Policy.decide({ step: "s", target: "t", safety: "disrupt", classification: classified({ environment: "production" }), experiment: {}, config: {}, profile: web }).rule).toBe("floor.production-observe-only")
  })

  it("healthcare allows no destroy even in a lab", () => {
    const healthcare = policyProfile(select({ keys: ["t"], effective: "lab" }, {}, "healthcare"))
    const d = Policy.decide({ step: "wipe", target: "t", safety: "destroy", classification: classified({ environment: "lab" }), experiment: {}, config: {}, profile: healthcare })
    expect([d.allowed, d.rule]).toEqual([false, "profile.fault-class"])
  })
})

describe("a target's probe rate: the lower of the budget's and a chosen profile's", () => {
  const experiment = (maxProbeRate?: number) =>
    Experiment.make({ id: "rate", title: "rate", targets: { api: Http.target("api", { url: "http://127.0.0.1:9", environment: "staging" }) }, hypothesis: [], method: [], ...(maxProbeRate === undefined ? {} : { budget: { maxProbeRate } }) })
  const rate = (e: Experiment.Experiment, config: Config, flag: string | undefined, env: "staging" | "lab") => {
    const budget = Budget.effective(e.budget, config.budget)
    return probeRateOf(e, config, budget, env, select({ keys: ["api"], effective: env, noun: "the target" }, config.misconfig, flag))
  }
  it.each([
    ["no profile named: the budget's staging default, uncapped", undefined, {}, undefined, "staging", { perSecond: 1000, from: "the default in staging (1000/s)" }],
    ["no profile named in a lab: unpaced", undefined, {}, undefined, "lab", { perSecond: null, from: "the default in lab (unpaced)" }],
    ["--profile healthcare caps staging to 5/s", undefined, {}, "healthcare", "staging", { perSecond: 5, from: "the maxProbeRate of profile healthcare (5/s), lower than the budget's 1000/s staging rate" }],
    ["a config environment choice caps a lab too", undefined, { misconfig: { environments: { lab: "payments" } } }, undefined, "lab", { perSecond: 10, from: "the maxProbeRate of profile payments (10/s), lower than the budget's unpaced lab rate" }],
    ["the experiment's lower rate stays", 2, {}, "healthcare", "staging", { perSecond: 2, from: "the experiment's budget.maxProbeRate (2/s)" }],
    ["the config's lower cap stays, named", undefined, { budget: { maxProbeRate: 3 } }, "web", "staging", { perSecond: 3, from: "the config's budget.maxProbeRate (3/s)" }],
  ] as const)("%s", (_, own, config, flag, env, expected) => {
    expect(rate(experiment(own), config as Config, flag, env)).toEqual(expected)
  })
})

describe("the plan shows the profile and the probe rate; an unknown --profile is invalid input", () => {
  const api = Http.target("api", { url: "http://127.0.0.1:9", environment: "staging" })
  const e = Experiment.make({ id: "plan.profile", title: "plan", targets: { api }, hypothesis: [Expect.that(Probe.status(api, "/"), Expect.equals(200))], method: [] })

  it("a dry run records each target's profile, why, and which cap paces it", async () => {
    const j = await Runner.plan(e, { journal: false, config: { misconfig: { environments: { staging: "healthcare" } } } })
    expect(j.status).toBe("passed")
    expect(j.plan?.targets[0]?.profile).toEqual({ name: "healthcare", why: "misconfig.environments.staging (the target classifies as staging)", faultClasses: ["observe", "disrupt"], maxProbeRate: 5 })
    expect(j.plan?.targets[0]?.probeRate).toEqual({ perSecond: 5, from: "the maxProbeRate of profile healthcare (5/s), lower than the budget's 1000/s staging rate" })
  })

  it("--profile over the config: the flag's profile judges, within the config's profile's limits (never wider)", async () => {
    const j = await Runner.plan(e, { journal: false, profile: "payments", config: { misconfig: { environments: { staging: "healthcare" } } } })
    expect(j.plan?.targets[0]?.profile?.name).toBe("payments")
    expect(j.plan?.targets[0]?.profile?.why).toMatch(/^--profile payments, within healthcare's limits \(misconfig\.environments\.staging/)
    // Without a config profile the flag alone governs.
    const alone = await Runner.plan(e, { journal: false, profile: "payments" })
    expect([alone.plan?.targets[0]?.profile?.name, alone.plan?.targets[0]?.profile?.why]).toEqual(["payments", "--profile payments"])
  })

  it("narrowedBy: only the fault classes both allow, the lower probe rate; the same profile unchanged", () => {
    const inForce = (name: ProfileName, source: "flag" | "environment") => ({ profile: profiles[name], why: name, source })
    const n = narrowedBy(inForce("web", "flag"), inForce("healthcare", "environment"))
    expect(n.profile.faultClasses).toEqual(profiles.web.faultClasses.filter((c) => profiles.healthcare.faultClasses.includes(c)))
    expect(n.profile.maxProbeRate).toBe(Math.min(profiles.web.maxProbeRate, profiles.healthcare.maxProbeRate))
    expect(n.profile.severities).toBe(profiles.web.severities)
    const same = inForce("web", "flag")
    expect(narrowedBy(same, inForce("web", "environment"))).toBe(same)
  })

  it("an unknown profile: status invalid, exit 4, naming the known ones", async () => {
    const j = await Runner.plan(e, { journal: false, profile: "hospital" })
    expect([j.status, j.exitCode]).toEqual(["invalid", 4])
    expect(j.summary).toMatch(/no profile "hospital": the built-in ones are web, healthcare, payments, internal/)
  })
})

describe("one finding model: shiftup/http's rules in Misconfig's catalogue", () => {
  it("every rule of the probes' table is listed once, derived from it (title, severity, CWE, ASVS, remediation), with the probe reporting it", async () => {
    const { Misconfig } = await import("../../src/inventory/index.ts")
    const { rules: table } = SecurityHttp.Findings
    for (const [id, r] of Object.entries(table)) {
      const listed = Misconfig.catalogue.filter((x) => x.id === id)
      expect(listed, id).toHaveLength(1)
      const derived = Misconfig.httpRules.find((x) => x.id === id)
      expect([derived?.title.toLowerCase(), derived?.severity, derived?.references.cwe, derived?.remediation, derived?.references.asvs]).toEqual([r.title.toLowerCase(), r.severity, [r.cwe], r.remediation, "asvs" in r ? r.asvs : undefined])
      expect(derived?.reportedBy).toMatch(/^shiftup\/http (Auth|Headers|Cors|Leakage|Exposure|RateLimit|Redirect|Tls|Fuzz|Ports)$/)
    }
    // An id both define is the inventory rule, once.
    expect(Misconfig.catalogue.find((x) => x.id === "tls.hostname-mismatch")?.reportedBy).toBeUndefined()
    expect(Misconfig.catalogue.length).toBe(Misconfig.rules.length + Misconfig.httpRules.filter((h) => !Misconfig.rules.some((r) => r.id === h.id)).length)
  })

  it("profiles set the severities of probe rules by the same ids", () => {
    const { underProfile, finding } = SecurityHttp.Findings
    const f = [finding("leak.sensitive-data", "x"), finding("headers.required-missing", "y")]
    const sev = (name: "web" | "healthcare" | "payments" | "internal") => underProfile(f, select({ keys: [], effective: "lab" }, {}, name).profile).map((x) => `${x.severity} ${x.id}`)
    expect(sev("web")).toEqual(["high leak.sensitive-data", "medium headers.required-missing"])
    expect(sev("healthcare")).toEqual(["critical leak.sensitive-data", "high headers.required-missing"])
  })
})

describe("leaks quoted in evidence are masked in place", () => {
  it("maskLeaks keeps the text around a leak and the last four characters of each", async () => {
    const { maskLeaks } = await import("../../src/misconfig/leakage.ts")
    expect(maskLeaks("paid with 4111 1111 1111 1111; order 4111 1111 1111 1112", ["card-number"])).toBe("paid with •••••••••••••••1111; order 4111 1111 1111 1112")
    expect(maskLeaks("MRN: A1234567 — DOB: 1980-02-03 — ✓", ["medical-record-number", "date-of-birth"])).toBe("•••••••••4567 — •••••••••••2-03 — ✓")
    expect(maskLeaks("nothing here", ["card-number", "email"])).toBe("nothing here")
  })
})
