/**
 * Bad input through the real CLI: every mistake gets a clear message and the documented exit
 * code (4 for invalid input), and leaves nothing injected — no ledger, no journal of a run, the
 * lab's fault switch never called. A probe that throws during a run is not bad input: the run
 * aborts (exit 3) and the faults already injected are rolled back.
 *
 * Tests run concurrently, each with its own lab, state dir and children.
 */
import { existsSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, type ExpectStatic, type TestContext, test } from "vitest"
import { fixture, ledgerFiles, pendingIntents, readJournal, testScope, useProcessCleanup } from "../support/proc-cli.ts"
import { startLabOnFreePorts } from "../support/proc-lab.ts"

useProcessCleanup()

/** A lab, a state dir and a scope of its own for one test. */
const setup = async (context: TestContext) => {
  const scope = testScope(context)
  const lab = await startLabOnFreePorts()
  context.onTestFinished(() => lab.close())
  const state = scope.tempDir("shiftup-state-")
  const env = { SHIFTUP_LAB_PORT: String(lab.base) }
  /** Invalid input must be rejected before anything is touched. */
  const expectUntouched = (expect: ExpectStatic) => {
    expect(lab.hits.control, "the lab's fault switch was never called").toBe(0)
    expect(lab.authMode()).toBe("ok")
    expect(ledgerFiles(state), "no ledger: nothing was injected").toEqual([])
    expect(existsSync(join(state, "journals")) ? readdirSync(join(state, "journals")) : [], "no run happened").toEqual([])
  }
  return { scope, lab, state, env, expectUntouched }
}

describe.concurrent("invalid input: clear message, exit 4, nothing touched", () => {
  test("an experiment file with a syntax error", async (context) => {
    const { expect } = context
    const { scope, state, env, expectUntouched } = await setup(context)
    const file = join(scope.tempDir("shiftup-bad-"), "broken.ts")
    writeFileSync(file, 'import { Experiment } from "shiftup"\nexport default Experiment.make({ id: "x", title: "x" targets: {} })\n')
    const r = await scope.runCli(["run", file, "--state-dir", state], { env })
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toContain(`shiftup: cannot load ${file}`)
    expect(r.stderr).toMatch(/broken\.ts:2:\d+/)
    expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /)
    expectUntouched(expect)
  })

  test("an Experiment.make with many problems: every issue is printed with its path", async (context) => {
    const { expect } = context
    const { scope, state, env, expectUntouched } = await setup(context)
    const r = await scope.runCli(["run", fixture("invalid-experiment.ts"), "--state-dir", state], { env })
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toContain('invalid experiment "Not A Valid Id!"')
    for (const path of ["id", "title", "budget.maxTargets", "budget.maxPercent", "rollbackTimeout", "method[1]", "method[2]"])
      expect(r.stderr, `issue at ${path}`).toMatch(new RegExp(`^\\s+- ${path.replace(/[.[\]]/g, "\\$&")}: \\S`, "m"))
    expect(r.stderr).toMatch(/method\[1\]: .*"stranger".*not declared/)
    expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /)
    expectUntouched(expect)
  })

  test("the same invalid experiment is rejected by `plan` too", async (context) => {
    const { expect } = context
    const { scope, state, env, expectUntouched } = await setup(context)
    const r = await scope.runCli(["plan", fixture("invalid-experiment.ts"), "--state-dir", state], { env })
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toContain('invalid experiment "Not A Valid Id!"')
    expectUntouched(expect)
  })

  test("an unknown flag", async (context) => {
    const { expect } = context
    const { scope, state, env, expectUntouched } = await setup(context)
    const r = await scope.runCli(["run", fixture("probe-throws.ts"), "--state-dir", state, "--bogus"], { env })
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toMatch(/Unknown option '--bogus'.*shiftup --help/)
    expectUntouched(expect)
  })

  test("a missing experiment file", async (context) => {
    const { expect } = context
    const { scope, state, env, expectUntouched } = await setup(context)
    const missing = join(state, "no-such-experiment.ts")
    const r = await scope.runCli(["run", missing, "--state-dir", state], { env })
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toContain(`cannot load ${missing}: no such file or folder`)
    expectUntouched(expect)
  })

  test("a missing config file", async (context) => {
    const { expect } = context
    const { scope, state, env, expectUntouched } = await setup(context)
    const r = await scope.runCli(["run", fixture("probe-throws.ts"), "--state-dir", state, "--config", join(state, "nope.config.ts")], { env })
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toMatch(/--config .*nope\.config\.ts: no such file/)
    expectUntouched(expect)
  })

  test("no arguments at all: usage, exit 4", async (context) => {
    const { expect } = context
    const { scope, env, expectUntouched } = await setup(context)
    const r = await scope.runCli([], { env })
    expect(r.code, r.output).toBe(4)
    expect(r.output).toMatch(/Usage:\s+shiftup run/)
    expectUntouched(expect)
  })

  test("an unknown command", async (context) => {
    const { expect } = context
    const { scope, env, expectUntouched } = await setup(context)
    const r = await scope.runCli(["frobnicate", fixture("probe-throws.ts")], { env })
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toContain('unknown command "frobnicate"')
    expectUntouched(expect)
  })

  test("`run` without files", async (context) => {
    const { expect } = context
    const { scope, state, env, expectUntouched } = await setup(context)
    const r = await scope.runCli(["run", "--state-dir", state], { env })
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toMatch(/`shiftup run` needs experiment files or folders/)
    expectUntouched(expect)
  })
})

describe.concurrent("a probe that throws", () => {
  test("during the method: run aborted, exit 3, the fault rolled back", async (context) => {
    const { expect } = context
    const { scope, lab, state, env } = await setup(context)
    const journal = join(state, "run.json")
    const r = await scope.runCli(["run", fixture("probe-throws.ts"), "--state-dir", state, "--journal", journal], { env })
    expect(r.code, r.output).toBe(3)
    expect(r.stdout).toContain("probe exploded: sensor offline")
    expect(lab.hits.control, "injected once, rolled back once").toBe(2)
    expect(lab.authMode()).toBe("ok")
    const j = readJournal(journal)
    expect(j.status).toBe("aborted")
    expect(j.abort?.cause).toBe("error")
    expect(j.abort?.detail).toContain("probe exploded: sensor offline")
    expect(j.errors.map((e) => e.tag)).toContain("ProbeFailed")
    expect(j.rollbacks.map((x) => [x.fault, x.outcome])).toEqual([["auth-down", "restored"]])
    expect(pendingIntents(state)).toEqual([])
  })

  test("in the steady-state check: run aborted before any fault, exit 3", async (context) => {
    const { expect } = context
    const { scope, lab, state, env } = await setup(context)
    const journal = join(state, "run.json")
    const r = await scope.runCli(["run", fixture("probe-throws.ts"), "--state-dir", state, "--journal", journal], { env: { ...env, SHIFTUP_FIXTURE_WHERE: "before" } })
    expect(r.code, r.output).toBe(3)
    expect(r.stdout).toContain("probe exploded: sensor offline")
    expect(lab.hits.control, "no fault was injected").toBe(0)
    expect(lab.authMode()).toBe("ok")
    const j = readJournal(journal)
    expect(j.status).toBe("aborted")
    expect(j.rollbacks).toEqual([])
    expect(pendingIntents(state)).toEqual([])
  })
})
