/**
 * Bad input through the real CLI, as one table: each case gives its arguments (and environment,
 * and any file it needs), the exit code (4: invalid input), the fragments its message must
 * contain, and is then checked to have touched nothing — the demo lab saw no request at all (not
 * even a probe, let alone its fault switch), no ledger, no journal, no report written, no stack
 * trace. A probe that throws during a run is not bad input: the run aborts (exit 3) and the faults
 * already injected are rolled back. A journal that cannot be written is not caught before the run
 * either: the run happens, and says so.
 *
 * Tests run concurrently, each with its own lab, state dir and children.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, type ExpectStatic, type TestContext, test } from "vitest"
import { fixture, ledgerFiles, pendingIntents, readJournal, type Scope, testScope, useProcessCleanup } from "../support/proc-cli.ts"
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
    expect(lab.hits, "the lab saw no request: no probe, no fault switch").toEqual({ gateway: 0, auth: 0, alerts: 0, control: 0 })
    expect(lab.authMode()).toBe("ok")
    expect(ledgerFiles(state), "no ledger: nothing was injected").toEqual([])
    expect(existsSync(join(state, "journals")) ? readdirSync(join(state, "journals")) : [], "no run happened").toEqual([])
    expect(existsSync(join(state, "reports")), "no report was written").toBe(false)
  }
  return { scope, lab, state, env, expectUntouched }
}

type World = Awaited<ReturnType<typeof setup>>

/** One bad input: the command line (files it needs made by `argv`), what it must say, its exit code. */
interface Case {
  readonly name: string
  readonly argv: (w: World, scope: Scope) => ReadonlyArray<string>
  /** Extra environment on top of the lab's port. */
  readonly env?: (w: World) => Readonly<Record<string, string>>
  readonly code: number
  /** Fragments of stderr (or of stdout and stderr for `output: true`); a function gets the world for paths. */
  readonly says: (w: World) => ReadonlyArray<string | RegExp>
  readonly output?: boolean
}

const realJournal = JSON.parse(readFileSync(fixture("report", "journals", "gateway.fails-closed.auth-slow.json"), "utf8")) as Record<string, unknown> & { readonly findings: ReadonlyArray<Record<string, unknown>> }
const journalFile = (w: World, name: string, text: string) => {
  const dir = join(w.state, "given")
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, name), text)
  return join(dir, name)
}
/** `shiftup report` of one journal file holding `text`, into the state dir's reports folder (which must stay absent). */
const report = (text: string) => (w: World) => ["report", journalFile(w, "journal.json", text), "--format", "md,html", "--out", join(w.state, "reports")]
const issueLine = (path: string) => new RegExp(`^\\s+- ${path.replace(/[.[\]]/g, "\\$&")}: \\S`, "m")

