/**
 * A user-style suite: shiftup/vitest against the demo lab, as a team would write it. Experiments
 * registered as suites (one test per assertion), run inside tests with matchers, and the lab's
 * known weakness tracked as an expected failure whose finding is visible.
 */
import { describe, expect, it } from "vitest"
import { describeExperiment, runExperiment } from "shiftup/vitest"
import { build } from "./experiments.ts"
import { useLab } from "./lab.ts"

const { lab, stateDir } = await useLab()
const { authDown, authSlow, detected } = build()

// Each assertion of the experiment is its own test.
describeExperiment(authDown, { run: { stateDir } })

// The known weakness: its `during` check is registered with it.fails, so the suite stays green
// while the weakness exists, and turns red the day it is fixed (time to drop `knownFailures`).
describeExperiment(authSlow, { run: { stateDir }, knownFailures: ["GET /admin as anonymous during faults: never 200"] })

// Generator form: the method is one test.
describeExperiment(detected, { run: { stateDir } })

describe("runExperiment and the matchers", () => {
  it("auth down: the hypothesis holds and the gateway fails closed", async (ctx) => {
    const journal = await runExperiment(authDown, { context: ctx, stateDir, journal: false })
    expect(journal).toHoldHypothesis()
    expect(journal).toFailClosed()
    expect(lab.authMode()).toBe("ok")
  })

  it("an auth outage is detected within 2 seconds", async (ctx) => {
    const journal = await runExperiment(detected, { context: ctx, stateDir, journal: false })
    expect(journal).toDetectWithin("2 seconds")
    expect(journal).toFailClosed()
  })

  it.fails("auth slow: the gateway fails closed (known weakness: this test is expected to fail)", async (ctx) => {
    const journal = await runExperiment(authSlow, { context: ctx, stateDir, journal: false })
    expect(journal).toFailClosed()
  })

  it("auth slow: the failure carries the finding, with what was observed and the fix", async (ctx) => {
    const journal = await runExperiment(authSlow, { context: ctx, stateDir, journal: false })
    expect(journal.status).toBe("failed")
    expect(journal).toHoldHypothesis()
    expect(() => expect(journal).toFailClosed()).toThrowError(
      /expected the defences to fail closed: vitest\.gateway\.fails-closed\.auth-slow .*\n {2}- method: GET \/admin as anonymous during faults: never 200: expected never 200, observed 200\n {2}fix: Treat an auth timeout as a denial/,
    )
    expect(lab.authMode(), "rolled back").toBe("ok")
  })
})
