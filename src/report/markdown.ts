/**
 * A Markdown summary for pull-request comments: one line per run (with its time-to-detect and
 * time-to-recover, summed up across runs above the table), then the findings with their
 * evidence, the refusals and aborts, and the rollbacks that did not restore. A pure function of
 * the journals. Misconfiguration results add a section: findings by severity, each with its
 * asset, evidence, fix and references (links).
 */
import type { Journal } from "../Journal.ts"
import { acrossRuns, runProblem, show, statusWord, stepOf, timing, timingText } from "./shared.ts"
import { blockingRule, profilesInForce, referencesOf, ruleFindingsOf, type RuleFinding, type RuleResults } from "./rules.ts"

const icon: Readonly<Record<Journal["status"], string>> = { passed: "✅", failed: "❌", refused: "⛔", aborted: "⚠️", invalid: "⚠️", "rollback-incomplete": "🚨" }

const entities: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;" }
const oneLine = (s: string) => s.replace(/\r\n?|\n/g, " ")

/**
 * Journal text (which a target may control: a response body, a header, a finding's title) made
 * inert for Markdown rendered as HTML, as GitHub renders it, also inside a table cell: no tag or
 * entity, no emphasis, link or code span, and no pipe or line break that could end the cell.
 */
const text = (s: string) => oneLine(s).replace(/[\\`*_[\]~]/g, "\\$&").replace(/[&<>|]/g, (c) => entities[c] ?? c)

/**
 * Journal text as inline code. Inside a code span nothing is HTML or Markdown, so only what could
 * end it is handled: a fence longer than any run of backticks in the text, and, for tables, an
 * escaped pipe (GFM splits cells before it parses code spans).
 */
const code = (s: string) => {
  const t = oneLine(s).replace(/\|/g, "\\|")
  const ticks = Math.max(0, ...(t.match(/`+/g) ?? []).map((run) => run.length))
  const fence = "`".repeat(ticks + 1)
  const pad = ticks > 0 || t === "" ? " " : ""
  return `${fence}${pad}${t}${pad}${fence}`
}

const ruleLines = (f: RuleFinding, indent: string) => [
  `${indent}- **[${text(f.severity)}${f.blocking ? ", blocking" : ""}] ${text(f.title)}** ${code(f.rule)} on ${code(f.asset)}: ${f.evidence.map(text).join("; ")}`,
  `${indent}  - fix: ${text(f.remediation)}`,
  `${indent}  - references: ${referencesOf(f.references).map((r) => `[${text(r.label)}](${r.url})`).join(", ")}`,
]

const rulesMarkdown = (r: RuleResults): ReadonlyArray<string> => {
  const blocking = r.findings.filter((f) => f.blocking).length
  return [
    `## shiftup: ${r.findings.length} misconfiguration${r.findings.length === 1 ? "" : "s"}, ${blocking} blocking`,
    "",
    `Profiles in force: ${profilesInForce(r).map(text).join("; ") || "none"}. Blocks CI: ${text(blockingRule(r))}. ${r.passed === undefined ? "" : `${r.passed.length} rule checks passed, `}${r.notEvaluated.length} not evaluated.`,
    ...(r.findings.length === 0 ? [] : ["", ...r.findings.flatMap((f) => ruleLines(f, ""))]),
    "",
  ]
}

/**
 * Renders journals as a Markdown summary.
 *
 * @example
 * writeFileSync("shiftup.md", markdown(journals))
 */
