/**
 * Target leases (issue 11, item 7; DESIGN.md "target leases"): two runs — in one process or in
 * two — never inject into one member at once. The second is refused at plan time naming the first
 * (or waits, when asked), so it can never capture the first run's *faulted* state as "original"
 * and restore that afterwards. A run killed with its fault in place leaves its lease to
 * `recover`: nobody else may act on the member until the ledger says it was restored.
 */
import { createHash } from "node:crypto"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { Experiment, Step, Target, run } from "shiftup"
import { finish, fixture, pendingIntents, readJournal, spawnCli, runCli, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"
import { withWorld } from "../support/prop-world.ts"

useProcessCleanup()

const ORIGINAL = "original contents\n"

/** The game-day fixture: two destroy faults on files in `dir`, held for `holdMs`. */
const held = (dir: string, state: string, holdMs: number, extra: ReadonlyArray<string> = []) =>
  spawnCli(["run", fixture("report", "gameday-held.ts"), "--state-dir", state, ...extra], { env: { SHIFTUP_FIXTURE_DIR: dir, SHIFTUP_FIXTURE_HOLD: String(holdMs) } })

const worldDir = () => {
  const dir = tempDir("lease-world")
  for (const f of ["a.txt", "b.txt"]) writeFileSync(join(dir, f), ORIGINAL)
  return dir
}

const contents = (dir: string) => ["a.txt", "b.txt"].map((f) => readFileSync(join(dir, f), "utf8"))

describe("target leases", () => {
  it("in one process: a second run on a leased member is refused at plan time, naming the first; it may run once the first is over", async () =>
    withWorld(async (w) => {
      const t = Target.make("leased", { environment: "lab" })
      const slow = Experiment.make({ id: "lease.a", title: "a", targets: { t }, method: [w.fault("a", t), Step.wait(400)] })
      const quick = Experiment.make({ id: "lease.b", title: "b", targets: { t }, method: [w.fault("b", t)] })
      const first = run(slow, { ...w.options(), runId: "run-a" })
      await waitFor("run a injected", () => w.active.has("a"))
      const second = await run(quick, w.options())
      expect(second).toMatchObject({ status: "refused", exitCode: 2, refusal: { rule: "lease.held", target: "leased" } })
      expect(second.refusal?.reason).toContain("run-a")
      expect(w.contacts.filter((c) => c.step === "b")).toEqual([])
      expect((await first).status).toBe("passed")
      expect((await run(quick, w.options())).status).toBe("passed")
    }))

  it("`leaseWait`: the second run waits for the first instead of being refused", async () =>
    withWorld(async (w) => {
      const t = Target.make("waited", { environment: "lab" })
      const first = run(Experiment.make({ id: "wait.a", title: "a", targets: { t }, method: [w.fault("a", t), Step.wait(300)] }), w.options())
      await waitFor("run a injected", () => w.active.has("a"))
      const second = await run(Experiment.make({ id: "wait.b", title: "b", targets: { t }, method: [w.fault("b", t)] }), { ...w.options(), leaseWait: "10 seconds" })
      expect(second.status).toBe("passed")
      expect((await first).status).toBe("passed")
      // b was injected only after a was rolled back.
      const order = w.contacts.map((c) => `${c.kind} ${c.step}`)
      expect(order.indexOf("inject b")).toBeGreaterThan(order.indexOf("compensate a"))
    }))

  it("two processes on one target: the second `shiftup run` is refused (exit 2) and the world ends as it was", async () => {
    const dir = worldDir()
    const one = tempDir("lease-one")
    const two = tempDir("lease-two")
    const a = held(dir, one, 60_000)
    await waitFor("run one holds both faults", () => contents(dir).every((c) => c.startsWith("CORRUPTED")), { proc: a, timeoutMs: 30_000 })
    const b = await runCli(["run", fixture("report", "gameday-held.ts"), "--state-dir", two, "--journal", join(two, "j.json")], { env: { SHIFTUP_FIXTURE_DIR: dir, SHIFTUP_FIXTURE_HOLD: "10" } })
    expect(b.code, b.output).toBe(2)
    expect(b.output).toContain("lease.held")
    const j = readJournal(join(two, "j.json"))
    expect(j.refusal?.rule).toBe("lease.held")
    expect(pendingIntents(two)).toEqual([])
    a.child.kill("SIGTERM")
    const ended = await finish(a, 30_000)
    expect(ended.code, a.output()).toBe(3)
    expect(contents(dir)).toEqual([ORIGINAL, ORIGINAL])
  })

  it("a SIGKILLed run's member stays refused (pending recovery) until `shiftup recover` restores it", async () => {
    const dir = worldDir()
    const state = tempDir("lease-killed")
    const a = held(dir, state, 60_000)
    await waitFor("the run holds both faults", () => contents(dir).every((c) => c.startsWith("CORRUPTED")), { proc: a, timeoutMs: 30_000 })
    a.child.kill("SIGKILL")
    await finish(a, 10_000)
    const other = tempDir("lease-other")
    const refused = await runCli(["run", fixture("report", "gameday-held.ts"), "--state-dir", other], { env: { SHIFTUP_FIXTURE_DIR: dir, SHIFTUP_FIXTURE_HOLD: "10" } })
    expect(refused.code, refused.output).toBe(2)
    expect(refused.output).toContain("shiftup recover")
    // The refused run did not capture the corrupted files as "original".
    expect(contents(dir).every((c) => c.startsWith("CORRUPTED"))).toBe(true)
    const rec = await runCli(["recover", "--state-dir", state])
    expect(rec.code, rec.output).toBe(0)
    expect(contents(dir)).toEqual([ORIGINAL, ORIGINAL])
    const after = await runCli(["run", fixture("report", "gameday-held.ts"), "--state-dir", other], { env: { SHIFTUP_FIXTURE_DIR: dir, SHIFTUP_FIXTURE_HOLD: "10" } })
    expect(after.code, after.output).toBe(0)
    expect(contents(dir)).toEqual([ORIGINAL, ORIGINAL])
  })

  it("a lease of a process that is gone, with nothing pending, is taken over", async () =>
    withWorld(async (w) => {
      const t = Target.make("stale", { environment: "lab" })
      const dir = join(w.stateDir, "leases")
      const first = await run(Experiment.make({ id: "stale.a", title: "a", targets: { t }, method: [w.fault("a", t)] }), w.options())
      expect(first.status).toBe("passed")
      // Forge what a crashed run with a clean ledger leaves: a lease of a dead pid.
      expect(readdirSync(dir)).toEqual([])
      writeFileSync(join(dir, `${createHash("sha256").update("stale").digest("hex").slice(0, 32)}.lease`), JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), purpose: "run dead-run", at: "then", details: { runId: "dead-run", member: "stale" } }))
      expect((await run(Experiment.make({ id: "stale.b", title: "b", targets: { t }, method: [w.fault("b", t)] }), w.options())).status).toBe("passed")
    }))
})
