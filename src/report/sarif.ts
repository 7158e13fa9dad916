/**
 * SARIF 2.1.0 for code-scanning dashboards: one SARIF run per journal, one rule per check that
 * produced a finding (with CWE ids), one result per finding. A pure function of the journals.
 *
 * CWE ids: the finding's own `cwe` (set by the check, e.g. `CWE-306`) first; else an experiment
 * tag `cwe-<n>` (or `CWE-<n>`) applies to every finding of it; otherwise
 * the phase decides — a defence that failed while a fault was active (`method`) is CWE-636
 * (not failing securely), a failed recovery CWE-703 (improper handling of exceptional
 * conditions), a deviated steady state CWE-693 (protection mechanism failure), and a failed
 * detection (a check whose id says `detected within`) CWE-778 (insufficient logging). A
 * `noMisconfiguration` finding takes the CWE ids of the rule findings it observed, and its
 * rule a help URI (MITRE's page of the first).
 *
 * Misconfiguration results (`shiftup misconfig --report`) are one more SARIF run: one rule per
 * misconfiguration rule that found something (rationale, remediation, CIS/CWE/ASVS tags, help
 * URI: the first reference's page), one result per finding with the asset as a logical location.
 */
import { createHash } from "node:crypto"
import type { Finding, Journal } from "../Journal.ts"
import { version } from "../RunContext.ts"
import { show, stepOf } from "./shared.ts"
import { helpUri, ruleFindingsOf, type RuleResults } from "./rules.ts"
import type { References, Severity } from "../misconfig/model.ts"

export const sarifSchemaUri = "https://json.schemastore.org/sarif-2.1.0.json"

export interface SarifOptions {
  /** The experiment file of each experiment id, relative to the repository root, for result locations. */
  readonly files?: Readonly<Record<string, string>>
  /** Misconfiguration results, as one more run. */
  readonly misconfig?: RuleResults
}

const cweNames: Readonly<Record<string, string>> = {
  "636": "Not Failing Securely ('Failing Open')",
  "703": "Improper Check or Handling of Exceptional Conditions",
  "693": "Protection Mechanism Failure",
  "778": "Insufficient Logging",
}

/** The CWE ids of a finding (numbers as strings). */
export const cweOf = (j: Journal, f: Finding): ReadonlyArray<string> => {
  const rules = [...new Set(ruleFindingsOf(f).flatMap((r) => r.references.cwe.flatMap((c) => /^cwe-(\d+)$/i.exec(c)?.[1] ?? [])))]
  if (rules.length > 0) return rules
  const own = /^(?:cwe-)?(\d+)$/i.exec(f.cwe ?? "")?.[1]
  if (own !== undefined) return [own]
  const tagged = j.experiment.tags.flatMap((t) => /^cwe-(\d+)$/i.exec(t)?.[1] ?? [])
  if (tagged.length > 0) return tagged
  if (/ detected within /.test(f.id)) return ["778"]
  return [f.phase === "method" ? "636" : f.phase === "recovery" ? "703" : "693"]
}

const level = (s: Finding["severity"]) => (s === "critical" || s === "high" ? "error" : s === "medium" ? "warning" : "note")
const securitySeverity: Readonly<Record<Finding["severity"], string>> = { critical: "9.5", high: "8.0", medium: "5.5", low: "3.0" }

const ruleId = (j: Journal, f: Finding) => `${j.experiment.id}/${f.id}`

const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32)

