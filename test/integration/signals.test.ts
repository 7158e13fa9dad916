/**
 * Invariant 2 under signals, through the real CLI process: SIGINT, SIGTERM and SIGHUP each abort
 * the run with a complete rollback (exit 3, journal `aborted`); a second signal during a slow
 * rollback does not skip it; a rollback that never answers is cut off by its timeout, reported,
 * and ends the run with exit 5 — after which `shiftup recover` (with a working compensator) is
 * what restores the world.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { finish, fixture, ledgerRecords, pendingIntents, readJournal, runCli, spawnCli, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"
import { labForThisFile } from "../support/proc-lab.ts"

useProcessCleanup()

const lab = labForThisFile()

const applied = (state: string) => ledgerRecords(state).filter((r) => r.type === "applied").length

describe("signals abort the run and roll everything back", () => {
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    it(`${sig}: rollback complete, journal aborted, exit 3`, async () => {
      const dir = tempDir("shiftup-world-")
      const state = tempDir("shiftup-state-")
      const original = `{"users":["ada","grace"],"signal":"${sig}"}`
      writeFileSync(join(dir, "state.json"), original)
      const journal = join(state, "run.json")
      const child = spawnCli(["run", fixture("signal-lab.ts"), "--state-dir", state, "--journal", journal], {
        env: { SHIFTUP_LAB_PORT: String(lab().base), SHIFTUP_FIXTURE_DIR: dir },
      })
      await waitFor("both faults applied", () => applied(state) === 2, { proc: child })
      expect(lab().authMode()).toBe("down")
      expect(readFileSync(join(dir, "state.json"), "utf8")).not.toBe(original)

      child.child.kill(sig)
      const r = await finish(child, 50_000)
      expect(r.code, r.output).toBe(3)
      expect(r.signal).toBeNull()
      expect(r.stderr).toContain(`${sig} received`)
      expect(lab().authMode(), "the auth fault is rolled back").toBe("ok")
      expect(readFileSync(join(dir, "state.json"), "utf8"), "the state file is restored").toBe(original)
      const j = readJournal(journal)
      expect(j.status).toBe("aborted")
      expect(j.exitCode).toBe(3)
      expect(j.abort?.cause).toBe("signal")
      expect(j.abort?.detail).toContain(sig)
      expect(j.rollbacks.map((x) => [x.fault, x.outcome])).toEqual([
        ["overwrite-state", "restored"],
        ["auth-down", "restored"],
      ])
      expect(pendingIntents(state)).toEqual([])
    })
  }

  it("a second SIGINT during a slow rollback does not skip it", async () => {
    const dir = tempDir("shiftup-world-")
    const state = tempDir("shiftup-state-")
    writeFileSync(join(dir, "state.txt"), "ORIGINAL")
    const journal = join(state, "run.json")
    const child = spawnCli(["run", fixture("custom-rollback.ts"), "--config", fixture("rollback.config.ts"), "--state-dir", state, "--journal", journal], {
      env: { SHIFTUP_FIXTURE_DIR: dir, SHIFTUP_FIXTURE_KIND: "fixture.slow", SHIFTUP_FIXTURE_ROLLBACK_MS: "1000", SHIFTUP_FIXTURE_ROLLBACK_TIMEOUT: "10000" },
    })
    await waitFor("the fault applied", () => applied(state) === 1, { proc: child })
    child.child.kill("SIGINT")
    await waitFor("the rollback started", () => existsSync(join(dir, "markers", "rollback-started")), { proc: child })
    // Impatient operator: more signals while the compensator is still working.
    child.child.kill("SIGINT")
    await new Promise((r) => setTimeout(r, 50))
    child.child.kill("SIGTERM")
    child.child.kill("SIGHUP")
    expect(existsSync(join(dir, "markers", "rollback-done")), "still rolling back when the second signal arrived").toBe(false)

    const r = await finish(child, 50_000)
    expect(r.code, r.output).toBe(3)
    expect(r.stderr).toContain("SIGINT received again")
    expect(existsSync(join(dir, "markers", "rollback-done")), "the rollback ran to its end").toBe(true)
    expect(readFileSync(join(dir, "state.txt"), "utf8")).toBe("ORIGINAL")
    const j = readJournal(journal)
    expect(j.status).toBe("aborted")
    expect(j.rollbacks).toHaveLength(1)
    expect(j.rollbacks[0]?.outcome).toBe("restored")
    expect(j.rollbacks[0]?.durationMs).toBeGreaterThanOrEqual(950)
    expect(pendingIntents(state)).toEqual([])
  })

  for (const how of ["method ends", "SIGTERM"] as const) {
    it(`a hung rollback (${how}) is cut off by its timeout: reported, exit 5, then \`shiftup recover\` restores`, async () => {
      const dir = tempDir("shiftup-world-")
      const state = tempDir("shiftup-state-")
      writeFileSync(join(dir, "state.txt"), "ORIGINAL")
      const journal = join(state, "run.json")
      const child = spawnCli(["run", fixture("custom-rollback.ts"), "--config", fixture("rollback.config.ts"), "--state-dir", state, "--journal", journal], {
        env: { SHIFTUP_FIXTURE_DIR: dir, SHIFTUP_FIXTURE_KIND: "fixture.hang", SHIFTUP_FIXTURE_ROLLBACK_TIMEOUT: "300", SHIFTUP_FIXTURE_HOLD: how === "SIGTERM" ? "30000" : "50" },
      })
      if (how === "SIGTERM") {
        await waitFor("the fault applied", () => applied(state) === 1, { proc: child })
        child.child.kill("SIGTERM")
      }
      const r = await finish(child, 50_000)
      expect(r.code, r.output).toBe(5)
      expect(existsSync(join(dir, "markers", "rollback-started"))).toBe(true)
      expect(r.stdout).toMatch(/ROLLBACK INCOMPLETE/)
      expect(r.stdout).toMatch(/overwrite-state on fixture-state: (timeout|no answer within 300 ms)/)
      expect(r.stdout).toContain("shiftup recover")
      const j = readJournal(journal)
      expect(j.status).toBe("rollback-incomplete")
      expect(j.exitCode).toBe(5)
      expect(j.rollbacks[0]?.outcome).toBe("timeout")
      expect(j.rollbacks[0]?.error).toContain("300 ms")
      // Cut off at its 300 ms timeout (a hung compensator holding the process would instead
      // make `finish` above fail after 50 s).
      expect(j.rollbacks[0]?.durationMs).toBeLessThan(3000)
      // Something is still in place, and the ledger knows it.
      expect(readFileSync(join(dir, "state.txt"), "utf8")).toBe("INJECTED")
      expect(pendingIntents(state)).toHaveLength(1)

      // recover loads the compensator from the config file the ledger names (no --config needed);
      // while that compensator is still broken it says so and exits 5.
      const blind = await runCli(["recover", "--state-dir", state], { env: { SHIFTUP_FIXTURE_JAMMED: "1" } })
      expect(blind.code, blind.output).toBe(5)
      expect(blind.stdout).toMatch(/FAILED\s+overwrite-state .*the switch is still jammed/)
      expect(readFileSync(join(dir, "state.txt"), "utf8")).toBe("INJECTED")

      const rec = await runCli(["recover", "--state-dir", state, "--config", fixture("repair.config.ts")])
      expect(rec.code, rec.output).toBe(0)
      expect(rec.stdout).toMatch(/^restored overwrite-state on fixture-state/m)
      expect(readFileSync(join(dir, "state.txt"), "utf8")).toBe("ORIGINAL")
      expect(pendingIntents(state)).toEqual([])
    }, 150_000)
  }
})
