/**
 * The `lab` and `run` fixtures of shiftup/vitest: each test gets its own demo lab, experiments
 * built in the test target it, and a test that times out still rolls back — before its lab is
 * closed.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, expect } from "vitest"
import type { Journal } from "shiftup"
import type { Lab } from "shiftup/testing"
import { test } from "shiftup/vitest"
import { build } from "./experiments.ts"

const stateDir = mkdtempSync(join(tmpdir(), "shiftup-vitest-fixture-"))
afterAll(() => rmSync(stateDir, { recursive: true, force: true }))

let timedOut: { lab: Lab; journal?: Journal.Journal; active?: string } | undefined

test("lab + run: the experiment targets this test's own lab and fails closed", async ({ lab, run }) => {
  const { authDown } = build()
  const journal = await run(authDown, { stateDir, journal: false })
  expect(journal).toFailClosed()
  expect(journal.plan?.targets.find((t) => t.id === "gateway")?.members).toEqual([`http://127.0.0.1:${lab.base}`])
  expect(lab.hits.gateway).toBeGreaterThan(0)
  expect(lab.authMode()).toBe("ok")
})

test.fails(
  "a test that times out mid-experiment (expected to time out)",
  async ({ lab, run }) => {
    const state: { lab: Lab; journal?: Journal.Journal; active?: string } = { lab }
    timedOut = state
    await run(build().longOutage, {
      stateDir,
      journal: false,
      onEvent: (e) => {
        if (e._tag === "FaultActive") state.active = lab.authMode()
        if (e._tag === "Finished") state.journal = e.journal
      },
    })
  },
  3000,
)

test("…rolled its fault back through its own lab before that lab was closed", () => {
  expect(timedOut?.active).toBe("down")
  expect(timedOut?.journal?.status).toBe("aborted")
  expect(timedOut?.journal?.rollbacks.map((r) => [r.fault, r.outcome])).toEqual([["auth-down", "restored"]])
  expect(timedOut?.lab.authMode()).toBe("ok")
})
