/**
 * A vitest reporter that prints, at the end of the test run, every finding of every experiment
 * the tests ran (through `runExperiment` or `describeExperiment`), with the test that produced it.
 *
 * @example
 * // vitest.config.ts
 * import { ShiftupReporter } from "shiftup/vitest"
 * export default defineConfig({ test: { reporters: ["default", new ShiftupReporter()] } })
 */
import type { Reporter, TestModule } from "vitest/node"
import { metaKey, type RunSummary } from "./summary.ts"

export interface ReporterOptions {
  /** Where to print; default stdout. */
  readonly write?: (text: string) => void
}

const show = (u: unknown) => (typeof u === "string" ? u : (JSON.stringify(u) ?? String(u)))

interface Run {
  readonly run: RunSummary
  /** The first test that recorded the run. */
  readonly test: string
  readonly findings: Array<{ readonly test: string; readonly finding: RunSummary["findings"][number] }>
}

/** Entries by run: a run recorded by several tests is one run, each finding with its own test. */
const byRun = (entries: ReadonlyArray<{ readonly test: string; readonly run: RunSummary }>): ReadonlyArray<Run> => {
  const runs = new Map<string, Run>()
  for (const { test, run } of entries) {
    let r = runs.get(run.runId)
    if (r === undefined) runs.set(run.runId, (r = { run, test, findings: [] }))
    for (const finding of run.findings) r.findings.push({ test, finding })
  }
  return [...runs.values()]
}

/**
 * The findings block printed at the end of a run (exported for tests and other reporters): per
 * run, each finding with the test that produced it — with `describeExperiment`, the test of the
 * check that did not hold.
 */
export const findingsBlock = (entries: ReadonlyArray<{ readonly test: string; readonly run: RunSummary }>): string => {
  const runs = byRun(entries)
  if (runs.length === 0) return ""
  const findings = runs.reduce((n, r) => n + r.findings.length, 0)
  const incomplete = runs.filter((r) => r.run.rollbacks.restored < r.run.rollbacks.total)
  const lines = [`shiftup: ${runs.length} experiment run(s), ${findings} finding(s)${incomplete.length > 0 ? `, ${incomplete.length} ROLLBACK(S) INCOMPLETE — run \`shiftup recover\`` : ""}`]
  for (const { run, test, findings: list } of runs) {
    if (list.length === 0 && run.status === "passed") continue
    lines.push(`  ${run.status.toUpperCase()} ${run.experiment} (run ${run.runId})`)
    if (list.length === 0) lines.push(`    ${run.summary}`, `      test: ${test}`)
    for (const { test: where, finding: f } of list) {
      lines.push(`    ✗ [${f.severity}] ${f.title}`)
      lines.push(`      test: ${where}`)
      lines.push(`      expected ${f.expected}; observed ${show(f.observed)} (${f.phase}, target ${f.target})`)
      if (f.evidence !== undefined) lines.push(`      ${f.evidence}`)
      if (f.remediation !== undefined) lines.push(`      fix: ${f.remediation}`)
    }
  }
  return `\n${lines.join("\n")}\n`
}

export class ShiftupReporter implements Reporter {
  private readonly write: (text: string) => void

  constructor(options: ReporterOptions = {}) {
    this.write = options.write ?? ((t) => process.stdout.write(t))
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const runs: Array<{ readonly test: string; readonly run: RunSummary }> = []
    for (const m of testModules)
      for (const t of m.children.allTests()) {
        const list = (t.meta() as Record<string, unknown>)[metaKey]
        if (Array.isArray(list)) for (const run of list as ReadonlyArray<RunSummary>) runs.push({ test: t.fullName, run })
      }
    const text = findingsBlock(runs)
    if (text !== "") this.write(text)
  }
}
