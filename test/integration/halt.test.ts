/**
 * Game-day controls through the real CLI. `shiftup halt` stops two concurrent runs and both roll
 * back; while a halt is in effect new runs abort at once, until `shiftup halt --clear`. A declined
 * approval gate (nobody at a terminal, no --yes) aborts the run and rolls back what was injected;
 * --yes approves. `shiftup pause` holds a run before its next step until `shiftup resume`; `--step` runs part of an
 * experiment.
 * Every test uses its own control dir (SHIFTUP_CONTROL_DIR), so no other run on this machine is
 * halted or paused by it.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, type TestContext, test } from "vitest"
import { finish, fixture, ledgerFiles, ledgerRecords, pendingIntents, readJournal, testScope, useProcessCleanup, waitFor } from "../support/proc-cli.ts"

useProcessCleanup()

const held = fixture("report", "gameday-held.ts")
const applied = (state: string) => ledgerRecords(state).filter((r) => r.type === "applied").length

const world = (context: TestContext, control: string) => {
  const scope = testScope(context)
  const dir = scope.tempDir("shiftup-world-")
  const state = scope.tempDir("shiftup-state-")
  writeFileSync(join(dir, "a.txt"), "ORIGINAL A")
  writeFileSync(join(dir, "b.txt"), "ORIGINAL B")
  const journal = join(state, "run.json")
  const env = (hold?: number) => ({ SHIFTUP_CONTROL_DIR: control, SHIFTUP_FIXTURE_DIR: dir, ...(hold === undefined ? {} : { SHIFTUP_FIXTURE_HOLD: String(hold) }) })
  const args = (...extra: ReadonlyArray<string>) => ["run", held, "--state-dir", state, "--journal", journal, ...extra]
  const files = () => [readFileSync(join(dir, "a.txt"), "utf8"), readFileSync(join(dir, "b.txt"), "utf8")]
  return { scope, dir, state, journal, env, args, files }
}

describe.concurrent("game-day controls", () => {
  test("shiftup halt stops two concurrent runs and both roll back; new runs abort until --clear", async (context) => {
    const { expect } = context
    const control = testScope(context).tempDir("shiftup-control-")
    const one = world(context, control)
    const two = world(context, control)
    const a = one.scope.spawnCli(one.args(), { env: one.env() })
    const b = two.scope.spawnCli(two.args(), { env: two.env() })
    await waitFor("run one holds both faults", () => applied(one.state) === 2, { proc: a, timeoutMs: 30_000 })
    await waitFor("run two holds both faults", () => applied(two.state) === 2, { proc: b, timeoutMs: 30_000 })
    expect(one.files()).toEqual(["CORRUPTED A", "CORRUPTED B"])
    expect(two.files()).toEqual(["CORRUPTED A", "CORRUPTED B"])

    const t0 = Date.now()
    const halt = await one.scope.runCli(["halt", "game", "day", "over"], { env: { SHIFTUP_CONTROL_DIR: control } })
    expect(halt.code, halt.output).toBe(0)
    expect(halt.stdout).toContain("HALT requested")
    const [ra, rb] = await Promise.all([finish(a, 30_000), finish(b, 30_000)])
    // "At once": well before the 30 s hold would have ended on its own.
    expect(Date.now() - t0).toBeLessThan(15_000)
    for (const [r, w] of [[ra, one], [rb, two]] as const) {
      expect(r.code, r.output).toBe(3)
      expect(r.stderr).toContain("HALT requested")
      expect(r.stderr).toContain("game day over")
      const j = readJournal(w.journal)
      expect([j.status, j.abort?.cause]).toEqual(["aborted", "signal"])
      expect(j.abort?.detail).toContain("halt: game day over")
      expect(j.rollbacks.map((x) => [x.fault, x.outcome])).toEqual([
        ["overwrite-b", "restored"],
        ["overwrite-a", "restored"],
      ])
      expect(w.files()).toEqual(["ORIGINAL A", "ORIGINAL B"])
      expect(pendingIntents(w.state)).toEqual([])
    }

    // While the halt is in effect a new run does not start.
    const ledgers = ledgerFiles(one.state).length
    const blocked = await one.scope.runCli(one.args(), { env: one.env(10) })
    expect(blocked.code, blocked.output).toBe(3)
    expect(blocked.stderr).toContain("HALT in effect")
    expect(ledgerFiles(one.state).length, "no new run was opened").toBe(ledgers)
    expect(one.files()).toEqual(["ORIGINAL A", "ORIGINAL B"])

    const clear = await one.scope.runCli(["halt", "--clear"], { env: { SHIFTUP_CONTROL_DIR: control } })
    expect([clear.code, clear.stdout]).toEqual([0, expect.stringContaining("halt cleared")])
    const again = await one.scope.runCli(one.args(), { env: one.env(10) })
    expect(again.code, again.output).toBe(0)
  })

  test("an approval gate nobody can approve (no terminal, no --yes) aborts the run and rolls back", async (context) => {
    const { expect } = context
    const control = testScope(context).tempDir("shiftup-control-")
    const w = world(context, control)
    const r = await w.scope.runCli(w.args("--approve", "overwrite-b"), { env: w.env(10) })
    expect(r.code, r.output).toBe(3)
    const j = readJournal(w.journal)
    expect(j.status).toBe("aborted")
    expect(j.errors.map((e) => e.tag)).toEqual(["ApprovalDeclined"])
    expect(j.errors[0]?.message).toContain('approval for "overwrite-b" declined: nobody to ask (no terminal); pass --yes')
    // overwrite-a ran before the gate and was rolled back; overwrite-b never happened
    expect(j.steps.filter((s) => s.kind === "fault").map((s) => s.id)).toEqual(["overwrite-a"])
    expect(j.rollbacks.map((x) => [x.fault, x.outcome])).toEqual([["overwrite-a", "restored"]])
    expect(w.files()).toEqual(["ORIGINAL A", "ORIGINAL B"])
    expect(pendingIntents(w.state)).toEqual([])
  })

  test("--yes approves every gate (CI)", async (context) => {
    const { expect } = context
    const control = testScope(context).tempDir("shiftup-control-")
    const w = world(context, control)
    const r = await w.scope.runCli(w.args("--approve", "faults", "--yes"), { env: w.env(10) })
    expect(r.code, r.output).toBe(0)
    expect(r.stdout).toContain('approval ✓ inject "overwrite-a": approved by --yes')
    expect(r.stdout).toContain('approval ✓ inject "overwrite-b": approved by --yes')
    expect(w.files()).toEqual(["ORIGINAL A", "ORIGINAL B"])
  })

  test("--step runs only the chosen method steps (plan and budget included); an unknown step is exit 4", async (context) => {
    const { expect } = context
    const control = testScope(context).tempDir("shiftup-control-")
    const w = world(context, control)
    const r = await w.scope.runCli(w.args("--step", "overwrite-b", "--step", "hold the faults"), { env: w.env(10) })
    expect(r.code, r.output).toBe(0)
    const j = readJournal(w.journal) as ReturnType<typeof readJournal> & { plan: { faults: ReadonlyArray<{ id: string }> } }
    expect(j.experiment.tags).toContain("partial")
    expect(j.plan.faults.map((f) => f.id)).toEqual(["overwrite-b"])
    expect(j.steps.map((s) => s.id)).toEqual(["overwrite-b", "hold the faults"])
    expect(ledgerRecords(w.state).filter((x) => x.type === "intent").length).toBe(1)
    expect(w.files()).toEqual(["ORIGINAL A", "ORIGINAL B"])
    const bad = await w.scope.runCli(w.args("--step", "nope"), { env: w.env(10) })
    expect(bad.code, bad.output).toBe(4)
    expect(bad.stderr).toContain('no method step "nope"; steps: "overwrite-a", "overwrite-b", "hold the faults"')
  })

  test("shiftup pause holds a run before its next step; shiftup resume lets it finish", async (context) => {
    const { expect } = context
    const control = testScope(context).tempDir("shiftup-control-")
    const w = world(context, control)
    const pause = await w.scope.runCli(["pause"], { env: { SHIFTUP_CONTROL_DIR: control } })
    expect(pause.code, pause.output).toBe(0)
    const child = w.scope.spawnCli(w.args(), { env: w.env(10) })
    await waitFor("the run to report it is paused", () => child.stderr().includes("PAUSED before"), { proc: child, timeoutMs: 30_000 })
    await new Promise((r) => setTimeout(r, 500))
    expect(applied(w.state), "nothing injected while paused").toBe(0)
    expect(child.running()).toBe(true)
    const resume = await w.scope.runCli(["resume"], { env: { SHIFTUP_CONTROL_DIR: control } })
    expect([resume.code, resume.stdout]).toEqual([0, "resumed: paused runs continue\n"])
    const r = await finish(child, 30_000)
    expect(r.code, r.output).toBe(0)
    expect(r.stderr).toContain("resumed")
    expect(readJournal(w.journal).rollbacks.length).toBe(2)
    expect(w.files()).toEqual(["ORIGINAL A", "ORIGINAL B"])
  })
})
