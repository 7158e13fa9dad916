/**
 * Game-day controls through the real CLI. `shiftup halt` stops two concurrent runs and both roll
 * back; while a halt is in effect new runs abort at once, until `shiftup halt --clear`. A declined
 * approval gate (nobody at a terminal, no --yes) aborts the run and rolls back what was injected;
 * --yes approves. `shiftup pause` holds a run before its next step until `shiftup resume`; `--step` runs part of an
 * experiment.
 * A paused run's faults stay bounded by the budget's fault time. The control dir is the user's
 * own: a run refuses one that another user owns, that others can write or that is a link (exit
 * 4, nothing touched), and a team dir is shared only when named explicitly (config `controlDir`).
 * Every test uses its own control dir (SHIFTUP_CONTROL_DIR, or HOME for the per-user default),
 * so no other run on this machine is halted or paused by it.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, type TestContext, test } from "vitest"
import { requestPause } from "../../src/cli/gameday.ts"
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
  const env = (hold?: number, extra: Readonly<Record<string, string>> = { SHIFTUP_CONTROL_DIR: control }) => ({ ...extra, SHIFTUP_FIXTURE_DIR: dir, ...(hold === undefined ? {} : { SHIFTUP_FIXTURE_HOLD: String(hold) }) })
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

  test("a paused run still rolls back when its fault time (budget.maxFaultTime) runs out", async (context) => {
    const { expect } = context
    const control = testScope(context).tempDir("shiftup-control-")
    const w = world(context, control)
    // overwrite-a, then 3 s before overwrite-b: the pause lands in that gap, so the run holds
    // before overwrite-b with overwrite-a in place, until its 4 s of fault time are over.
    const child = w.scope.spawnCli(w.args(), { env: { ...w.env(30_000), SHIFTUP_FIXTURE_GAP: "3000", SHIFTUP_FIXTURE_FAULT_TIME: "4 seconds" } })
    await waitFor("overwrite-a to be in place", () => applied(w.state) === 1, { proc: child, timeoutMs: 30_000 })
    const t0 = Date.now()
    requestPause({ path: control, source: "SHIFTUP_CONTROL_DIR", team: false })
    expect(w.files()).toEqual(["CORRUPTED A", "ORIGINAL B"])
    const r = await finish(child, 30_000)
    expect(r.code, r.output).toBe(3)
    // The pause lands before the next step: the gap's wait, or overwrite-b (under load).
    expect(r.stderr).toMatch(/PAUSED before "(between the faults|overwrite-b)"/)
    // Ended by the fault time, long before the 30 s hold or a resume that never came.
    expect(Date.now() - t0).toBeLessThan(15_000)
    const j = readJournal(w.journal)
    expect(j.abort?.cause).toBe("budget")
    expect(j.abort?.detail).toContain('fault "overwrite-a" reached budget.maxFaultTime (4000 ms)')
    expect(j.steps.filter((s) => s.kind === "fault").map((s) => s.id)).toEqual(["overwrite-a"])
    expect(j.rollbacks.map((x) => [x.fault, x.outcome])).toEqual([["overwrite-a", "restored"]])
    expect(w.files()).toEqual(["ORIGINAL A", "ORIGINAL B"])
    expect(pendingIntents(w.state)).toEqual([])
    expect(existsSync(join(control, "PAUSE")), "the pause itself stays until `shiftup resume`").toBe(true)
  })
})

// One at a time, after the timed tests above: they need no concurrency, and the halt test's
// "aborts within 15 s" should not compete with them for the CPU.
describe("the control directory is the user's own", () => {
  /** A world whose runs use the per-user default control dir under a HOME of their own. */
  const homeWorld = (context: TestContext) => {
    const scope = testScope(context)
    const home = scope.tempDir("shiftup-home-")
    const control = join(home, ".local", "state", "shiftup", "control")
    const w = world(context, control)
    return { ...w, home, control, homeEnv: { HOME: home } }
  }

  const cases: ReadonlyArray<readonly [string, (control: string) => void, string]> = [
    [
      "pre-created by another user",
      (control) => {
        mkdirSync(control, { recursive: true, mode: 0o700 })
        chownSync(control, 65534, 65534)
      },
      "is owned by uid 65534, not by you (uid 0): its owner could halt or pause your runs",
    ],
    [
      "writable by its group",
      (control) => {
        mkdirSync(control, { recursive: true })
        chmodSync(control, 0o775)
      },
      "is writable by its group (mode 0775): chmod 700 it",
    ],
    [
      "writable by everyone",
      (control) => {
        mkdirSync(control, { recursive: true })
        chmodSync(control, 0o777)
      },
      "is writable by every user (mode 0777)",
    ],
    [
      "a symbolic link",
      (control) => {
        mkdirSync(join(control, ".."), { recursive: true })
        symlinkSync("/tmp", control)
      },
      "is a symbolic link, and shiftup never follows one there",
    ],
  ]

  test.for(cases)("a control dir %s: run and halt refuse it (exit 4), nothing is touched", async ([, prepare, message], context) => {
    const { expect } = context
    const w = homeWorld(context)
    prepare(w.control)
    const r = await w.scope.runCli(w.args(), { env: w.env(10, w.homeEnv) })
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toContain(`shiftup: game-day control directory ${w.control} (per-user default) ${message}`)
    expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /)
    expect(ledgerFiles(w.state), "nothing was injected").toEqual([])
    expect(w.files()).toEqual(["ORIGINAL A", "ORIGINAL B"])
    const halt = await w.scope.runCli(["halt"], { env: w.homeEnv })
    expect(halt.code, halt.output).toBe(4)
    expect(halt.stderr).toContain(message)
    expect(existsSync(join(w.control, "HALT")), "no HALT written there").toBe(false)
  })

  test("by default it is per user, under HOME, created 0700; shiftup halt from another directory reaches the run", async (context) => {
    const { expect } = context
    const w = homeWorld(context)
    const child = w.scope.spawnCli(w.args(), { env: w.env(30_000, w.homeEnv) })
    await waitFor("both faults in place", () => applied(w.state) === 2, { proc: child, timeoutMs: 30_000 })
    expect((await import("node:fs")).statSync(w.control).mode & 0o7777).toBe(0o700)
    // Another working directory (runCli gives each child a fresh one), the same user.
    const halt = await w.scope.runCli(["halt", "from", "elsewhere"], { env: w.homeEnv })
    expect(halt.code, halt.output).toBe(0)
    expect(halt.stdout).toContain(`(per-user default)`)
    const r = await finish(child, 30_000)
    expect(r.code, r.output).toBe(3)
    expect(r.stderr).toContain("from elsewhere")
    expect(w.files()).toEqual(["ORIGINAL A", "ORIGINAL B"])
  })

  test("a team dir (root-owned, group-writable, setgid) named in the config is shared; another user's default dir is not", async (context) => {
    const { expect } = context
    const w = homeWorld(context)
    const team = join(w.scope.tempDir("shiftup-team-"), "control")
    mkdirSync(team)
    chownSync(team, 0, 65534)
    chmodSync(team, 0o2770)
    const config = join(w.scope.tempDir("shiftup-config-"), "shiftup.config.mts")
    writeFileSync(config, `export default { controlDir: ${JSON.stringify(team)} }\n`)
    const child = w.scope.spawnCli([...w.args(), "--config", config], { env: w.env(30_000, w.homeEnv) })
    await waitFor("both faults in place", () => applied(w.state) === 2, { proc: child, timeoutMs: 30_000 })
    // A halt in a per-user default dir (another HOME) does not reach a run that uses the team dir.
    const mine = await w.scope.runCli(["halt"], { env: { HOME: w.scope.tempDir("shiftup-other-home-") } })
    expect(mine.code, mine.output).toBe(0)
    const team0 = await w.scope.runCli(["halt", "team", "stop", "--config", config], { env: w.homeEnv })
    expect(team0.code, team0.output).toBe(0)
    expect(team0.stdout).toContain(`every shiftup run of the team sharing ${team} (config controlDir)`)
    const r = await finish(child, 30_000)
    expect(r.code, r.output).toBe(3)
    expect(r.stderr).toContain("team stop")
    expect(r.stderr).not.toContain("emergency stop")
    expect(w.files()).toEqual(["ORIGINAL A", "ORIGINAL B"])
    // The same directory without the setgid bit is refused, named or not.
    chmodSync(team, 0o770)
    const refused = await w.scope.runCli(["halt", "--clear", "--config", config], { env: w.homeEnv })
    expect(refused.code, refused.output).toBe(4)
    expect(refused.stderr).toContain("without the setgid bit: chmod 2770 it")
  })
})
