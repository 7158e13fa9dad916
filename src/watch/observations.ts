/**
 * What a job saw, as store observations: a journal's findings (rule = experiment id / check id,
 * asset = the target, location = the phase) and an inventory drift's findings and rule
 * violations. Only complete scans count: a refused, invalid or aborted run saw nothing for sure,
 * so it records nothing (it would otherwise "resolve" every finding it did not get to look at).
 */
import type { Journal } from "../Journal.ts"
import type { Drift, FindingKind } from "../inventory/diff/diff.ts"
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
