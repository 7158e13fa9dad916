/**
 * Fail-closed under fault, through the runner against the demo lab: while auth errors the
 * gateway holds (no finding); while auth is slow it fails open (the lab's planted weakness),
 * which `Http.Auth.failsClosed` reports as a critical finding with CWE-636. Rollback restores
 * the lab either way.
 */
import { Effect } from "effect"
import { Experiment, Runner } from "shiftup"
import * as Http from "shiftup/http"
import { DemoLab } from "shiftup/testing"
import { describe, expect, it } from "vitest"
import { tempDir, useProcessCleanup } from "../support/proc-cli.ts"
import { labForThisFile } from "../support/proc-lab.ts"

useProcessCleanup()

const lab = labForThisFile()

const experiment = (mode: "error" | "slow") => {
  const { gateway, auth } = DemoLab.targets()
  return Experiment.make({
    id: `test.http.fails-closed.${mode}`,
    title: `fails closed while auth is ${mode}`,
    targets: { gateway, auth },
    method: [DemoLab.authFault(mode), Http.Auth.failsClosed(gateway, "/admin", { samples: 2, burst: 3, every: "20 millis" })],
  })
}

describe("Auth.failsClosed", () => {
  it("holds while auth errors (the gateway answers 503)", async () => {
    const j = await Effect.runPromise(Runner.run(experiment("error"), { stateDir: tempDir(), journal: false }))
    expect(j.status, j.summary).toBe("passed")
    expect(j.steps.find((s) => s.kind === "check")?.samples).toBe(6)
    expect(lab().authMode()).toBe("ok")
  })
  it("finds the gateway failing open while auth is slow: a critical finding with CWE-636", async () => {
    const j = await Effect.runPromise(Runner.run(experiment("slow"), { stateDir: tempDir(), journal: false }))
    expect(j.status).toBe("failed")
    expect(j.findings).toHaveLength(1)
    expect(j.findings[0]).toMatchObject({ severity: "critical", cwe: "CWE-636", expected: "never 2xx", observed: 200, phase: "method" })
    expect(lab().authMode()).toBe("ok")
  })
})