export const markdown = (journals: ReadonlyArray<Journal>, options: { readonly misconfig?: RuleResults } = {}): string => {
  const rules = options.misconfig === undefined ? [] : rulesMarkdown(options.misconfig)
  if (journals.length === 0 && rules.length > 0) return rules.join("\n")
  const out: Array<string> = []
  const count = (s: Journal["status"]) => journals.filter((j) => j.status === s).length
  const worst = Math.max(0, ...journals.map((j) => j.exitCode))
  const tally = (["passed", "failed", "refused", "aborted", "invalid", "rollback-incomplete"] as const).filter((s) => count(s) > 0).map((s) => `${count(s)} ${s}`).join(", ")
  const findings = journals.reduce((n, j) => n + j.findings.length, 0)
  out.push(`## shiftup: ${journals.length} experiment${journals.length === 1 ? "" : "s"} — ${tally === "" ? "nothing ran" : tally}`)
  out.push("")
  out.push(`${findings === 0 ? "No findings." : `**${findings} finding${findings === 1 ? "" : "s"}.**`} Exit code ${worst}.`)
  for (const name of ["time-to-detect", "time-to-recover"] as const) {
    const line = journals.length > 1 ? acrossRuns(journals, name) : undefined
    if (line !== undefined) out.push("", `${name === "time-to-detect" ? "Time to detect" : "Time to recover"}: ${text(line)}.`)
  }
  out.push("")
  out.push("| | experiment | status | checks | findings | TTD | TTR | rollbacks | duration | run |")
  out.push("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
  for (const j of journals) {
    const checks = j.steps.filter((s) => s.kind === "check")
    const held = checks.filter((s) => s.outcome === "held").length
    const restored = j.rollbacks.filter((r) => r.outcome === "restored").length
    out.push(
      `| ${icon[j.status]} | ${code(j.experiment.id)} ${text(j.experiment.title)} | ${statusWord[j.status]} | ${held}/${checks.length} held | ${j.findings.length} | ${timingText(timing(j, "time-to-detect"))} | ${timingText(timing(j, "time-to-recover"))} | ${j.rollbacks.length === 0 ? "—" : `${restored}/${j.rollbacks.length} restored`} | ${(j.durationMs / 1000).toFixed(1)} s | ${code(j.runId)} |`,
    )
  }
  const withFindings = journals.filter((j) => j.findings.length > 0)
  if (withFindings.length > 0) {
    out.push("", "### Findings", "")
    for (const j of withFindings)
      for (const f of j.findings) {
        out.push(`- **[${text(f.severity)}] ${text(f.title)}** — ${code(j.experiment.id)}, ${text(f.phase)} phase, target ${code(f.target)}${f.cwe === undefined ? "" : `, ${text(f.cwe)}`}`)
        out.push(`  - expected ${code(f.expected)}, observed ${code(show(f.observed, 200))}`)
        if (f.evidence !== undefined) out.push(`  - samples: ${text(f.evidence)}`)
        const step = stepOf(j, f)
        if (step !== undefined) out.push(`  - evidence: ${step.samples ?? 1} sample(s) over ${step.durationMs} ms from ${text(step.startedAt)}${step.message === undefined ? "" : `; ${text(step.message)}`}`)
        if (f.remediation !== undefined) out.push(`  - fix: ${text(f.remediation)}`)
        for (const r of ruleFindingsOf(f)) out.push(...ruleLines(r, "  "))
      }
  }
  const problems = journals.flatMap((j) => {
    const p = runProblem(j)
    return p === undefined ? [] : [{ j, p }]
  })
  if (problems.length > 0) {
    out.push("", "### Refused, aborted or incomplete", "")
    for (const { j, p } of problems) out.push(`- ${icon[j.status]} ${code(j.experiment.id)}: ${text(p)}`)
  }
  const failedRollbacks = journals.flatMap((j) => j.rollbacks.filter((r) => r.outcome !== "restored").map((r) => ({ j, r })))
  if (failedRollbacks.length > 0) {
    out.push("", "### 🚨 Rollbacks that did not restore — run `shiftup recover`", "")
    for (const { j, r } of failedRollbacks) out.push(`- ${code(j.experiment.id)}: ${code(r.fault)} on ${code(r.target)} ${text(r.outcome)}${r.error === undefined ? "" : `: ${text(r.error)}`} (compensation ${code(r.compensation)})`)
  }
  out.push("")
  return [...out, ...rules].join("\n")
}
