/**
 * Time-to-detect through a real run against a real detector: the deadline counts from the
 * injection, so a check held up by an earlier (slow) step fails even when its first sample sees
 * the alert, and the journal records how late the detection was. The same run with a quick
 * earlier step holds. (The boundaries to the millisecond are in test/unit/internal/checks.test.ts.)
 */
import { mkdtempSync, rmSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Compensation, Expect, Experiment, Fault, Probe, run } from "shiftup"
import * as Http from "shiftup/http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

/**
 * The system under test: `/alerts` answers "alert" once `detectAfterMs` have passed since the
 * incident began (and "quiet" before); `/slow?ms=n` answers after n ms.
 */
let server: http.Server
let url: string
let incidentAt: number | undefined
const detectAfterMs = 20
let dir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "shiftup-deadline-"))
  server = http.createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x")
    if (u.pathname === "/alerts") return res.end(incidentAt !== undefined && Date.now() - incidentAt >= detectAfterMs ? "alert" : "quiet")
    if (u.pathname === "/slow") return void setTimeout(() => res.end("ok"), Number(u.searchParams.get("ms")))
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  rmSync(dir, { recursive: true, force: true })
})

const experiment = (earlierStepMs: number, withinMs: number) => {
  const system = Http.target("system", { url, environment: "lab" })
  const incident = Fault.make({
    id: "incident",
    target: system,
    compensation: Compensation.ephemeral({ target: "system", description: "end the incident" }),
    inject: () => {
      incidentAt = Date.now()
    },
    release: () => {
      incidentAt = undefined
    },
  })
  const alerts = Probe.map(Probe.http(system, "/alerts"), (r) => r.body, "detector /alerts")
  return Experiment.make({
    id: "test.detect.deadline",
    title: "the incident is detected in time",
    targets: { system },
    method: [incident, Probe.status(system, `/slow?ms=${earlierStepMs}`), Expect.detects(alerts, "alert", { within: withinMs, every: 20 })],
  })
}

describe("Expect.detects in a real run", () => {
  it("held up past its deadline by an earlier step, a detection seen at once is still a finding, with the measured time: failed, exit 1", async () => {
    const j = await run(experiment(700, 300), { stateDir: dir, journal: false })
    expect(j.status).toBe("failed")
    expect(j.exitCode).toBe(1)
    const step = j.steps.find((s) => s.kind === "check")
    expect(step).toMatchObject({ outcome: "violated", samples: 1, observed: "alert", metric: { name: "time-to-detect" } })
    expect(step?.metric?.ms).toBeGreaterThanOrEqual(700)
    expect(step?.message).toMatch(/detected after \d+ ms, deadline 300 ms/)
    expect(j.findings).toHaveLength(1)
    expect(j.findings[0]?.expected).toBe("equals \"alert\" within 300 ms")
    expect(j.findings[0]?.observed).toMatch(/^"alert", detected after \d+ ms, deadline 300 ms$/)
  })

  it("with a quick earlier step the same detection is inside its deadline: held, exit 0", async () => {
    const j = await run(experiment(50, 400), { stateDir: dir, journal: false })
    expect(j.status).toBe("passed")
    const step = j.steps.find((s) => s.kind === "check")
    expect(step).toMatchObject({ outcome: "held", observed: "alert", metric: { name: "time-to-detect" } })
    expect(step?.metric?.ms).toBeGreaterThanOrEqual(50)
    expect(step?.metric?.ms).toBeLessThanOrEqual(400)
  })
})
