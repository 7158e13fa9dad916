/**
 * `shiftup findings`: the open set of the finding store as text, JSON or SARIF 2.1.0 (one rule
 * per rule id, one result per finding, its fingerprint as SARIF's partial fingerprint so code
 * scanning dashboards deduplicate across uploads as the store does).
 */
import { sarifSchemaUri } from "../report/sarif.ts"
import { version } from "../version.ts"
import { describeLoop, type Loop } from "./feedback/loop.ts"
import type { StoredFinding } from "./store/Store.ts"

export type Format = "text" | "json" | "sarif"

const level = (s: StoredFinding["severity"]) => (s === "critical" || s === "high" ? "error" : s === "medium" ? "warning" : "note")
const securitySeverity = { critical: "9.5", high: "8.0", medium: "5.5", low: "2.0" } as const

/** The feedback loop of each finding that has a regression experiment (`shiftup feedback`), by fingerprint. */
export type Loops = ReadonlyMap<string, Loop>

const sarif = (findings: ReadonlyArray<StoredFinding>, loops: Loops) => ({
  $schema: sarifSchemaUri,
  version: "2.1.0",
  runs: [
    {
      tool: {
        driver: {
          name: "shiftup watch",
          version,
          semanticVersion: version,
          rules: [...new Map(findings.map((f) => [f.rule, f])).values()].map((f) => ({
            id: f.rule,
            shortDescription: { text: f.title },
            defaultConfiguration: { level: level(f.severity) },
            properties: { "security-severity": securitySeverity[f.severity] },
          })),
        },
      },
      results: findings.map((f) => ({
        ruleId: f.rule,
        level: level(f.severity),
        message: { text: `${f.title} on ${f.asset}${f.location === "" ? "" : ` (${f.location})`}: ${f.detail}` },
        partialFingerprints: { "shiftup/v1": f.fingerprint },
        locations: [{ logicalLocations: [{ name: f.asset, kind: "resource" }] }],
        properties: { state: f.state, firstSeen: f.firstSeen, lastSeen: f.lastSeen, occurrences: f.occurrences, severity: f.severity, ...(loops.has(f.fingerprint) ? { feedback: loops.get(f.fingerprint) } : {}) },
      })),
    },
  ],
})

const text = (findings: ReadonlyArray<StoredFinding>, loops: Loops) =>
  findings.length === 0
    ? "no open findings\n"
    : `${findings
        .map(
          (f) =>
            `${f.severity.toUpperCase().padEnd(8)} ${f.state.padEnd(13)} ${f.rule} on ${f.asset}${f.location === "" ? "" : ` (${f.location})`} — seen ${f.occurrences}× since ${f.firstSeen}${f.acceptedUntil === undefined ? "" : `, accepted until ${f.acceptedUntil}: ${f.acceptedReason ?? ""}`} [${f.fingerprint}]${loops.has(f.fingerprint) ? `\n         ↳ ${describeLoop(f.firstSeen, loops.get(f.fingerprint) as Loop)}` : ""}`,
        )
        .join("\n")}\n${findings.length} open finding(s)\n`

export const renderOpen = (findings: ReadonlyArray<StoredFinding>, format: Format, loops: Loops = new Map()): string =>
  format === "text"
    ? text(findings, loops)
    : `${JSON.stringify(format === "json" ? { schema: "shiftup.findings/v1", findings: findings.map((f) => (loops.has(f.fingerprint) ? { ...f, feedback: loops.get(f.fingerprint) } : f)) } : sarif(findings, loops), null, 2)}\n`
