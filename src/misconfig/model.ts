/**
 * The misconfiguration model, as data: a rule reads an inventory asset's facts and says what is
 * wrong with them (evidence), never touching the asset; a profile says how much each rule
 * matters in one kind of environment and which thresholds apply. Types only.
 */
import type { Asset } from "../inventory/snapshot/model.ts"
import type { Profile } from "./profiles.ts"

export type Severity = "critical" | "high" | "medium" | "low" | "info"
export const severities: ReadonlyArray<Severity> = ["critical", "high", "medium", "low", "info"]
export const severityRank: Readonly<Record<Severity, number>> = { critical: 4, high: 3, medium: 2, low: 1, info: 0 }

export interface References {
  /** CIS Docker Benchmark v1.6.0 recommendation numbers, e.g. `5.5`. */
  readonly cis?: ReadonlyArray<string>
  /** CWE ids, e.g. `CWE-250`. */
  readonly cwe: ReadonlyArray<string>
  /** OWASP ASVS 4.0.3 requirement ids, e.g. `V9.1.2`. */
  readonly asvs?: ReadonlyArray<string>
}

export interface RuleContext {
  readonly profile: Profile
  /** The time ages and expiries are measured against (a snapshot's `takenAt`). */
  readonly now: Date
}

/**
 * A misconfiguration rule: a pure function of one asset's facts. `check` returns the evidence
 * (one line per thing wrong; empty: the asset passes), or `null` when the facts it reads are
 * absent (not evaluated, e.g. a snapshot older than the fact).
 */
export interface Rule {
  readonly id: string
  readonly title: string
  readonly kind: Asset["kind"]
  /** The asset fields it reads, e.g. `privileges.privileged`. */
  readonly reads: ReadonlyArray<string>
  /** Its severity when a profile does not set one. */
  readonly severity: Severity
  readonly rationale: string
  readonly remediation: string
  readonly references: References
  /** A probe's rule (shiftup/http): the probe that reports it; it has no check on inventory facts. */
  readonly reportedBy?: string
  readonly check: (asset: Asset, context: RuleContext) => ReadonlyArray<string> | null
}

export interface Finding {
  readonly rule: string
  readonly title: string
  readonly asset: string
  readonly severity: Severity
  /** At or above the profile's `failOn`, or a mandatory rule of the profile: fails CI. */
  readonly blocking: boolean
  readonly profile: string
  readonly evidence: ReadonlyArray<string>
  readonly remediation: string
  readonly references: References
}

/** What a rule's author writes: the rule, with `check` typed for its kind of asset. */
export type RuleSpec<K extends Asset["kind"]> = Omit<Rule, "kind" | "check"> & { readonly check: (asset: Extract<Asset, { readonly kind: K }>, context: RuleContext) => ReadonlyArray<string> | null }

/** A rule on one kind of asset (it does not apply to the others). */
export const defineRule = <K extends Asset["kind"]>(kind: K, spec: RuleSpec<K>): Rule => ({
  ...spec,
  kind,
  check: (asset, context) => (asset.kind === kind ? spec.check(asset as Extract<Asset, { readonly kind: K }>, context) : null),
})

/** One line of evidence when `bad`. */
export const when = (bad: boolean, evidence: string): ReadonlyArray<string> => (bad ? [evidence] : [])