const cases: ReadonlyArray<Case> = [
  {
    name: "an experiment file with a syntax error",
    argv: (w, scope) => {
      const file = join(scope.tempDir("shiftup-bad-"), "broken.ts")
      writeFileSync(file, 'import { Experiment } from "shiftup"\nexport default Experiment.make({ id: "x", title: "x" targets: {} })\n')
      return ["run", file, "--state-dir", w.state]
    },
    code: 4,
    says: () => ["shiftup: cannot load ", /broken\.ts:2:\d+/],
  },
  {
    name: "an Experiment.make with many problems: every issue is printed with its path",
    argv: (w) => ["run", fixture("invalid-experiment.ts"), "--state-dir", w.state],
    code: 4,
    says: () => ['invalid experiment "Not A Valid Id!"', ...["id", "title", "budget.maxTargets", "budget.maxPercent", "rollbackTimeout", "method[1]", "method[2]"].map(issueLine), /method\[1\]: .*"stranger".*not declared/],
  },
  {
    name: "the same invalid experiment is rejected by `plan` too",
    argv: (w) => ["plan", fixture("invalid-experiment.ts"), "--state-dir", w.state],
    code: 4,
    says: () => ['invalid experiment "Not A Valid Id!"'],
  },
  {
    name: "Expect.during with NaN samples and a negative burst, Step.wait(-1000), a guard every -1 ms, a recovery within Infinity: every issue with its path",
    argv: (w) => ["run", fixture("bad-options.ts"), "--state-dir", w.state],
    code: 4,
    says: () => [
      'invalid experiment "fixture.bad-options"',
      "  - method[2].options.samples: must be a whole number of rounds, at least 1, got NaN",
      "  - method[2].options.burst: must be a whole number of concurrent observations per round, at least 1, got -3",
      "  - method[1].duration: must be 0 or more, got -1000",
      "  - stopWhen[0].options.every: must be more than 0, got -1",
      "  - recovery[0].options.within: must be finite, got Infinity",
    ],
  },
  {
    name: "the same bad options are rejected by `plan` too",
    argv: (w) => ["plan", fixture("bad-options.ts"), "--state-dir", w.state],
    code: 4,
    says: () => ["  - method[2].options.samples: must be a whole number of rounds"],
  },
  {
    name: "--approve with a typo (fualts) would have run every fault ungated",
    argv: (w) => ["run", fixture("probe-throws.ts"), "--state-dir", w.state, "--approve", "fualts", "--yes"],
    code: 4,
    says: () => ['--approve "fualts" (did you mean faults?): no such step; use `faults`, `all` or a method step id: "auth-down", "broken sensor"'],
  },
  {
    name: "--approve naming a step no selected experiment has",
    argv: (w) => ["run", fixture("probe-throws.ts"), "--state-dir", w.state, "--approve", "auth-dwn", "--approve", "faults"],
    code: 4,
    says: () => ['--approve "auth-dwn" (did you mean auth-down?): no such step'],
  },
  {
    name: "SHIFTUP_LAB_PORT that is not a port",
    argv: (w) => ["run", fixture("probe-throws.ts"), "--state-dir", w.state],
    env: () => ({ SHIFTUP_LAB_PORT: "abc" }),
    code: 4,
    says: () => ['SHIFTUP_LAB_PORT: "abc" is not a base port: set it to a whole number from 1 to 65532'],
  },
  {
    name: "SHIFTUP_CONTROL_DIR that is a relative path",
    argv: (w) => ["run", fixture("probe-throws.ts"), "--state-dir", w.state],
    env: () => ({ SHIFTUP_CONTROL_DIR: "control" }),
    code: 4,
    says: () => ['SHIFTUP_CONTROL_DIR: "control" is not an absolute path'],
  },
  {
    name: "SHIFTUP_CONTROL_DIR that is a symbolic link",
    argv: (w) => ["run", fixture("probe-throws.ts"), "--state-dir", w.state],
    env: (w) => {
      const link = join(w.scope.tempDir("shiftup-link-"), "control")
      symlinkSync(w.scope.tempDir("shiftup-elsewhere-"), link)
      return { SHIFTUP_CONTROL_DIR: link }
    },
    code: 4,
    says: () => [/game-day control directory \S+ \(SHIFTUP_CONTROL_DIR\) is a symbolic link, and shiftup never follows one there/],
  },
  {
    name: "shiftup report: a journal with a missing field",
    argv: report(JSON.stringify({ ...realJournal, findings: [Object.fromEntries(Object.entries(realJournal.findings[0] ?? {}).filter(([k]) => k !== "title"))] })),
    code: 4,
    says: (w) => [`cannot load ${join(w.state, "given", "journal.json")}: not a valid shiftup.journal/v1 journal (see docs/journal.md):`, "  - findings[0].title: Missing key"],
  },
  {
    name: "shiftup report: a journal with a field of the wrong type",
    argv: report(JSON.stringify({ ...realJournal, durationMs: "fast" })),
    code: 4,
    says: () => ["  - durationMs: Expected number"],
  },
  {
    name: "shiftup report: a journal that is not JSON",
    argv: report("{ not json"),
    code: 4,
    says: (w) => [`cannot load ${join(w.state, "given", "journal.json")}: not JSON (`],
  },
  {
    name: "shiftup report: an empty journal file",
    argv: report(""),
    code: 4,
    says: () => ["the file is empty, not a shiftup.journal/v1 journal"],
  },
  {
    name: "shiftup report: a JSON array",
    argv: report(JSON.stringify([realJournal])),
    code: 4,
    says: () => ["not a shiftup.journal/v1 journal (a JSON array)"],
  },
  {
    name: "an unknown flag",
    argv: (w) => ["run", fixture("probe-throws.ts"), "--state-dir", w.state, "--bogus"],
    code: 4,
    says: () => [/Unknown option '--bogus'.*shiftup --help/],
  },
  {
    name: "a missing experiment file",
    argv: (w) => ["run", join(w.state, "no-such-experiment.ts"), "--state-dir", w.state],
    code: 4,
    says: (w) => [`cannot load ${join(w.state, "no-such-experiment.ts")}: no such file or folder`],
  },
  {
    name: "a missing config file",
    argv: (w) => ["run", fixture("probe-throws.ts"), "--state-dir", w.state, "--config", join(w.state, "nope.config.ts")],
    code: 4,
    says: () => [/--config .*nope\.config\.ts: no such file/],
  },
  { name: "no arguments at all: usage", argv: () => [], code: 4, says: () => [/Usage:\s+shiftup init/, /shiftup run </], output: true },
  { name: "an unknown command", argv: () => ["frobnicate", fixture("probe-throws.ts")], code: 4, says: () => ['unknown command "frobnicate"'] },
  { name: "`run` without files", argv: (w) => ["run", "--state-dir", w.state], code: 4, says: () => [/`shiftup run` needs experiment files or folders/] },
]

