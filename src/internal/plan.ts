/**
 * Planning (invariant 1): resolve every target, classify it, decide every step against the
 * policy and check the whole run against the budget — before anything touches a target.
 */
import { Cause, Effect, Option } from "effect"
import * as Budget from "../Budget.ts"
import type { Config } from "../Config.ts"
import type { Experiment } from "../Experiment.ts"
import { safetyRank, type Fault, type Safety } from "../Fault.ts"
import type { Plan, PlannedTarget } from "../Journal.ts"
import type { Profile } from "../misconfig/profiles.ts"
import { narrowedBy, select, type InForce } from "../misconfig/select.ts"
import { decide, type Decision, type ProfileInForce } from "../Policy.ts"
import { BudgetExceeded, describeUnknown, fail, InvalidConfig, type ShiftupError, TargetRefused, TargetUnresolved } from "../ShiftupError.ts"
import { safetyOf, targetOf, type Step } from "../Step.ts"
import type { Facts, Target } from "../Target.ts"
import { RunContext } from "../RunContext.ts"
import { faultOf } from "./capability.ts"
import { type FingerprintCache, fingerprintMembers, type PlanContact } from "./discover.ts"
import { classify, type Classification } from "./classify.ts"
import { checkEgress, defaultEgress, type Egress, isEgressEntry, makeEgress } from "./egress.ts"
import { type Extra, locate } from "./providers.ts"

export interface Planned {
  readonly plan: Plan
  readonly classifications: ReadonlyMap<string, Classification>
  readonly populations: ReadonlyMap<string, { readonly members: number; readonly population: number }>
  /** Member addresses the targets' discovery allows (a local engine's containers). */
  readonly egress: ReadonlyArray<string>
  /** The first refusal (policy or budget), if any. */
  readonly refusal?: TargetRefused | BudgetExceeded
  /** The facts of every planned target's members, by target id. */
  readonly members: ReadonlyMap<string, ReadonlyArray<Facts>>
  /** The run's effective budget (the plan's copy in the journal is the same, as a document). */
  readonly budget: Budget.EffectiveBudget
  /** The run's egress allowlist: the default, the budget's, and the targets' own addresses. */
  readonly runEgress: Egress
  /** The modules providing the declared faults' compensation kinds (the ledger's header). */
  readonly providers: ReadonlyArray<{ readonly module: string; readonly kinds: ReadonlyArray<string> }>
  /** The environment profile in force per target id (docs/misconfig.md), and why. */
  readonly profiles: ReadonlyMap<string, InForce>
  /** Probes per second per target id: the budget's rate, capped by a chosen profile's; `null`: unpaced. */
  readonly probeRates: ReadonlyMap<string, number | null>
}

/** The plan's record of a target's profile and probe rate. */
const profileFields = (p: InForce | undefined, rate: PlannedTarget["probeRate"]): Pick<PlannedTarget, "profile" | "probeRate"> => ({
  ...(p === undefined ? {} : { profile: { name: p.profile.name, why: p.why, faultClasses: p.profile.faultClasses, maxProbeRate: p.profile.maxProbeRate } }),
  ...(rate === undefined ? {} : { probeRate: rate }),
})

/** The policy's view of a profile in force. */
export const policyProfile = (p: InForce | undefined): ProfileInForce | undefined => (p === undefined ? undefined : { name: p.profile.name, why: p.why, faultClasses: p.profile.faultClasses })

/**
 * A target's probe rate and where it comes from: the budget's rate for its environment, lowered
 * by the profile's `maxProbeRate` when a profile was chosen (by `--profile` or the config) — the
 * fallback `web`, which nothing chose, leaves the budget's rate alone.
 */
export const probeRateOf = (e: Experiment, config: Config, budget: Budget.EffectiveBudget, effective: Classification["effective"], inForce: InForce): { readonly perSecond: number | null; readonly from: string } => {
  const own = budget.probeRates[effective]
  const cap = inForce.profile.maxProbeRate
  if (inForce.source !== "default" && (own === null || cap < own)) return { perSecond: cap, from: `the maxProbeRate of profile ${inForce.profile.name} (${cap}/s), lower than the budget's ${own === null ? "unpaced " : `${own}/s `}${effective} rate` }
  return { perSecond: own, from: Budget.probeRateSource(e.budget, config.budget, effective) }
}

const resolveTimeoutMs = 15_000

