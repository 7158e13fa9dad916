/**
 * Misconfiguration findings as text (a person at a terminal), JSON (`shiftup.misconfig/v1`) and
 * SARIF 2.1.0 (one rule per misconfiguration rule with its rationale, remediation, CIS/CWE/ASVS
 * tags and help URI; one result per finding, the asset as a logical location). Evidence is
 * already free of secret values (rules see names only), so nothing is redacted here.
 */
import { createHash } from "node:crypto"
import type { FindingsFormat } from "../inventory/render.ts"
import { sarifSchemaUri } from "../report/sarif.ts"
import { version } from "../version.ts"
import { rules } from "./evaluate.ts"
import type { Evaluation } from "./evaluate.ts"
import { severities, type Finding, type Severity } from "./model.ts"

const helpUri = (ruleId: string) => `https://github.com/shiftup/shiftup/blob/main/docs/misconfig.md#${ruleId.replace(/\./g, "")}`
const refs = (f: Pick<Finding, "references">) => [...(f.references.cis ?? []).map((c) => `CIS ${c}`), ...f.references.cwe, ...(f.references.asvs ?? []).map((a) => `ASVS ${a}`)]

const text = (e: Evaluation): string => {
  const { findings } = e
  const blocking = findings.filter((f) => f.blocking).length
  const counts = severities.map((s) => [s, findings.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0)
  const lines = [findings.length === 0 ? "no misconfiguration found" : `${findings.length} misconfiguration finding${findings.length === 1 ? "" : "s"} (${counts.map(([s, n]) => `${n} ${s}`).join(", ")}), ${blocking} blocking`]
  const inForce = [...new Set(Object.values(e.profiles).map((p) => `${p.profile} (${p.why})`))]
  if (inForce.length > 0) lines.push(`profile${inForce.length === 1 ? "" : "s"} in force: ${inForce.join("; ")}`)
  lines.push("")
  for (const f of findings) {
    lines.push(`${f.severity.toUpperCase().padEnd(8)} ${f.rule}${f.blocking ? " [blocking]" : ""}: ${f.title} — ${f.asset}`)
    for (const ev of f.evidence) lines.push(`         ${ev}`)
    lines.push(`         fix: ${f.remediation}`, `         refs: ${refs(f).join(", ")}`)
  }
  if (e.notEvaluated.length > 0) lines.push("", `${e.notEvaluated.length} rule/asset pair(s) not evaluated (facts absent from the snapshot): ${e.notEvaluated.slice(0, 5).map((n) => `${n.rule} on ${n.asset}`).join(", ")}${e.notEvaluated.length > 5 ? ", …" : ""}`)
  return `${lines.join("\n")}\n`
}

const json = (e: Evaluation) => ({ schema: "shiftup.misconfig/v1" as const, generator: `shiftup ${version}`, ...e })

const sarifLevel = (s: Severity) => (s === "critical" || s === "high" ? "error" : s === "medium" ? "warning" : "note")
const securitySeverity: Readonly<Record<Severity, string>> = { critical: "9.5", high: "8.0", medium: "5.5", low: "3.0", info: "0.0" }
const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32)

const sarif = (e: Evaluation) => {
  const used = rules.filter((r) => e.findings.some((f) => f.rule === r.id))
  const index = new Map(used.map((r, i) => [r.id, i]))
  return {
    $schema: sarifSchemaUri,
    version: "2.1.0" as const,
    runs: [
      {
        tool: {
          driver: {
            name: "shiftup",
            informationUri: "https://github.com/shiftup/shiftup/blob/main/docs/misconfig.md",
            version,
            semanticVersion: version,
            rules: used.map((r) => ({
              id: r.id,
              name: r.id.replace(/(^|[.-])(\w)/g, (_, __, c: string) => c.toUpperCase()),
              shortDescription: { text: r.title },
              fullDescription: { text: r.rationale },
              helpUri: helpUri(r.id),
              help: { text: r.remediation },
              defaultConfiguration: { level: sarifLevel(r.severity) },
              properties: { tags: ["security", "misconfiguration", "shiftup", ...refs(r)], "security-severity": securitySeverity[r.severity], precision: "high" },
            })),
          },
        },
        automationDetails: { id: "shiftup/misconfig" },
        results: e.findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: index.get(f.rule) ?? 0,
          level: sarifLevel(f.severity),
          kind: "fail",
          message: { text: `${f.title} on ${f.asset} (profile ${f.profile}): ${f.evidence.join("; ")}. ${f.remediation}` },
          locations: [{ logicalLocations: [{ name: f.asset, fullyQualifiedName: f.asset, kind: "resource" }] }],
          partialFingerprints: { "shiftup-misconfig/v1": hash(`${f.rule}\u0000${f.asset}`) },
          properties: { severity: f.severity, blocking: f.blocking, profile: f.profile },
        })),
      },
    ],
  }
}

/**
 * Renders an evaluation as text, JSON or SARIF.
 *
 * @example
 * process.stdout.write(Misconfig.render(Misconfig.evaluate(snapshot.assets), "sarif"))
 */
export const render = (evaluation: Evaluation, format: FindingsFormat): string =>
  format === "text" ? text(evaluation) : `${JSON.stringify(format === "json" ? json(evaluation) : sarif(evaluation), null, 2)}\n`
