/**
 * Vulnerable-component findings as text (a person at a terminal), JSON (`shiftup.vulns/v1`, for
 * tools) and SARIF 2.1.0 (code-scanning dashboards: one rule per advisory, one result per
 * affected package, the package's file inside its image as the location, the CVSS score as
 * `security-severity`). Pure functions of the findings, like the project's other reporters.
 */
import { createHash } from "node:crypto"
import { sarifSchemaUri } from "../report/sarif.ts"
import { version } from "../version.ts"
import type { Severity } from "./Cvss.ts"
import type { Finding } from "./osv/match.ts"
import { describeLocation } from "./Package.ts"

export type FindingsFormat = "text" | "json" | "sarif"

type Level = Severity | "unknown"
const rank: Readonly<Record<Level, number>> = { critical: 4, high: 3, medium: 2, low: 1, none: 0, unknown: 0 }

/** Whether a finding is at or above a severity (for `--fail-on`); `unknown` counts as below every level but `none`. */
export const atLeast = (f: Finding, level: Severity): boolean => rank[f.severity.level] >= rank[level] && (f.severity.level !== "unknown" || level === "none")

const ordered = (findings: ReadonlyArray<Finding>) =>
  [...findings].sort((a, b) => rank[b.severity.level] - rank[a.severity.level] || (b.severity.score ?? 0) - (a.severity.score ?? 0) || a.advisory.localeCompare(b.advisory) || a.package.name.localeCompare(b.package.name))

const text = (findings: ReadonlyArray<Finding>): string => {
  if (findings.length === 0) return "no vulnerable components found\n"
  const counts = (["critical", "high", "medium", "low", "none", "unknown"] as const).map((l) => [l, findings.filter((f) => f.severity.level === l).length] as const).filter(([, n]) => n > 0)
  const lines = [`${findings.length} vulnerable component finding${findings.length === 1 ? "" : "s"} (${counts.map(([l, n]) => `${n} ${l}`).join(", ")})`, ""]
  for (const f of ordered(findings)) {
    const aliases = f.aliases.length === 0 ? "" : ` (${f.aliases.join(", ")})`
    lines.push(`${f.severity.level.toUpperCase().padEnd(8)} ${f.advisory}${aliases}: ${f.package.ecosystem} ${f.package.name} ${f.package.version} — ${f.fixed.length === 0 ? "no fix known" : `fixed in ${f.fixed.join(", ")}`}`)
    if (f.summary !== undefined) lines.push(`         ${f.summary}`)
    lines.push(`         at ${describeLocation(f.location)}; affected ${f.affected.join("; ")}${f.severity.score === undefined ? "" : `; CVSS ${f.severity.score.toFixed(1)}`}${f.severity.vector === undefined ? "" : ` ${f.severity.vector}`}`)
  }
  return `${lines.join("\n")}\n`
}

const json = (findings: ReadonlyArray<Finding>) => ({ schema: "shiftup.vulns/v1" as const, generator: `shiftup ${version}`, findings: ordered(findings) })

const sarifLevel = (l: Level) => (l === "critical" || l === "high" ? "error" : l === "medium" ? "warning" : "note")
const securitySeverity: Readonly<Record<Level, string>> = { critical: "9.5", high: "8.0", medium: "5.5", low: "3.0", none: "0.0", unknown: "0.0" }
const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32)

const sarif = (findings: ReadonlyArray<Finding>) => {
  const list = ordered(findings)
  const rules: Array<Record<string, unknown>> = []
  const index = new Map<string, number>()
  for (const f of list) {
    if (index.has(f.advisory)) continue
    index.set(f.advisory, rules.length)
    const title = f.summary ?? `${f.advisory} in ${f.package.name}`
    rules.push({
      id: f.advisory,
      name: f.advisory.replace(/[^A-Za-z0-9]+/g, ""),
      shortDescription: { text: title },
      fullDescription: { text: `${title}${f.aliases.length === 0 ? "" : ` (${f.aliases.join(", ")})`}` },
      helpUri: `https://osv.dev/vulnerability/${encodeURIComponent(f.advisory)}`,
      help: { text: `Upgrade the package to a fixed version${f.fixed.length === 0 ? " (none known yet)" : ` (${f.fixed.join(", ")})`}.` },
      defaultConfiguration: { level: sarifLevel(f.severity.level) },
      properties: {
        tags: ["security", "vulnerability", "shiftup", ...f.aliases],
        "security-severity": f.severity.score === undefined ? securitySeverity[f.severity.level] : f.severity.score.toFixed(1),
        precision: "high",
        ...(f.severity.vector === undefined ? {} : { cvss: f.severity.vector }),
      },
    })
  }
  const results = list.map((f) => ({
    ruleId: f.advisory,
    ruleIndex: index.get(f.advisory) ?? 0,
    level: sarifLevel(f.severity.level),
    kind: "fail",
    message: { text: `${f.package.ecosystem} package ${f.package.name} ${f.package.version} is affected by ${f.advisory}${f.aliases.length === 0 ? "" : ` (${f.aliases.join(", ")})`}: ${f.fixed.length === 0 ? "no fix known" : `fixed in ${f.fixed.join(", ")}`}. Read from ${describeLocation(f.location)}.` },
    locations: [
      {
        physicalLocation: { artifactLocation: { uri: f.location.path.replace(/^\/+/, "").replace(/\\/g, "/"), ...(f.location.image === undefined ? {} : { uriBaseId: "IMAGEROOT" }) } },
        logicalLocations: [{ name: f.package.name, fullyQualifiedName: f.package.purl, kind: "module" }, ...(f.location.image === undefined ? [] : [{ name: f.location.image, kind: "resource" }])],
      },
    ],
    partialFingerprints: { "shiftup-vulns/v1": hash(`${f.advisory}\u0000${f.package.purl}\u0000${describeLocation(f.location)}`) },
    properties: { package: f.package.name, version: f.package.version, ecosystem: f.package.ecosystem, purl: f.package.purl, affected: f.affected, fixed: f.fixed, severity: f.severity.level, ...(f.location.image === undefined ? {} : { image: f.location.image }) },
  }))
  return {
    $schema: sarifSchemaUri,
    version: "2.1.0" as const,
    runs: [{ tool: { driver: { name: "shiftup", informationUri: "https://osv.dev", version, semanticVersion: version, rules } }, automationDetails: { id: "shiftup/vulns" }, results }],
  }
}

/**
 * Renders findings as text, JSON or SARIF (a string, ready to print or write).
 *
 * @example
 * writeFileSync("vulns.sarif", renderFindings(findings, "sarif"))
 */
export const renderFindings = (findings: ReadonlyArray<Finding>, format: FindingsFormat): string =>
  format === "text" ? text(findings) : `${JSON.stringify(format === "json" ? json(findings) : sarif(findings), null, 2)}\n`
