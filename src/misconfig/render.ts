/**
 * Misconfiguration findings as text (a person at a terminal), JSON (`shiftup.misconfig/v1`) and
 * SARIF 2.1.0 (one rule per misconfiguration rule with its rationale, remediation, CIS/CWE/ASVS
 * tags and help URI — MITRE's CWE page, else the CIS benchmark's or OWASP ASVS's; one result per
 * finding, the asset as a logical location — the report pipeline's run, src/report). Evidence is
 * already free of secret values (rules see names only), so nothing is redacted here.
 */
import type { FindingsFormat } from "../inventory/render.ts"
import { rulesRun, sarifSchemaUri } from "../report/sarif.ts"
import { blockingRule, profilesInForce } from "../report/rules.ts"
import { version } from "../version.ts"
import { rules } from "./evaluate.ts"
import type { Evaluation } from "./evaluate.ts"
import { severities, type Finding } from "./model.ts"

const refs = (f: Pick<Finding, "references">) => [...(f.references.cis ?? []).map((c) => `CIS ${c}`), ...f.references.cwe, ...(f.references.asvs ?? []).map((a) => `ASVS ${a}`)]

const text = (e: Evaluation): string => {
  const { findings } = e
  const blocking = findings.filter((f) => f.blocking).length
  const counts = severities.map((s) => [s, findings.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0)
  const lines = [findings.length === 0 ? "no misconfiguration found" : `${findings.length} misconfiguration finding${findings.length === 1 ? "" : "s"} (${counts.map(([s, n]) => `${n} ${s}`).join(", ")}), ${blocking} blocking`]
  const inForce = profilesInForce(e)
  if (inForce.length > 0) lines.push(`profile${inForce.length === 1 ? "" : "s"} in force: ${inForce.join("; ")}`, `blocks CI: ${blockingRule(e)}`)
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

const sarif = (e: Evaluation) => ({ $schema: sarifSchemaUri, version: "2.1.0" as const, runs: [rulesRun({ ...e, rules })] })

/**
 * Renders an evaluation as text, JSON or SARIF.
 *
 * @example
 * process.stdout.write(Misconfig.render(Misconfig.evaluate(snapshot.assets), "sarif"))
 */
export const render = (evaluation: Evaluation, format: FindingsFormat): string =>
  format === "text" ? text(evaluation) : `${JSON.stringify(format === "json" ? json(evaluation) : sarif(evaluation), null, 2)}\n`
