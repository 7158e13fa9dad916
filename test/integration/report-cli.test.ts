/**
 * Reports through the real CLI: `shiftup run … --report … --out <dir>` after a real run against
 * the demo lab, `shiftup report <journals…> --format …`, and invalid input (unknown format, not a
 * journal, several formats to stdout) exiting 4 before anything runs.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { XMLParser } from "fast-xml-parser"
import { describe, test } from "vitest"
import { repoRoot, testScope, useProcessCleanup } from "../support/proc-cli.ts"
import { labForThisFile } from "../support/proc-lab.ts"
import { journalDir } from "../unit/report/journals.ts"

useProcessCleanup()

const lab = labForThisFile()

const slow = join(repoRoot, "experiments", "gateway.fails-closed.auth-slow.ts")
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (n) => n === "testcase" || n === "testsuite" })

describe.concurrent("reports from the CLI", () => {
  test("run --report html,junit,sarif,md --out: four files, all telling the same story as the journal", async (context) => {
    const { expect } = context
    const scope = testScope(context)
    const state = scope.tempDir("shiftup-state-")
    const out = join(state, "reports")
    const journal = join(state, "run.json")
    const r = await scope.runCli(["run", slow, "--report", "html,junit", "--report", "sarif,md", "--out", out, "--state-dir", state, "--journal", journal], { env: { SHIFTUP_LAB_PORT: String(lab().base) } })
    expect(r.code, r.output).toBe(1)
    expect(readdirSync(out).sort()).toEqual(["shiftup-junit.xml", "shiftup-report.html", "shiftup-summary.md", "shiftup.sarif"])
    expect(r.stdout).toContain(`reports: ${join(out, "shiftup-report.html")}`)
    const j = JSON.parse(readFileSync(journal, "utf8")) as { runId: string; findings: ReadonlyArray<{ id: string }>; steps: ReadonlyArray<{ kind: string }> }

    const xml = parser.parse(readFileSync(join(out, "shiftup-junit.xml"), "utf8")) as { testsuites: { testsuite: ReadonlyArray<{ testcase: ReadonlyArray<{ name: string; failure?: unknown }> }> } }
    const cases = xml.testsuites.testsuite[0]?.testcase ?? []
    expect(cases.filter((c) => !c.name.startsWith("rollback:")).length).toBe(j.steps.filter((s) => s.kind === "check").length)
    expect(cases.filter((c) => c.failure !== undefined).map((c) => c.name)).toEqual(["method: GET /admin as anonymous during faults: never 200"])

    const log = JSON.parse(readFileSync(join(out, "shiftup.sarif"), "utf8")) as { runs: ReadonlyArray<{ results: ReadonlyArray<{ properties: { runId: string }; locations: ReadonlyArray<{ physicalLocation?: { artifactLocation: { uri: string } } }> }> }> }
    expect(log.runs[0]?.results.length).toBe(j.findings.length)
    expect(log.runs[0]?.results[0]?.properties.runId).toBe(j.runId)
    expect(log.runs[0]?.results[0]?.locations[0]?.physicalLocation?.artifactLocation.uri).toMatch(/experiments\/gateway\.fails-closed\.auth-slow\.ts$/)

    expect(readFileSync(join(out, "shiftup-summary.md"), "utf8")).toContain("**[critical] GET /admin as anonymous during faults: never 200**")
    const page = readFileSync(join(out, "shiftup-report.html"), "utf8")
    expect(page).toContain(j.runId)
    expect(page).toContain('<svg class="timeline"')
  })

  test("run --report without --out writes into <state dir>/reports", async (context) => {
    const { expect } = context
    const scope = testScope(context)
    const state = scope.tempDir("shiftup-state-")
    const r = await scope.runCli(["run", join(repoRoot, "examples", "05-refused-production.ts"), "--report", "md", "--state-dir", state])
    expect(r.code, r.output).toBe(2)
    expect(readFileSync(join(state, "reports", "shiftup-summary.md"), "utf8")).toContain("floor.production-observe-only")
  })

  test("report <journal> --format junit prints to stdout; a folder and --out write files", async (context) => {
    const { expect } = context
    const scope = testScope(context)
    const one = await scope.runCli(["report", join(journalDir, "gateway.fails-closed.auth-slow.json"), "--format", "junit"])
    expect(one.code, one.output).toBe(0)
    expect(one.stdout.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true)
    expect(one.stdout).toContain("<failure")
    const out = scope.tempDir("shiftup-out-")
    const many = await scope.runCli(["report", journalDir, "--format", "html,markdown", "--out", out])
    expect(many.code, many.output).toBe(0)
    expect(readdirSync(out).sort()).toEqual(["shiftup-report.html", "shiftup-summary.md"])
    expect(readFileSync(join(out, "shiftup-summary.md"), "utf8")).toMatch(/^## shiftup: 5 experiments/)
  })

  test("invalid input exits 4: unknown format (before anything runs), not a journal, several formats to stdout", async (context) => {
    const { expect } = context
    const scope = testScope(context)
    const state = scope.tempDir("shiftup-state-")
    const run = await scope.runCli(["run", slow, "--report", "html,pdf", "--state-dir", state], { env: { SHIFTUP_LAB_PORT: String(lab().base) } })
    expect(run.code, run.output).toBe(4)
    expect(run.stderr).toContain('unknown report format "pdf"; known: html, junit, sarif, md')
    expect(existsSync(join(state, "journals")), "nothing ran").toBe(false)
    const fmt = await scope.runCli(["report", join(journalDir, "gateway.fails-closed.auth-slow.json"), "--format", "docx"])
    expect([fmt.code, fmt.stderr]).toEqual([4, expect.stringContaining('unknown report format "docx"')])
    const bogus = join(state, "not-a-journal.json")
    writeFileSync(bogus, JSON.stringify({ hello: "world" }))
    const notJournal = await scope.runCli(["report", bogus, "--format", "md"])
    expect([notJournal.code, notJournal.stderr]).toEqual([4, expect.stringContaining("not a shiftup.journal/v1 journal")])
    const both = await scope.runCli(["report", join(journalDir, "gateway.fails-closed.auth-slow.json"), "--format", "md,junit"])
    expect([both.code, both.stderr]).toEqual([4, expect.stringContaining("several formats need --out <dir>")])
    const missing = await scope.runCli(["report", join(state, "nope.json"), "--format", "md"])
    expect(missing.code).toBe(4)
  })
})
