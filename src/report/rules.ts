/**
 * Rule findings in reports. A misconfiguration finding (shiftup/inventory's `Misconfig`) is the
 * one finding model of a rule: rule id, severity, title, asset, evidence, remediation and
 * CIS/CWE/ASVS references. The HTML, JUnit and SARIF reporters render it the same way whether
 * it comes from `shiftup misconfig` / `shiftup inventory --check` (a `RuleResults`) or from an
 * experiment's `noMisconfiguration` check (inside a journal finding's observed value). Pure.
 */
import type { Finding } from "../Journal.ts"
import type { Evaluation } from "../misconfig/evaluate.ts"
import type { Finding as RuleFinding, References, Rule, Severity } from "../misconfig/model.ts"

export type { RuleFinding }

/** What a report says about a rule besides its findings. */
export type RuleInfo = Pick<Rule, "id" | "title" | "severity" | "rationale" | "remediation" | "references">

/** An evaluation of the rules, with the rules' descriptions: what `shiftup misconfig --report` renders. */
export interface RuleResults extends Evaluation {
  readonly rules: ReadonlyArray<RuleInfo>
}

export const ruleSeverities: ReadonlyArray<Severity> = ["critical", "high", "medium", "low", "info"]

export interface Reference {
  /** `CWE-250`, `CIS Docker 5.4`, `ASVS 4.0.3 V9.1.2`. */
  readonly label: string
  /** An absolute https URL of a page that exists: MITRE's CWE entry, the CIS benchmark's page, OWASP's ASVS page. */
  readonly url: string
}

/** The CIS Docker Benchmark's page (the recommendations themselves are behind a free registration). */
export const cisDockerUrl = "https://www.cisecurity.org/benchmark/docker"
/** OWASP ASVS (the rules cite 4.0.3 requirement ids). */
export const asvsUrl = "https://owasp.org/www-project-application-security-verification-standard/"
/** MITRE's page of a CWE id (`CWE-250` or `250`); undefined for anything else. */
export const cweUrl = (id: string): string | undefined => {
  const n = /^(?:cwe-)?(\d+)$/i.exec(id.trim())?.[1]
  return n === undefined ? undefined : `https://cwe.mitre.org/data/definitions/${n}.html`
}

/** A rule's references as labelled links: CWE first (the most specific page), then CIS, then ASVS. */
export const referencesOf = (r: References): ReadonlyArray<Reference> => [
  ...r.cwe.flatMap((c) => {
    const url = cweUrl(c)
    return url === undefined ? [] : [{ label: c.toUpperCase(), url }]
  }),
  ...(r.cis ?? []).map((c) => ({ label: `CIS Docker ${c}`, url: cisDockerUrl })),
  ...(r.asvs ?? []).map((a) => ({ label: `ASVS 4.0.3 ${a}`, url: asvsUrl })),
]

/** The SARIF `helpUri` of a rule: its first reference's page (an absolute URI, as SARIF 2.1.0 requires). */
export const helpUri = (r: References): string | undefined => referencesOf(r)[0]?.url

/** References in one line of text: `CWE-250, CIS Docker 5.4 (https://…)`. */
export const referencesText = (r: References): string => referencesOf(r).map((x) => `${x.label} (${x.url})`).join(", ")

const isStrings = (u: unknown): u is ReadonlyArray<string> => Array.isArray(u) && u.every((x) => typeof x === "string")

const isRuleFinding = (u: unknown): u is RuleFinding => {
  if (typeof u !== "object" || u === null) return false
  const f = u as Record<string, unknown>
  const refs = f.references as Record<string, unknown> | undefined
  return (
    typeof f.rule === "string" &&
    typeof f.title === "string" &&
    typeof f.asset === "string" &&
    (ruleSeverities as ReadonlyArray<unknown>).includes(f.severity) &&
    isStrings(f.evidence) &&
    typeof f.remediation === "string" &&
    typeof refs === "object" &&
    refs !== null &&
    isStrings(refs.cwe) &&
    (refs.cis === undefined || isStrings(refs.cis)) &&
    (refs.asvs === undefined || isStrings(refs.asvs))
  )
}

/**
 * The rule findings an experiment's finding carries: a violated `noMisconfiguration` check
 * observed the list of misconfiguration findings, which the journal keeps as its observed value.
 */
export const ruleFindingsOf = (f: Pick<Finding, "observed">): ReadonlyArray<RuleFinding> =>
  Array.isArray(f.observed) && f.observed.length > 0 && f.observed.every(isRuleFinding) ? (f.observed as ReadonlyArray<RuleFinding>) : []

/** The profiles in force, each once, with why: `healthcare (--profile healthcare)`. */
export const profilesInForce = (r: Pick<Evaluation, "profiles">): ReadonlyArray<string> => [...new Set(Object.values(r.profiles).map((p) => `${p.profile} (${p.why})`))]

/** What makes a finding block CI in these results, in words. */
export const blockingRule = (r: Pick<Evaluation, "failOn">): string =>
  r.failOn === undefined
    ? "each asset's profile decides (its failOn and mandatory rules); where no profile was named, any finding blocks"
    : `--fail-on ${r.failOn}: findings at or above ${r.failOn}, and the floor's mandatory rules`