const runOf = (j: Journal, options: SarifOptions) => {
  const rules: Array<Record<string, unknown>> = []
  const index = new Map<string, number>()
  for (const f of j.findings) {
    const id = ruleId(j, f)
    if (index.has(id)) continue
    index.set(id, rules.length)
    const cwes = cweOf(j, f)
    const uri = cwes[0] === undefined || ruleFindingsOf(f).length === 0 ? undefined : helpUri({ cwe: [`CWE-${cwes[0]}`] })
    rules.push({
      id,
      name: f.id.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? "").toUpperCase()).replace(/^./, (c) => c.toUpperCase()),
      shortDescription: { text: f.title },
      fullDescription: { text: `${j.experiment.title}: "${f.title}" must hold (${f.phase}; expected ${f.expected}).` },
      help: { text: f.remediation ?? `Make the defence hold: ${f.title}.`, markdown: `**${f.title}**\n\n${f.remediation ?? "Make the defence hold."}\n\nCWE: ${cwes.map((c) => `CWE-${c}${cweNames[c] === undefined ? "" : ` (${cweNames[c]})`}`).join(", ")}` },
      ...(uri === undefined ? {} : { helpUri: uri }),
      defaultConfiguration: { level: level(f.severity) },
      properties: { tags: ["security", "shiftup", ...cwes.map((c) => `external/cwe/cwe-${c}`)], "security-severity": securitySeverity[f.severity], precision: "high", cwe: cwes.map((c) => `CWE-${c}`) },
    })
  }
  const file = options.files?.[j.experiment.id]
  const results = j.findings.map((f) => {
    const step = stepOf(j, f)
    return {
      ruleId: ruleId(j, f),
      ruleIndex: index.get(ruleId(j, f)) ?? 0,
      level: level(f.severity),
      kind: "fail",
      message: { text: `${f.title}: expected ${f.expected}, observed ${show(f.observed)} on target ${f.target} (run ${j.runId}).${f.evidence === undefined ? "" : ` ${f.evidence}.`}${f.remediation === undefined ? "" : ` Fix: ${f.remediation}`}` },
      locations: [
        {
          ...(file === undefined ? {} : { physicalLocation: { artifactLocation: { uri: file.replace(/\\/g, "/") }, region: { startLine: 1 } } }),
          logicalLocations: [{ name: f.target, fullyQualifiedName: `${j.experiment.id}/${f.target}`, kind: "resource" }],
        },
      ],
      partialFingerprints: { "shiftup/v1": hash(`${j.experiment.id}\u0000${f.id}\u0000${f.phase}\u0000${f.target}`) },
      properties: {
        runId: j.runId,
        phase: f.phase,
        severity: f.severity,
        target: f.target,
        expected: f.expected,
        observed: show(f.observed, 2000),
        ...(step?.samples === undefined ? {} : { samples: step.samples }),
        ...(step?.sampling === undefined ? {} : { violatedSamples: step.sampling.violated, ...(step.sampling.firstViolationMs === undefined ? {} : { firstViolationMs: step.sampling.firstViolationMs }) }),
        ...(f.evidence === undefined ? {} : { evidence: f.evidence }),
        ...(step === undefined ? {} : { at: step.startedAt }),
      },
    }
  })
  return {
    tool: { driver: { name: "shiftup", version, semanticVersion: version, rules } },
    invocations: [
      {
        executionSuccessful: j.status === "passed" || j.status === "failed",
        startTimeUtc: j.startedAt,
        endTimeUtc: j.endedAt,
        exitCode: j.exitCode,
        exitCodeDescription: j.status,
        ...(j.status === "passed" || j.status === "failed" ? {} : { toolExecutionNotifications: [{ level: "error", message: { text: j.summary } }] }),
      },
    ],
    automationDetails: { id: `shiftup/${j.experiment.id}/${j.runId}` },
    results,
    properties: { experiment: j.experiment.id, title: j.experiment.title, status: j.status, summary: j.summary },
  }
}

/**
 * Renders journals as one SARIF 2.1.0 log (a JSON value; `JSON.stringify` it to write).
 *
 * @example
 * writeFileSync("shiftup.sarif", JSON.stringify(sarif([journal]), null, 2))
 */
export const sarif = (journals: ReadonlyArray<Journal>, options: SarifOptions = {}) => ({
  $schema: sarifSchemaUri,
  version: "2.1.0" as const,
  runs: [...journals.map((j) => runOf(j, options)), ...(options.misconfig === undefined ? [] : [rulesRun(options.misconfig)])],
})

const ruleLevel = (s: Severity) => (s === "critical" || s === "high" ? "error" : s === "medium" ? "warning" : "note")
const ruleSecuritySeverity: Readonly<Record<Severity, string>> = { ...securitySeverity, info: "0.0" }
const tagsOf = (r: References) => [...(r.cis ?? []).map((c) => `CIS ${c}`), ...r.cwe.flatMap((c) => [c, ...(/^cwe-(\d+)$/i.test(c) ? [`external/cwe/${c.toLowerCase()}`] : [])]), ...(r.asvs ?? []).map((a) => `ASVS ${a}`)]

/** Misconfiguration results as one SARIF run (also what `shiftup misconfig --format sarif` prints). */
export const rulesRun = (r: RuleResults) => {
  // A rule the results do not describe (a user's own, evaluated with `rules`) is described by its findings.
  const used = [...new Set(r.findings.map((f) => f.rule))].map((id) => {
    const f = r.findings.find((x) => x.rule === id)
    return r.rules.find((x) => x.id === id) ?? { id, title: f?.title ?? id, severity: f?.severity ?? "info", rationale: f?.title ?? id, remediation: f?.remediation ?? "", references: f?.references ?? { cwe: [] } }
  })
  const index = new Map(used.map((x, i) => [x.id, i]))
  return {
    tool: {
      driver: {
        name: "shiftup",
        version,
        semanticVersion: version,
        rules: used.map((x) => {
          const uri = helpUri(x.references)
          return {
            id: x.id,
            name: x.id.replace(/(^|[.-])(\w)/g, (_m, _s, c: string) => c.toUpperCase()),
            shortDescription: { text: x.title },
            fullDescription: { text: x.rationale },
            ...(uri === undefined ? {} : { helpUri: uri }),
            help: { text: x.remediation },
            defaultConfiguration: { level: ruleLevel(x.severity) },
            properties: { tags: ["security", "misconfiguration", "shiftup", ...tagsOf(x.references)], "security-severity": ruleSecuritySeverity[x.severity], precision: "high" },
          }
        }),
      },
    },
    automationDetails: { id: "shiftup/misconfig" },
    results: r.findings.map((f) => ({
      ruleId: f.rule,
      ruleIndex: index.get(f.rule) ?? 0,
      level: ruleLevel(f.severity),
      kind: "fail",
      message: { text: `${f.title} on ${f.asset} (profile ${f.profile}): ${f.evidence.join("; ")}. ${f.remediation}` },
      locations: [{ logicalLocations: [{ name: f.asset, fullyQualifiedName: f.asset, kind: "resource" }] }],
      partialFingerprints: { "shiftup-misconfig/v1": hash(`${f.rule}\u0000${f.asset}`) },
      properties: { severity: f.severity, blocking: f.blocking, profile: f.profile },
    })),
  }
}
