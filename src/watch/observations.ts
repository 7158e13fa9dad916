/**
 * What a job saw, as store observations: a journal's findings (rule = experiment id / check id,
 * asset = the target, location = the phase) and an inventory drift's findings and rule
 * violations; misconfiguration rules' findings (rule = `misconfig/<rule id>`, asset = the
 * inventory asset, location "" — the asset is the place; `info` findings are not recorded); OSV
 * matches (rule = `osv/<advisory id>`, asset = the container or SBOM, location = the package
 * and the file it was read from — not its version, so an upgrade that is still affected stays
 * the same finding). Only complete scans count: a refused, invalid or aborted run saw nothing for sure,
 * so it records nothing (it would otherwise "resolve" every finding it did not get to look at).
 */
import type { Journal } from "../Journal.ts"
import type { Drift, FindingKind } from "../inventory/diff/diff.ts"
import type { Finding as VulnFinding } from "../inventory/osv/match.ts"
import type { Finding as Misconfiguration } from "../misconfig/model.ts"
import type { Observation, Severity } from "./store/Store.ts"

/** The journal's findings, or `undefined` when the run is not a complete scan. */
export const fromJournal = (j: Journal): ReadonlyArray<Observation> | undefined =>
  j.status !== "passed" && j.status !== "failed"
    ? undefined
    : j.findings.map((f) => ({
        rule: `${j.experiment.id}/${f.id}`,
        asset: f.target,
        location: f.phase,
        severity: f.severity,
        title: f.title,
        detail: `expected ${f.expected}; observed ${JSON.stringify(f.observed)}${f.evidence === undefined ? "" : ` (${f.evidence})`}`,
      }))

const driftSeverity: Readonly<Record<FindingKind, Severity>> = {
  "certificate-expired": "high",
  "certificate-expiring": "medium",
  orphan: "medium",
  "image-aging": "low",
  "not-restarted": "low",
}

/** A drift's findings (by kind) and its "must not happen" rule violations (high). */
export const fromDrift = (d: Drift): ReadonlyArray<Observation> => [
  ...d.findings.map((f) => ({ rule: `inventory/${f.kind}`, asset: f.asset, location: "", severity: driftSeverity[f.kind], title: f.kind, detail: f.detail })),
  ...d.violations.map((v) => ({ rule: `inventory.rule/${v.rule}`, asset: v.item.asset, location: v.item.kind, severity: "high" as const, title: `${v.rule}: ${v.item.kind}`, detail: v.item.detail })),
]

/** The rules' findings at low severity or above (the store keeps no `info`). */
export const fromMisconfig = (findings: ReadonlyArray<Misconfiguration>): ReadonlyArray<Observation> =>
  findings.flatMap((f) =>
    f.severity === "info" ? [] : [{ rule: `misconfig/${f.rule}`, asset: f.asset, location: "", severity: f.severity, title: f.title, detail: `${f.evidence.join("; ")} (profile ${f.profile}${f.blocking ? ", blocking" : ""}). ${f.remediation}` }],
  )

const vulnSeverity = (level: VulnFinding["severity"]["level"]): Severity => (level === "none" ? "low" : level === "unknown" ? "medium" : level)

/** One observation per package and advisory on `asset` (the same package read from one file twice counts once). */
export const fromVulns = (asset: string, findings: ReadonlyArray<VulnFinding>): ReadonlyArray<Observation> => {
  const seen = new Map<string, Observation>()
  for (const f of findings) {
    const location = `${f.package.ecosystem}/${f.package.name} ${f.location.path}`
    seen.set(`${f.advisory}\n${location}`, {
      rule: `osv/${f.advisory}`,
      asset,
      location,
      severity: vulnSeverity(f.severity.level),
      title: f.summary ?? f.advisory,
      detail: `${f.package.name} ${f.package.version} is affected (${f.affected.join("; ")})${f.fixed.length === 0 ? ", no fix known" : `; fixed in ${f.fixed.join(", ")}`}${f.aliases.length === 0 ? "" : `; also ${f.aliases.join(", ")}`}${f.severity.level === "unknown" ? "; severity unknown, recorded as medium" : ""}`,
    })
  }
  return [...seen.values()]
}