/** Every (step, target, safety) the run may perform, from the declared body or the manifest. */
const touches = (e: Experiment): ReadonlyArray<{ readonly step: string; readonly target: Target; readonly safety: Safety }> => {
  const fromSteps = (steps: ReadonlyArray<Step>) =>
    steps.flatMap((s) => {
      const t = targetOf(s)
      return t === undefined ? [] : [{ step: s.id, target: t, safety: safetyOf(s) as Safety }]
    })
  const checks = [...e.hypothesis, ...e.recovery].map((c) => ({ step: c.id, target: c.probe.target, safety: "observe" as Safety }))
  const guards = e.stopWhen.map((g) => ({ step: g.id, target: g.probe.target, safety: "observe" as Safety }))
  // A resource that reaches a target (a proxy's upstream) is decided like an observation of it.
  const resources = Object.values(e.resources).flatMap((r) => (r.target === undefined ? [] : [{ step: `resource ${r.id}`, target: r.target, safety: "observe" as Safety }]))
  const body =
    e.body._tag === "Steps"
      ? fromSteps(e.body.steps)
      : [
          ...Object.entries(e.targets).map(([key, target]) => ({ step: `observe ${key}`, target, safety: "observe" as Safety })),
          ...Object.entries(e.body.mayInject).flatMap(([key, safety]) => {
            const target = e.targets[key]
            return target === undefined ? [] : [{ step: `may inject ${safety} into ${key}`, target, safety }]
          }),
        ]
  return [...checks, ...guards, ...resources, ...body]
}

export const faultsOf = (e: Experiment): ReadonlyArray<Fault> => (e.body._tag === "Steps" ? e.body.steps.filter((s): s is Fault => s._tag === "Fault") : [])

export const keyOf = (e: Experiment, target: Target): string | undefined => Object.entries(e.targets).find(([, t]) => t === target || t.id === target.id)?.[0]

/** What the plan-time checks of one fault decided, and the connections its preflight opened. */
export interface FaultChecked {
  readonly decisions: ReadonlyArray<Decision>
  readonly contacts: ReadonlyArray<PlanContact>
}

/**
 * The plan-time checks of one fault beyond the policy: a fresh process could undo it, every
 * address it contacts lies within its target and the allowlist, and its adapter's own checks
 * of the planned members (`preflight`) pass. The preflight is the only one that may connect to
 * the target: it runs only when `preflight` is true (nothing else refuses the run) and the
 * fault's own checks passed, and every connection it opened is returned for the plan's
 * contacts. Used for declared faults at plan time and for a generator's faults at each injection.
 */
export const faultChecks = (fault: Fault, config: Config, extra: Extra, egress: Egress, members: ReadonlyArray<Facts>, preflight = true): Effect.Effect<FaultChecked, ShiftupError> =>
  Effect.gen(function* () {
    const targetHosts = hostsOf(members)
    const refuse = (rule: string, reason: string): Decision => ({ step: fault.id, target: fault.target.id, safety: fault.safety, allowed: false, rule, reason })
    const cap = faultOf(fault)
    const located = locate(fault.kind, cap, config, extra)
    if (located._tag === "unrecoverable") return { decisions: [refuse("compensation.not-recoverable", located.detail)], contacts: [] }
    const refusals: Array<Decision> = []
    for (const contact of cap.contacts) {
      const at = addressOf(contact)
      if (at === undefined) {
        refusals.push(refuse("fault.contact-invalid", `"${contact}" is not an http(s) URL or host:port`))
        continue
      }
      if (!targetHosts.includes(at.host.toLowerCase()))
        refusals.push(refuse("fault.contact-outside-target", `it contacts ${at.host}:${at.port}, which is not an address of "${fault.target.id}" (${targetHosts.join(", ") || "none"}); add it to the target's \`endpoints\` if it belongs to that service`))
      const allowed = yield* Effect.exit(checkEgress(egress, at.host))
      if (allowed._tag === "Failure") refusals.push(refuse("fault.contact-egress", `it contacts ${at.host}:${at.port}, outside the egress allowlist (${egress.allowed.join(", ")})`))
    }
    if (refusals.length > 0 || !preflight || cap.preflight === undefined) return { decisions: refusals, contacts: [] }
    const own = yield* cap.preflight
    const refused = own.refusals.map((r) => refuse(r.rule, r.detail))
    const member = members[0]?.id ?? fault.target.id
    const evidence = `preflight of "${fault.id}": ${own.refusals.length === 0 ? "passed" : `refused (${own.refusals.map((r) => r.rule).join(", ")})`}`
    return { decisions: refused, contacts: own.contacts.map((c) => ({ ...c, target: fault.target.id, member, evidence })) }
  })

