/**
 * Rules over assets: which profile is in force for each asset (and why), and the findings of
 * every rule under it. Pure: the same assets, settings and time give the same findings, so
 * this runs on a live inventory, on a snapshot file and inside an experiment's check alike.
 */
import type { Asset } from "../inventory/snapshot/model.ts"
import { containerRules } from "./container-rules.ts"
import { endpointRules } from "./endpoint-rules.ts"
import { httpRules } from "./http-rules.ts"
import { severityRank, type Finding, type Rule, type Severity } from "./model.ts"
import { floor, type Profile } from "./profiles.ts"
import { select, type InForce } from "./select.ts"
import type { MisconfigSettings } from "./settings.ts"
import { fail, InvalidArguments } from "../ShiftupError.ts"

export type { InForce } from "./select.ts"

/** Every built-in rule on inventory facts. */
export const rules: ReadonlyArray<Rule> = [...containerRules, ...endpointRules]

/**
 * Every rule of the product in one model: the inventory rules, then the rules shiftup/http's
 * probes report (an id both define, e.g. `tls.hostname-mismatch`, is listed once, as the
 * inventory rule). Profiles set the severities of all of them by id.
 */
export const catalogue: ReadonlyArray<Rule> = [...rules, ...httpRules.filter((h) => !rules.some((r) => r.id === h.id))]

const nameOf = (a: Asset) => (a.kind === "container" ? a.name : `${a.host}:${a.port}`)

/** The profile in force for `asset`: `override` (a `--profile`), else the asset's target entry, its environment's, the config's default, `web`. */
export const profileFor = (asset: Asset, settings: MisconfigSettings = {}, override?: string, resolved: Map<string, Profile> = new Map()): InForce =>
  select({ keys: [asset.id, nameOf(asset)], effective: asset.classification.effective }, settings, override, resolved)

export interface EvaluateOptions {
  readonly settings?: MisconfigSettings
  /** A profile for every asset, over the settings' choices (the CLI's `--profile`). */
  readonly profile?: string
  /** Only these rules (ids or rules); default every built-in rule. */
  readonly rules?: ReadonlyArray<Rule | string>
  /** What ages and expiries are measured against; default now. */
  readonly now?: Date
  /** List the rule and asset pairs that passed (`Evaluation.passed`, a JUnit pass each); default false, as it doubles the time on large snapshots. */
  readonly passed?: boolean
}

export interface Evaluation {
  readonly findings: ReadonlyArray<Finding>
  /** Rule and asset pairs evaluated that found nothing; listed when asked (`passed: true`). */
  readonly passed?: ReadonlyArray<{ readonly rule: string; readonly asset: string }>
  /** Rules that could not run on an asset because the facts they read are absent. */
  readonly notEvaluated: ReadonlyArray<{ readonly rule: string; readonly asset: string }>
  /** Per asset id, the profile in force and why. */
  readonly profiles: Readonly<Record<string, { readonly profile: string; readonly why: string }>>
  /** Set by `judge` when a `--fail-on` threshold decided `blocking` instead of the profiles. */
  readonly failOn?: Severity
}

const selected = (chosen: EvaluateOptions["rules"]): ReadonlyArray<Rule> => {
  if (chosen === undefined) return rules
  return chosen.map((r) => {
    if (typeof r !== "string") return r
    const found = rules.find((x) => x.id === r)
    if (found === undefined) throw fail(new InvalidArguments({ detail: `no misconfiguration rule ${JSON.stringify(r)}; the rules are ${rules.map((x) => x.id).join(", ")}` }))
    return found
  })
}

/**
 * Every rule over every asset, each under its profile.
 *
 * @example
 * const { findings } = Misconfig.evaluate(snapshot.assets, { profile: "healthcare", now: new Date(snapshot.takenAt) })
 */
export const evaluate = (assets: ReadonlyArray<Asset>, options: EvaluateOptions = {}): Evaluation => {
  const list = selected(options.rules)
  const now = options.now ?? new Date()
  const findings: Array<Finding> = []
  const notEvaluated: Array<{ rule: string; asset: string }> = []
  const passed: Array<{ rule: string; asset: string }> | undefined = options.passed === true ? [] : undefined
  const profiles: Record<string, { profile: string; why: string }> = {}
  const resolved = new Map<string, Profile>()
  for (const asset of assets) {
    const { profile, why, source } = profileFor(asset, options.settings, options.profile, resolved)
    const named = source !== "default"
    profiles[asset.id] = { profile: profile.name, why }
    for (const rule of list) {
      if (rule.kind !== asset.kind) continue
      const severity = profile.severities[rule.id] ?? rule.severity
      if (severity === "off") continue
      const evidence = rule.check(asset, { profile, now })
      if (evidence === null) notEvaluated.push({ rule: rule.id, asset: asset.id })
      else if (evidence.length === 0) passed?.push({ rule: rule.id, asset: asset.id })
      else if (evidence.length > 0)
        findings.push({
          rule: rule.id,
          title: rule.title,
          asset: asset.id,
          severity,
          blocking: !named || severityRank[severity] >= severityRank[profile.failOn] || profile.mandatory.includes(rule.id),
          profile: profile.name,
          evidence,
          remediation: rule.remediation,
          references: rule.references,
        })
    }
  }
  findings.sort((a, b) => severityRank[b.severity] - severityRank[a.severity] || a.asset.localeCompare(b.asset) || a.rule.localeCompare(b.rule))
  return { findings, ...(passed === undefined ? {} : { passed }), notEvaluated, profiles }
}

/**
 * The evaluation as CI judges it, `blocking` set on every finding. Precedence: `failOn` (the
 * `--fail-on` flag) > the profile in force (its `failOn` and mandatory rules, when a flag or
 * the config named it) > the default (no profile named: any finding blocks, as for
 * experiments). The floor's mandatory rules block whatever the flag says: no flag loosens the
 * floor.
 *
 * @example
 * const judged = Misconfig.judge(Misconfig.evaluate(snapshot.assets), "high")
 * process.exitCode = judged.findings.some((f) => f.blocking) ? 1 : 0
 */
export const judge = (evaluation: Evaluation, failOn?: Severity): Evaluation => {
  if (failOn === undefined) return evaluation
  const findings = evaluation.findings.map((f) => ({ ...f, blocking: severityRank[f.severity] >= severityRank[failOn] || floor.mandatory.includes(f.rule) }))
  return { ...evaluation, findings, failOn }
}
