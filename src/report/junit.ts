/**
 * JUnit XML for CI systems: one `<testsuite>` per run, one `<testcase>` per assertion (every
 * check step of the journal, in order), one per rollback, and one for the run itself when it
 * ended for a reason no assertion explains (refused, invalid, aborted). A pure function of the
 * journals.
 */
import type { Journal, StepRecord } from "../Journal.ts"
import { escapeXml as e, runProblem, show, xmlSafe } from "./shared.ts"

const seconds = (ms: number) => (ms / 1000).toFixed(3)

const attrs = (a: Record<string, string | number>) =>
  Object.entries(a)
    // Newlines in attributes would be normalised to spaces by XML parsers anyway.
    .map(([k, v]) => ` ${k}="${e(xmlSafe(String(v)).replace(/\r\n|[\r\n\t]/g, " "))}"`)
    .join("")

/** Element text: XML parsers turn CR LF and lone CR into LF, so do it here and keep text stable. */
const text = (s: string) => e(xmlSafe(s).replace(/\r\n?/g, "\n"))

const caseOf = (j: Journal, s: StepRecord): { readonly xml: string; readonly failure: boolean; readonly error: boolean } => {
  const head = `    <testcase${attrs({ classname: `${j.experiment.id}.${s.phase}`, name: `${s.phase}: ${s.id}`, time: seconds(s.durationMs) })}`
  if (s.outcome === "held") return { xml: `${head}/>`, failure: false, error: false }
  if (s.outcome === "violated") {
    const finding = j.findings.find((f) => f.id === s.id && f.phase === s.phase)
    const body = [
      `expected: ${s.expected ?? "?"}`,
      `observed: ${show(s.observed, 4000)}`,
      ...(s.samples === undefined ? [] : [`samples: ${finding?.evidence ?? s.samples}`]),
      ...(s.target === undefined ? [] : [`target: ${s.target}`]),
      ...(s.message === undefined ? [] : [`detail: ${s.message}`]),
      ...(finding?.remediation === undefined ? [] : [`remediation: ${finding.remediation}`]),
    ].join("\n")
    const message = `${finding === undefined ? "" : `[${finding.severity}] `}expected ${s.expected ?? "?"}, observed ${show(s.observed, 200)}${finding?.evidence === undefined ? "" : `: ${finding.evidence}`}`
    return { xml: `${head}>\n      <failure${attrs({ message, type: `finding.${finding?.severity ?? "high"}` })}>${text(body)}</failure>\n    </testcase>`, failure: true, error: false }
  }
  return { xml: `${head}>\n      <error${attrs({ message: s.message ?? "error", type: "step.error" })}>${text(s.message ?? "")}</error>\n    </testcase>`, failure: false, error: true }
}

const suiteOf = (j: Journal, id: number) => {
  const cases: Array<{ readonly xml: string; readonly failure: boolean; readonly error: boolean }> = []
  for (const s of j.steps) if (s.kind === "check") cases.push(caseOf(j, s))
  for (const r of j.rollbacks) {
    const head = `    <testcase${attrs({ classname: `${j.experiment.id}.rollback`, name: `rollback: ${r.fault} on ${r.target}`, time: seconds(r.durationMs) })}`
    cases.push(
      r.outcome === "restored"
        ? { xml: `${head}/>`, failure: false, error: false }
        : { xml: `${head}>\n      <error${attrs({ message: `${r.outcome}: ${r.error ?? ""}`, type: `rollback.${r.outcome}` })}>${text(`compensation: ${r.compensation}\n${r.error ?? ""}\nrun \`shiftup recover\``)}</error>\n    </testcase>`, failure: false, error: true },
    )
  }
  const problem = runProblem(j)
  if (problem !== undefined && j.status !== "rollback-incomplete") {
    const head = `    <testcase${attrs({ classname: `${j.experiment.id}.run`, name: `run: ${j.status}`, time: seconds(j.durationMs) })}`
    cases.push({ xml: `${head}>\n      <error${attrs({ message: problem, type: `run.${j.status}` })}>${text(`${j.summary}${j.errors.map((x) => `\n${x.tag}: ${x.message}`).join("")}`)}</error>\n    </testcase>`, failure: false, error: true })
  }
  const failures = cases.filter((c) => c.failure).length
  const errors = cases.filter((c) => c.error).length
  const props = [
    ["runId", j.runId],
    ["status", j.status],
    ["exitCode", String(j.exitCode)],
    ["summary", j.summary],
    ["dryRun", String(j.dryRun)],
    ...(j.ledger === undefined ? [] : [["ledger", j.ledger]]),
  ]
  return {
    tests: cases.length,
    failures,
    errors,
    xml: [
      `  <testsuite${attrs({ id, name: j.experiment.id, package: "shiftup", tests: cases.length, failures, errors, skipped: 0, time: seconds(j.durationMs), timestamp: j.startedAt.replace(/Z$/, ""), hostname: "localhost" })}>`,
      `    <properties>`,
      ...props.map(([name, value]) => `      <property${attrs({ name: name ?? "", value: value ?? "" })}/>`),
      `    </properties>`,
      ...cases.map((c) => c.xml),
      `    <system-out>${text(`${j.experiment.title}\n${j.summary}`)}</system-out>`,
      `  </testsuite>`,
    ].join("\n"),
  }
}

/**
 * Renders journals as one JUnit XML document.
 *
 * @example
 * writeFileSync("junit.xml", junit([journal]))
 */
export const junit = (journals: ReadonlyArray<Journal>): string => {
  const suites = journals.map((j, i) => suiteOf(j, i))
  const sum = (k: "tests" | "failures" | "errors") => suites.reduce((n, s) => n + s[k], 0)
  const time = journals.reduce((n, j) => n + j.durationMs, 0)
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${attrs({ name: "shiftup", tests: sum("tests"), failures: sum("failures"), errors: sum("errors"), time: seconds(time) })}>\n${suites.map((s) => s.xml).join("\n")}\n</testsuites>\n`
}