/** Host and port of a URL or `host:port` (brackets of IPv6 literals removed). */
export const addressOf = (contact: string): { readonly host: string; readonly port: number } | undefined => {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(contact)) {
    const url = URL.parse(contact)
    if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) return undefined
    return { host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || (url.protocol === "https:" ? 443 : 80)) }
  }
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(contact)
  return m === null ? undefined : { host: m[1] as string, port: Number(m[2]) }
}

/** Every host a target's members answer on (names and addresses), lower case. */
const hostsOf = (members: ReadonlyArray<Facts>): ReadonlyArray<string> => [
  ...new Set(members.flatMap((m) => [...(m.hostnames ?? []), ...(m.endpoints ?? []).map((x) => x.host)]).map((h) => h.toLowerCase().replace(/^\[|\]$/g, ""))),
]

// Parenthesized (and its body): V8 compiles such a function with its module, so it lands in Node's
// compile cache; otherwise every CLI run compiles it again at its first call (~0.7 ms).
export const plan = ((e: Experiment, config: Config, extra: Extra = {}, profile?: string): Effect.Effect<Planned, ShiftupError> =>
  Effect.gen((function* () {
    const budget = Budget.effective(e.budget, config.budget)
    // The profile in force per target: one selection rule with `shiftup misconfig` (select.ts). An
    // unknown name fails here, before anything is resolved.
    const resolvedProfiles = new Map<string, Profile>()
    const profileKeys = new Map<string, ReadonlyArray<string>>()
    const inForce = new Map<string, InForce>()
    const profileOf = (target: Target, effective: Classification["effective"]): InForce => {
      const key = `${target.id}\u0000${effective}`
      let found = inForce.get(key)
      if (found === undefined) {
        const subject = { keys: profileKeys.get(target.id) ?? [target.id], effective, noun: "the target" }
        const chosen = select(subject, config.misconfig, profile, resolvedProfiles)
        // A --profile judges findings, but never widens the fault classes or the probe rate of the profile the config chose.
        const configured = profile === undefined ? undefined : select(subject, config.misconfig, undefined, resolvedProfiles)
        inForce.set(key, (found = configured === undefined || configured.source === "default" ? chosen : narrowedBy(chosen, configured)))
      }
      return found
    }
    if (profile !== undefined) yield* Effect.try({ try: () => select({ keys: [], effective: "production" }, config.misconfig, profile, resolvedProfiles), catch: (x) => x as ShiftupError })
    const badEgress = budget.egress.filter((x) => !isEgressEntry(x))
    if (badEgress.length > 0)
      return yield* Effect.fail(fail(new InvalidConfig({ source: `experiment "${e.id}"`, issues: badEgress.map((x) => ({ path: "budget.egress", message: `"${x}" is not an IP address or CIDR` })) })))

    const pairs = touches(e)
    const used = [...new Set(pairs.map((p) => p.target.id))]
    // Declared targets, and the targets of resources that are not declared (a proxy is its own).
    const declaredTargets = Object.entries(e.targets)
    const resourceTargets = Object.entries(e.resources).flatMap(([key, r]) => (r.target === undefined || declaredTargets.some(([, t]) => t.id === r.target?.id) ? [] : [[key, r.target] as const]))
    const targets = [...declaredTargets, ...resourceTargets].filter(([, t], i, all) => used.includes(t.id) && all.findIndex(([, u]) => u.id === t.id) === i)

    // Discovery is read-only and happens for every target before any decision is made.
    const resolved = yield* Effect.forEach(
      targets,
      ([key, target]) =>
        target.resolve.pipe(
          Effect.timeoutOption(resolveTimeoutMs),
          Effect.flatMap(Option.match({ onNone: () => Effect.fail(fail(new TargetUnresolved({ target: target.id, detail: `discovery did not answer within ${resolveTimeoutMs / 1000} s` }))), onSome: Effect.succeed })),
          Effect.catchDefect((d) => Effect.fail(fail(new TargetUnresolved({ target: target.id, detail: describeUnknown(d) })))),
          Effect.flatMap((r) =>
            r.members.length === 0 ? Effect.fail(fail(new TargetUnresolved({ target: target.id, detail: "the selector matched nothing; check its name or labels" }))) : Effect.succeed(r),
          ),
          Effect.map((r) => ({ key, target, resolution: r, classification: classify(target, r.members, config.exceptions) })),
        ),
      { concurrency: 8 },
    )
    for (const r of resolved) profileKeys.set(r.target.id, [r.target.id, ...new Set(r.resolution.members.flatMap((m) => [m.id, ...(m.name === undefined ? [] : [m.name])]))])
    const runEgress = makeEgress([...defaultEgress, ...budget.egress, ...resolved.flatMap((r) => r.resolution.egress ?? []).filter(isEgressEntry)])
    const experimentPolicy = { ...e.policy, observeProduction: e.observeProduction }
    // The policy reads a step's target, safety and classification, never its name: one decision
    // per target and safety serves every step (an experiment of 200 checks decides once).
    const decided = new Map<Classification, Map<string, Decision>>()
    const decideFor = (p: (typeof pairs)[number], classification: Classification | undefined): Decision => {
      if (classification === undefined) return { step: p.step, target: p.target.id, safety: p.safety, allowed: false, rule: "manifest.undeclared-target", reason: "target not resolved" }
      let byTarget = decided.get(classification)
      if (byTarget === undefined) decided.set(classification, (byTarget = new Map()))
      const key = `${p.safety} ${p.target.id}`
      let d = byTarget.get(key)
      if (d === undefined) byTarget.set(key, (d = decide({ step: p.step, target: p.target.id, safety: p.safety, classification, experiment: experimentPolicy, config: config.policy ?? {}, profile: policyProfile(profileOf(p.target, classification.effective)) })))
      return d.step === p.step ? d : { ...d, step: p.step }
    }

    // Invariant 7 at plan time: every address a target answers on must be inside the allowlist,
    // or the run is refused before anything connects (a probe would fail there anyway).
    const outside = new Map<string, string>()
    for (const r of resolved)
      for (const host of new Set(r.resolution.members.flatMap((m) => (m.endpoints ?? []).map((x) => x.host)))) {
        const checked = yield* Effect.exit(checkEgress(runEgress, host))
        if (checked._tag === "Failure" && !outside.has(r.target.id)) outside.set(r.target.id, `${host}: ${describeUnknown(Cause.squash(checked.cause))}`)
      }

    // Passive signals first; a fingerprint only where being a data store would change a decision
    // the policy allows now (never for a target already refused, never outside the allowlist).
    const ctx = yield* RunContext
    const cache: FingerprintCache = new Map()
    const contacts: Array<PlanContact> = []
    const checkedBy = new Map<string, string>()
    const classifiedTargets = yield* Effect.forEach(
      resolved,
      (r) =>
        Effect.gen(function* () {
          const own = pairs.filter((p) => p.target.id === r.target.id)
          const c = r.classification
          const endpoints = r.resolution.members.some((m) => (m.endpoints ?? []).length > 0)
          const asStore: Classification = { ...c, dataStore: { ...c.dataStore, is: true } }
          const matters = own.some((p) => decideFor(p, c).allowed && !decideFor(p, asStore).allowed)
          if (c.dataStore.is || !endpoints || outside.has(r.target.id) || !matters) {
            checkedBy.set(r.target.id, c.dataStore.is ? "passive signals" : !endpoints ? "passive signals (no network endpoint)" : outside.has(r.target.id) ? "not fingerprinted: outside the allowlist" : "not fingerprinted: no decision depends on it")
            return r
          }
          const found = yield* fingerprintMembers(r.resolution.members, { target: r.target.id, egress: runEgress, cache, userAgent: `${ctx.headers["user-agent"] ?? "shiftup"} fingerprint` })
          contacts.push(...found.contacts)
          checkedBy.set(r.target.id, `protocol fingerprint (${found.contacts.length} connection${found.contacts.length === 1 ? "" : "s"})`)
          return { ...r, resolution: { ...r.resolution, members: found.members }, classification: classify(r.target, found.members, config.exceptions) }
        }),
      { concurrency: 4 },
    )

    const classifications = new Map(classifiedTargets.map((r) => [r.target.id, r.classification]))
    const populations = new Map(resolved.map((r) => [r.target.id, { members: r.resolution.members.length, population: Math.max(r.resolution.population, r.resolution.members.length) }]))
    const profiles = new Map<string, InForce>()
    const rates = new Map<string, { readonly perSecond: number | null; readonly from: string }>()
    for (const r of classifiedTargets) {
      const p = profileOf(r.target, r.classification.effective)
      profiles.set(r.target.id, p)
      rates.set(r.target.id, probeRateOf(e, config, budget, r.classification.effective, p))
    }
    const plannedTargets: ReadonlyArray<PlannedTarget> = classifiedTargets.map((r) => ({
      key: r.key,
      id: r.target.id,
      kind: r.target.kind,
      environment: r.classification.environment,
      effective: r.classification.effective,
      environmentSignals: r.classification.environmentSignals,
      ...(r.classification.conflict === undefined ? {} : { conflict: r.classification.conflict }),
      dataStore: { ...r.classification.dataStore, checkedBy: checkedBy.get(r.target.id) ?? "passive signals" },
      population: r.resolution.population,
      members: r.resolution.members.map((m) => m.id),
      ...(r.target.owner === undefined ? {} : { owner: r.target.owner }),
      ...profileFields(profiles.get(r.target.id), rates.get(r.target.id)),
    }))

    const policyDecisions: ReadonlyArray<Decision> = pairs.map((p) => {
      const d = decideFor(p, classifications.get(p.target.id))
      const away = outside.get(p.target.id)
      return d.allowed && away !== undefined ? { ...d, allowed: false, rule: "egress.not-allowed", reason: `the target answers on an address outside the egress allowlist (${away}); add its network to budget.egress if it really is part of the experiment` } : d
    })

    const faults = faultsOf(e)
    const providers = new Map<string, Set<string>>()
    for (const f of faults) {
      const located = locate(f.kind, faultOf(f), config, extra)
      if (located._tag !== "found") continue
      const kinds = providers.get(located.module) ?? new Set<string>()
      providers.set(located.module, kinds.add(f.kind))
    }
    const destroySteps = e.body._tag === "Steps" ? faults.filter((f) => f.safety === "destroy").length : Object.values(e.body.mayInject).includes("destroy") ? 1 : 0
    const percents = faults.map((f) => {
      const p = populations.get(f.target.id)
      return p === undefined ? 0 : (100 * p.members) / p.population
    })
    const use = { targets: classifiedTargets.length, faults: faults.length, destroySteps, maxPercent: Math.max(0, ...percents) }
    const budgetRefusal =
      use.targets > budget.maxTargets
        ? new BudgetExceeded({ rule: "budget.max-targets", limit: budget.maxTargets, requested: use.targets, detail: "the run touches more targets than the budget allows" })
        : faults.length > budget.maxConcurrentFaults
          ? new BudgetExceeded({ rule: "budget.max-concurrent-faults", limit: budget.maxConcurrentFaults, requested: faults.length, detail: "faults stay active until rollback, so all of them would be active at once" })
          : destroySteps > budget.maxDestroySteps
            ? new BudgetExceeded({ rule: "budget.max-destroy-steps", limit: budget.maxDestroySteps, requested: destroySteps, detail: "destroy steps must be budgeted explicitly (budget.maxDestroySteps)" })
            : use.maxPercent > budget.maxPercent
              ? new BudgetExceeded({ rule: "budget.max-percent", limit: budget.maxPercent, requested: Math.ceil(use.maxPercent), detail: "a fault hits a larger share of its target's population than allowed" })
              : undefined

    // Beyond the policy: only for faults the policy allows (a refused target is not looked at), and
    // a preflight — which connects to its target — only while nothing refuses the run: not the
    // policy, not the budget, not an earlier fault's checks.
    let refusedSoFar = budgetRefusal !== undefined || policyDecisions.some((d) => !d.allowed)
    const faultDecisions: Array<Decision> = []
    for (const f of faults) {
      const policyAllowed = policyDecisions.every((d) => d.step !== f.id || d.allowed)
      if (!policyAllowed) continue
      const members = classifiedTargets.find((r) => r.target.id === f.target.id)?.resolution.members ?? []
      const checked = yield* faultChecks(f, config, extra, runEgress, members, !refusedSoFar)
      faultDecisions.push(...checked.decisions)
      contacts.push(...checked.contacts)
      refusedSoFar ||= checked.decisions.some((d) => !d.allowed)
    }
    const decisions = [...policyDecisions, ...faultDecisions]

    // The headline refusal is the most dangerous step refused (a fault before a probe); every
    // decision stays in the plan.
    const refusedDecision = decisions.filter((d) => !d.allowed).sort((a, b) => safetyRank[b.safety] - safetyRank[a.safety])[0]
    const refusal =
      refusedDecision !== undefined ? new TargetRefused({ target: refusedDecision.target, step: refusedDecision.step, rule: refusedDecision.rule, detail: refusedDecision.reason }) : budgetRefusal

    const plan: Plan = {
      targets: plannedTargets,
      decisions,
      faults: faults.map((f) => ({ id: f.id, target: f.target.id, safety: f.safety, compensation: f.compensation })),
      budget,
      use,
      ...(contacts.length === 0 ? {} : { contacts }),
    }
    const egress = [...new Set(resolved.flatMap((r) => r.resolution.egress ?? []))].filter(isEgressEntry)
    return { plan, budget, classifications, populations, egress, members: new Map(classifiedTargets.map((r) => [r.target.id, r.resolution.members])), runEgress, providers: [...providers].map(([module, kinds]) => ({ module, kinds: [...kinds] })), profiles, probeRates: new Map([...rates].map(([id, r]) => [id, r.perSecond])), ...(refusal === undefined ? {} : { refusal }) }
  })))