describe.concurrent("invalid input: clear message, exit 4, nothing touched", () => {
  test.for(cases)("$name", async (c, context) => {
    const { expect } = context
    const w = await setup(context)
    const r = await w.scope.runCli(c.argv(w, w.scope), { env: { ...w.env, ...c.env?.(w) } })
    expect(r.code, r.output).toBe(c.code)
    const text = c.output === true ? r.output : r.stderr
    for (const s of c.says(w)) {
      if (typeof s === "string") expect(text, r.output).toContain(s)
      else expect(text, r.output).toMatch(s)
    }
    expect(r.stderr, "a message, not a stack trace").not.toMatch(/unexpected error|\n\s+at /)
    w.expectUntouched(expect)
  })
})

describe.concurrent("a journal that cannot be written", () => {
  test("the run happens and rolls back, and the output says the journal was not written, and why", async (context) => {
    const { expect } = context
    const w = await setup(context)
    // The journal's folder is a regular file: the write at the end fails (EEXIST from mkdir).
    const blocker = join(w.state, "not-a-folder")
    writeFileSync(blocker, "")
    const r = await w.scope.runCli(["run", fixture("probe-throws.ts"), "--state-dir", w.state, "--journal", join(blocker, "run.json")], { env: w.env })
    expect(r.output).toContain(`journal NOT written: ${blocker} exists and is not a directory; this output is the run's only record`)
    expect(r.output).not.toContain(`journal: ${join(blocker, "run.json")}`)
    expect(w.lab.authMode()).toBe("ok")
    expect(pendingIntents(w.state)).toEqual([])
  })

  test("a run that passed but whose journal could not be written exits 4, not 0", async (context) => {
    const { expect } = context
    const w = await setup(context)
    const blocker = join(w.state, "not-a-folder")
    writeFileSync(blocker, "")
    const r = await w.scope.runCli(["run", join(fixture(".."), "..", "experiments", "alerts.auth-outage-detected.ts"), "--state-dir", w.state, "--journal", join(blocker, "run.json")], { env: w.env })
    expect(r.output).toContain("PASSED")
    expect(r.output).toContain("journal NOT written")
    expect(r.code, r.output).toBe(4)
    expect(w.lab.authMode()).toBe("ok")
    expect(pendingIntents(w.state)).toEqual([])
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
