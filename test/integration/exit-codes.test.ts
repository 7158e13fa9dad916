/**
 * The exit code contract of DESIGN.md, one test per code through the real CLI:
 * 0 passed · 1 finding · 2 refused · 3 aborted · 4 invalid input · 5 rollback incomplete.
 * Each also checks the journal's status and what the run left on its target.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, type TestContext, test } from "vitest"
import { fixture, ledgerFiles, pendingIntents, readJournal, testScope, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

const ORIGINAL = "the original state\n"

/** A world (one state file), a state dir and a `run --tag` of its own for one concurrent test. */
const setup = (context: TestContext) => {
  const scope = testScope(context)
  const dir = scope.tempDir("shiftup-world-")
  const state = scope.tempDir("shiftup-state-")
  const journal = join(state, "run.json")
  writeFileSync(join(dir, "state.txt"), ORIGINAL)
  const run = (tag: string) =>
    scope.runCli(["run", fixture("exit-codes.ts"), "--tag", tag, "--config", fixture("rollback.config.ts"), "--state-dir", state, "--journal", journal], { env: { SHIFTUP_FIXTURE_DIR: dir } })
  const contents = () => readFileSync(join(dir, "state.txt"), "utf8")
  return { state, journal, run, contents }
}

describe.concurrent("exit codes", () => {
  test("0: every check held, rollback complete", async (context) => {
    const { expect } = context
    const { state, journal, run, contents } = setup(context)
    const r = await run("code-0")
    expect(r.code, r.output).toBe(0)
    expect(r.stdout).toContain("PASSED")
    const j = readJournal(journal)
    expect([j.status, j.exitCode]).toEqual(["passed", 0])
    expect(j.steps.some((s) => s.kind === "fault" && s.outcome === "ok"), "the fault was really injected").toBe(true)
    expect(contents()).toBe(ORIGINAL)
    expect(pendingIntents(state)).toEqual([])
  })

  test("1: a finding, rollback complete", async (context) => {
    const { expect } = context
    const { state, journal, run, contents } = setup(context)
    const r = await run("code-1")
    expect(r.code, r.output).toBe(1)
    expect(r.stdout).toMatch(/FAILED 1 finding/)
    const j = readJournal(journal)
    expect([j.status, j.exitCode]).toEqual(["failed", 1])
    expect(j.findings).toHaveLength(1)
    expect(j.rollbacks.map((x) => x.outcome)).toEqual(["restored"])
    expect(contents()).toBe(ORIGINAL)
    expect(pendingIntents(state)).toEqual([])
  })

  test("2: refused by the safety policy, nothing touched", async (context) => {
    const { expect } = context
    const { state, journal, run, contents } = setup(context)
    const r = await run("code-2")
    expect(r.code, r.output).toBe(2)
    expect(r.stdout).toContain("floor.unknown-is-production")
    const j = readJournal(journal)
    expect([j.status, j.exitCode]).toEqual(["refused", 2])
    expect(j.refusal?.rule).toBe("floor.unknown-is-production")
    expect(contents()).toBe(ORIGINAL)
    expect(ledgerFiles(state)).toEqual([])
  })

  test("3: aborted (the method outlived budget.maxDuration), rollback complete", async (context) => {
    const { expect } = context
    const { state, journal, run, contents } = setup(context)
    // The method waits 10 minutes: only the 2 s deadline can end this run within the test's time.
    const r = await run("code-3")
    expect(r.code, r.output).toBe(3)
    const j = readJournal(journal)
    expect([j.status, j.exitCode]).toEqual(["aborted", 3])
    expect(j.abort?.cause).toBe("timeout")
    expect(j.abort?.detail).toContain("budget.maxDuration")
    expect(j.rollbacks.map((x) => x.outcome)).toEqual(["restored"])
    expect(contents()).toBe(ORIGINAL)
    expect(pendingIntents(state)).toEqual([])
  })

  test("4: invalid input (a --tag that selects nothing), nothing touched", async (context) => {
    const { expect } = context
    const { state, run, contents } = setup(context)
    const r = await run("code-404")
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toContain('no experiment has tag "code-404"')
    expect(contents()).toBe(ORIGINAL)
    expect(ledgerFiles(state)).toEqual([])
  })

  test("5: rollback incomplete — reported, the ledger still owes the compensation", async (context) => {
    const { expect } = context
    const { state, journal, run, contents } = setup(context)
    const r = await run("code-5")
    expect(r.code, r.output).toBe(5)
    expect(r.stdout).toMatch(/ROLLBACK INCOMPLETE/)
    expect(r.stdout).toContain("shiftup recover")
    const j = readJournal(journal)
    expect([j.status, j.exitCode]).toEqual(["rollback-incomplete", 5])
    expect(j.rollbacks.map((x) => x.outcome)).toEqual(["failed"])
    expect(j.rollbacks[0]?.error).toContain("the switch is jammed")
    expect(contents()).toBe("LEFT BEHIND")
    expect(pendingIntents(state).map((x) => x["fault"])).toEqual(["unrecoverable"])
  })

  test("2: a fault whose compensation no compensator can replay is refused at plan time", async (context) => {
    const { expect } = context
    const { state, journal, run, contents } = setup(context)
    const r = await run("no-compensator")
    expect(r.code, r.output).toBe(2)
    expect(r.stdout).toContain('no compensator is registered for kind "fixture.unregistered"')
    const j = readJournal(journal)
    expect([j.status, j.exitCode, j.refusal?.rule]).toEqual(["refused", 2, "compensation.not-recoverable"])
    expect(j.rollbacks).toEqual([])
    expect(contents()).toBe(ORIGINAL)
    expect(pendingIntents(state)).toEqual([])
  })
})
