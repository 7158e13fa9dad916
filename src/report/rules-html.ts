/**
 * The HTML of rule findings: the misconfiguration section of a report (the profiles in force
 * and why at the top, what blocks CI, then findings grouped by severity and by rule, each rule
 * with its rationale, remediation and references as links) and the same rule blocks inside an
 * experiment's finding. Pure; escapes everything it prints.
 */
import { escapeXml as e } from "./shared.ts"
import { blockingRule, profilesInForce, referencesOf, ruleSeverities, type RuleFinding, type RuleInfo, type RuleResults } from "./rules.ts"
import type { References } from "../misconfig/model.ts"

const links = (r: References) =>
  referencesOf(r)
    .map((x) => `<a href="${e(x.url)}" rel="noreferrer">${e(x.label)}</a>`)
    .join(", ")

const assetRow = (f: RuleFinding) =>
  `<li><code>${e(f.asset)}</code>${f.blocking ? ' <span class="no">blocking</span>' : ""} <span class="muted">(profile ${e(f.profile)})</span><ul>${f.evidence.map((x) => `<li class="evidence">${e(x)}</li>`).join("")}</ul></li>`

/** One rule's findings: title, severity, the assets with their evidence, the fix and the references. */
const ruleBlock = (rule: Pick<RuleInfo, "id" | "title"> & { readonly rationale?: string }, findings: ReadonlyArray<RuleFinding>) => {
  const first = findings[0]
  if (first === undefined) return ""
  return (
    `<div class="finding rule ${e(first.severity)}" data-rule="${e(rule.id)}"><span class="sev">${e(first.severity)}</span> <strong>${e(rule.title)}</strong> <code>${e(rule.id)}</code>` +
    `<dl>${rule.rationale === undefined ? "" : `<dt>why</dt><dd>${e(rule.rationale)}</dd>`}<dt>${findings.length === 1 ? "asset" : `assets (${findings.length})`}</dt><dd><ul class="assets">${findings.map(assetRow).join("")}</ul></dd>` +
    `<dt>fix</dt><dd>${e(first.remediation)}</dd><dt>references</dt><dd class="refs">${links(first.references)}</dd></dl></div>`
  )
}

const byRule = (findings: ReadonlyArray<RuleFinding>) => {
  const groups = new Map<string, Array<RuleFinding>>()
  for (const f of findings) groups.set(f.rule, [...(groups.get(f.rule) ?? []), f])
  return groups
}

/** The rule findings inside an experiment's finding (a violated `noMisconfiguration` check). */
export const ruleFindingsHtml = (findings: ReadonlyArray<RuleFinding>): string =>
  [...byRule(findings).entries()].map(([id, fs]) => ruleBlock({ id, title: fs[0]?.title ?? id }, fs)).join("")

/** The misconfiguration section of a report. */
export const rulesSection = (r: RuleResults): string => {
  const info = new Map(r.rules.map((x) => [x.id, x]))
  const blocking = r.findings.filter((f) => f.blocking).length
  const tally = ruleSeverities
    .map((s) => [s, r.findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(", ")
  const out = [
    `<section class="run" id="misconfiguration" data-findings="${r.findings.length}" data-blocking="${blocking}"><h2><span class="badge ${blocking > 0 ? "failed" : "passed"}">${blocking > 0 ? "BLOCKING" : "OK"}</span>Misconfigurations (${r.findings.length})</h2>`,
    `<div class="profiles"><b>Profile${profilesInForce(r).length === 1 ? "" : "s"} in force:</b> ${profilesInForce(r).map((p) => e(p)).join("; ") || '<span class="muted">none (no asset)</span>'}</div>`,
    `<div class="meta">What blocks CI: ${e(blockingRule(r))} · ${blocking} blocking · ${r.passed === undefined ? "" : `${r.passed.length} rule check${r.passed.length === 1 ? "" : "s"} passed · `}${r.notEvaluated.length} not evaluated (facts absent)</div>`,
    `<p class="summary">${r.findings.length === 0 ? "No misconfiguration found." : e(tally)}</p>`,
  ]
  for (const s of ruleSeverities) {
    const at = r.findings.filter((f) => f.severity === s)
    if (at.length === 0) continue
    out.push(`<h3 class="severity" data-severity="${s}">${s[0]?.toUpperCase()}${s.slice(1)} (${at.length})</h3>`)
    for (const [id, fs] of byRule(at)) out.push(ruleBlock(info.get(id) ?? { id, title: fs[0]?.title ?? id }, fs))
  }
  if (r.notEvaluated.length > 0)
    out.push(`<details><summary>Not evaluated (${r.notEvaluated.length}): the snapshot lacks the facts these rules read</summary><ul>${r.notEvaluated.slice(0, 500).map((n) => `<li><code>${e(n.rule)}</code> on <code>${e(n.asset)}</code></li>`).join("")}</ul></details>`)
  out.push(`</section>`)
  return out.join("\n")
}
