/**
 * JUnit XML for CI systems: one `<testsuite>` per run, one `<testcase>` per assertion (every
 * check step of the journal, in order), one per rollback, and one for the run itself when it
 * ended for a reason no assertion explains (refused, invalid, aborted). A pure function of the
 * journals. Misconfiguration results (`shiftup misconfig --report`) are one more suite: one
 * testcase per rule and asset evaluated — a failure per finding, a pass per rule that found
 * nothing, skipped where the facts the rule reads are absent.
 */
import type { Journal, StepRecord } from "../Journal.ts"
import { escapeXml as e, runProblem, show, xmlSafe } from "./shared.ts"
import { blockingRule, profilesInForce, referencesText, ruleFindingsOf, type RuleFinding, type RuleResults } from "./rules.ts"

const seconds = (ms: number) => (ms / 1000).toFixed(3)

const attrs = (a: Record<string, string | number>) =>
  Object.entries(a)
    // Newlines in attributes would be normalised to spaces by XML parsers anyway.
    .map(([k, v]) => ` ${k}="${e(xmlSafe(String(v)).replace(/\r\n|[\r\n\t]/g, " "))}"`)
    .join("")

/** Element text: XML parsers turn CR LF and lone CR into LF, so do it here and keep text stable. */
const text = (s: string) => e(xmlSafe(s).replace(/\r\n?/g, "\n"))

/** A rule finding as a failure body (or a paragraph of one). */
const ruleText = (f: RuleFinding) =>
  [`${f.rule} [${f.severity}${f.blocking ? ", blocking" : ""}] ${f.title} on ${f.asset} (profile ${f.profile})`, ...f.evidence.map((x) => `  evidence: ${x}`), `  fix: ${f.remediation}`, `  references: ${referencesText(f.references)}`].join("\n")

interface Case {
  readonly xml: string
  readonly failure: boolean
  readonly error: boolean
  readonly skipped?: boolean
}

const caseOf = (j: Journal, s: StepRecord): Case => {
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
      ...(finding === undefined ? [] : ruleFindingsOf(finding).map(ruleText)),
    ].join("\n")
    const message = `${finding === undefined ? "" : `[${finding.severity}] `}expected ${s.expected ?? "?"}, observed ${show(s.observed, 200)}${finding?.evidence === undefined ? "" : `: ${finding.evidence}`}`
    return { xml: `${head}>\n      <failure${attrs({ message, type: `finding.${finding?.severity ?? "high"}` })}>${text(body)}</failure>\n    </testcase>`, failure: true, error: false }
  }
  return { xml: `${head}>\n      <error${attrs({ message: s.message ?? "error", type: "step.error" })}>${text(s.message ?? "")}</error>\n    </testcase>`, failure: false, error: true }
}

/** The misconfiguration suite: rule x asset, failed, passed or skipped. */
const rulesSuite = (r: RuleResults, id: number) => {
  const title = new Map(r.rules.map((x) => [x.id, x.title]))
  const head = (rule: string, asset: string) => `    <testcase${attrs({ classname: `misconfig.${rule}`, name: `${rule} on ${asset}`, time: "0.000" })}`
  const cases: Array<Case> = []
  for (const f of r.findings)
    cases.push({
      xml: `${head(f.rule, f.asset)}>\n      <failure${attrs({ message: `[${f.severity}${f.blocking ? ", blocking" : ""}] ${f.title}: ${f.evidence.join("; ")}`, type: `misconfig.${f.severity}` })}>${text(ruleText(f))}</failure>\n    </testcase>`,
      failure: true,
      error: false,
    })
  for (const p of r.passed ?? []) cases.push({ xml: `${head(p.rule, p.asset)}/>`, failure: false, error: false })
  for (const n of r.notEvaluated)
    cases.push({ xml: `${head(n.rule, n.asset)}>\n      <skipped${attrs({ message: `not evaluated: the snapshot lacks the facts ${title.get(n.rule) === undefined ? "this rule" : `"${title.get(n.rule)}"`} reads` })}/>\n    </testcase>`, failure: false, error: false, skipped: true })
  const failures = cases.filter((c) => c.failure).length
  const skipped = cases.filter((c) => c.skipped === true).length
  const blocking = r.findings.filter((f) => f.blocking).length
  return {
    tests: cases.length,
    failures,
    errors: 0,
    skipped,
    xml: [
      `  <testsuite${attrs({ id, name: "misconfiguration", package: "shiftup", tests: cases.length, failures, errors: 0, skipped, time: "0.000", hostname: "localhost" })}>`,
      `    <properties>`,
      ...[["profiles", profilesInForce(r).join("; ")], ["blocks", blockingRule(r)], ["blocking", String(blocking)]].map(([name, value]) => `      <property${attrs({ name: name ?? "", value: value ?? "" })}/>`),
      `    </properties>`,
      ...cases.map((c) => c.xml),
      `  </testsuite>`,
    ].join("\n"),
  }
}

const suiteOf = (j: Journal, id: number) => {
  const cases: Array<Case> = []
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
    skipped: 0,
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
export const junit = (journals: ReadonlyArray<Journal>, options: { readonly misconfig?: RuleResults } = {}): string => {
  const suites = [...journals.map((j, i) => suiteOf(j, i)), ...(options.misconfig === undefined ? [] : [rulesSuite(options.misconfig, journals.length)])]
  const sum = (k: "tests" | "failures" | "errors" | "skipped") => suites.reduce((n, s) => n + s[k], 0)
  const time = journals.reduce((n, j) => n + j.durationMs, 0)
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${attrs({ name: "shiftup", tests: sum("tests"), failures: sum("failures"), errors: sum("errors"), ...(options.misconfig === undefined ? {} : { skipped: sum("skipped") }), time: seconds(time) })}>\n${suites.map((s) => s.xml).join("\n")}\n</testsuites>\n`
}
