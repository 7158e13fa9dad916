/**
 * A Markdown summary for pull-request comments: one line per run, then the findings with their
 * evidence, the refusals and aborts, and the rollbacks that did not restore. A pure function of
 * the journals.
 */
import type { Journal } from "../Journal.ts"
import { runProblem, show, statusWord } from "./shared.ts"

const icon: Readonly<Record<Journal["status"], string>> = { passed: "✅", failed: "❌", refused: "⛔", aborted: "⚠️", invalid: "⚠️", "rollback-incomplete": "🚨" }

/** Text safe inside a Markdown table cell or inline code. */
const cell = (s: string) => s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ")
const code = (s: string) => {
  const t = cell(s)
  const ticks = /`+/g.exec(t)?.[0].length ?? 0
  const fence = "`".repeat(ticks + 1)
  return `${fence}${ticks > 0 ? " " : ""}${t}${ticks > 0 ? " " : ""}${fence}`
}

/**
 * Renders journals as a Markdown summary.
 *
 * @example
 * writeFileSync("shiftup.md", markdown(journals))
 */
export const markdown = (journals: ReadonlyArray<Journal>): string => {
  const out: Array<string> = []
  const count = (s: Journal["status"]) => journals.filter((j) => j.status === s).length
  const worst = Math.max(0, ...journals.map((j) => j.exitCode))
  const tally = (["passed", "failed", "refused", "aborted", "invalid", "rollback-incomplete"] as const).filter((s) => count(s) > 0).map((s) => `${count(s)} ${s}`).join(", ")
  const findings = journals.reduce((n, j) => n + j.findings.length, 0)
  out.push(`## shiftup: ${journals.length} experiment${journals.length === 1 ? "" : "s"} — ${tally === "" ? "nothing ran" : tally}`)
  out.push("")
  out.push(`${findings === 0 ? "No findings." : `**${findings} finding${findings === 1 ? "" : "s"}.**`} Exit code ${worst}.`)
  out.push("")
  out.push("| | experiment | status | checks | findings | rollbacks | duration | run |")
  out.push("| --- | --- | --- | --- | --- | --- | --- | --- |")
  for (const j of journals) {
    const checks = j.steps.filter((s) => s.kind === "check")
    const held = checks.filter((s) => s.outcome === "held").length
    const restored = j.rollbacks.filter((r) => r.outcome === "restored").length
    out.push(
      `| ${icon[j.status]} | ${code(j.experiment.id)} ${cell(j.experiment.title)} | ${statusWord[j.status]} | ${held}/${checks.length} held | ${j.findings.length} | ${j.rollbacks.length === 0 ? "—" : `${restored}/${j.rollbacks.length} restored`} | ${(j.durationMs / 1000).toFixed(1)} s | ${code(j.runId)} |`,
    )
  }
  const withFindings = journals.filter((j) => j.findings.length > 0)
  if (withFindings.length > 0) {
    out.push("", "### Findings", "")
    for (const j of withFindings)
      for (const f of j.findings) {
        out.push(`- **[${f.severity}] ${cell(f.title)}** — ${code(j.experiment.id)}, ${f.phase} phase, target ${code(f.target)}${f.cwe === undefined ? "" : `, ${cell(f.cwe)}`}`)
        out.push(`  - expected ${code(f.expected)}, observed ${code(show(f.observed, 200))}`)
        const step = j.steps.find((s) => s.id === f.id && s.phase === f.phase && s.outcome === "violated")
        if (step !== undefined) out.push(`  - evidence: ${step.samples ?? 1} sample(s) over ${step.durationMs} ms from ${step.startedAt}${step.message === undefined ? "" : `; ${cell(step.message)}`}`)
        if (f.remediation !== undefined) out.push(`  - fix: ${cell(f.remediation)}`)
      }
  }
  const problems = journals.flatMap((j) => {
    const p = runProblem(j)
    return p === undefined ? [] : [{ j, p }]
  })
  if (problems.length > 0) {
    out.push("", "### Refused, aborted or incomplete", "")
    for (const { j, p } of problems) out.push(`- ${icon[j.status]} ${code(j.experiment.id)}: ${cell(p)}`)
  }
  const failedRollbacks = journals.flatMap((j) => j.rollbacks.filter((r) => r.outcome !== "restored").map((r) => ({ j, r })))
  if (failedRollbacks.length > 0) {
    out.push("", "### 🚨 Rollbacks that did not restore — run `shiftup recover`", "")
    for (const { j, r } of failedRollbacks) out.push(`- ${code(j.experiment.id)}: ${code(r.fault)} on ${code(r.target)} ${r.outcome}${r.error === undefined ? "" : `: ${cell(r.error)}`} (compensation ${code(r.compensation)})`)
  }
  out.push("")
  return out.join("\n")
}
