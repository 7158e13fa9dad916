/**
 * A test that times out in the middle of an experiment still rolls back: vitest aborts the test's
 * signal, the run aborts and undoes its faults, and the next test starts only after that.
 */
import { expect, it } from "vitest"
import type { Journal } from "shiftup"
import { runExperiment } from "shiftup/vitest"
import { pendingIntents } from "../support/proc-cli.ts"
import { build } from "./experiments.ts"
import { useLab } from "./lab.ts"

const { lab, stateDir } = await useLab()
const { longOutage } = build()

let journal: Journal.Journal | undefined
let modeWhileActive: string | undefined

it.fails(
  "holds auth down for 20 s in a test with a 3 s timeout (expected to time out)",
  async (ctx) => {
    await runExperiment(longOutage, {
      context: ctx,
      stateDir,
      journal: false,
      onEvent: (e) => {
        if (e._tag === "FaultActive") modeWhileActive = lab.authMode()
        if (e._tag === "Finished") journal = e.journal
      },
    })
  },
  3000,
)

it("the timed-out test rolled its fault back before this test started", () => {
  expect(modeWhileActive, "the fault really was active").toBe("down")
  expect(lab.authMode()).toBe("ok")
  expect(journal?.status).toBe("aborted")
  expect(journal?.abort?.cause).toBe("signal")
  expect(journal?.abort?.detail).toMatch(/vitest aborted the test/)
  expect(journal?.rollbacks.map((r) => [r.fault, r.outcome])).toEqual([["auth-down", "restored"]])
  expect(pendingIntents(stateDir)).toEqual([])
})
