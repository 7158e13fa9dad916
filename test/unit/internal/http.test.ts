/**
 * Invariants 6 and 7 at the wire: every request of a run carries the run id (header and user
 * agent), and a destination outside the egress allowlist is refused before any connection.
 * Traffic goes to 127.0.0.1 only; the "denied" destinations are chosen so that, should the
 * check ever regress, the connection would land on this test's own loopback listener.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { Expect, Experiment, Fault, Http, Probe, Runner, Step, type ShiftupError } from "shiftup"
import { RunContext } from "shiftup/advanced"
import { makeStore, unpaced } from "../../../src/RunContext.ts"
import { makeEgress } from "../../../src/internal/egress.ts"
import { withTempDir } from "../../support/prop-world.ts"
import { observeOf } from "../../../src/internal/capability.ts"

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
}

let server: http.Server
let port: number
let seen: Array<Seen>
let connections: number

beforeEach(async () => {
  seen = []
  connections = 0
  server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers })
    req.resume()
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/plain" })
      res.end("ok")
    })
  })
  server.on("connection", () => connections++)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  port = (server.address() as AddressInfo).port
})

afterEach(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

describe("correlation (invariant 6)", () => {
  it("every request of a run — probes, checks, guards, a switch fault and its compensation — carries the run id", async () => {
    await withTempDir("corr", async (stateDir) => {
      const api = Http.target("api", { url: `http://127.0.0.1:${port}`, environment: "staging" })
      const runId = "20250101T000000-c0ffee"
      const e = Experiment.make({
        id: "unit.correlation",
        title: "correlation",
        targets: { api },
        hypothesis: [Expect.that(Probe.status(api, "/health"), 200)],
        stopWhen: [Expect.guard(Probe.status(api, "/guard"), 200, { every: 5 })],
        method: [
          Fault.httpSwitch(api, { id: "switch", url: `http://127.0.0.1:${port}/faults`, on: '{"on":true}', off: '{"on":false}' }),
          Probe.http(api, "/probe"),
          Expect.during(Probe.status(api, "/during"), 200, { samples: 2, every: 1, burst: 3 }),
          Step.wait(20),
        ],
        recovery: [Expect.eventually(Probe.status(api, "/recovered"), 200, { within: "1 second", every: 5 })],
      })
      const journal = await Runner.runPromise(e, { runId, journal: false, stateDir })
      expect(journal.status).toBe("passed")
      expect(journal.runId).toBe(runId)

      const urls = seen.map((s) => `${s.method} ${s.url}`)
      for (const u of ["GET /health", "POST /faults", "GET /probe", "GET /during", "GET /recovered"]) expect(urls).toContain(u)
      expect(urls.filter((u) => u === "GET /during")).toHaveLength(6)
      expect(urls.filter((u) => u === "POST /faults")).toHaveLength(2) // inject and compensation
      for (const s of seen) {
        expect(s.headers["x-shiftup-run-id"], `${s.method} ${s.url}`).toBe(runId)
        expect(s.headers["user-agent"], `${s.method} ${s.url}`).toContain(runId)
      }
    })
  })

  it("a generated run id is the one sent", async () => {
    await withTempDir("corr", async (stateDir) => {
      const api = Http.target("api", { url: `http://127.0.0.1:${port}/base/`, environment: "lab" })
      const journal = await Runner.runPromise(Experiment.make({ id: "unit.corr2", title: "t", targets: { api }, method: [Probe.status(api, "x")] }), { journal: false, stateDir })
      expect(journal.status).toBe("passed")
      expect(seen.map((s) => s.url)).toEqual(["/base/x"])
      expect(seen[0]?.headers["x-shiftup-run-id"]).toBe(journal.runId)
      expect(seen[0]?.headers["user-agent"]).toMatch(new RegExp(`^shiftup/\\S+ \\(run ${journal.runId}\\)$`))
    })
  })

  it("the user's headers are kept, but cannot replace the correlation headers", async () => {
    await withTempDir("corr", async (stateDir) => {
      const api = Http.target("api", { url: `http://127.0.0.1:${port}`, environment: "lab" })
      const probe = Probe.http(api, "/h", { headers: { authorization: "Bearer t", "x-shiftup-run-id": "forged", "user-agent": "curl" } })
      const journal = await Runner.runPromise(Experiment.make({ id: "unit.corr3", title: "t", targets: { api }, method: [probe] }), { runId: "r-1", journal: false, stateDir })
      expect(journal.status).toBe("passed")
      expect(seen[0]?.headers).toMatchObject({ authorization: "Bearer t", "x-shiftup-run-id": "r-1" })
      expect(seen[0]?.headers["user-agent"]).toContain("r-1")
    })
  })
})

describe("egress is checked before any connection (invariant 7)", () => {
  it("a target addressed by a name (localhost) is resolved, checked and reached", async () => {
    await withTempDir("egress", async (stateDir) => {
      const api = Http.target("api", { url: `http://localhost:${port}`, environment: "lab" })
      const journal = await Runner.runPromise(Experiment.make({ id: "unit.byname", title: "t", targets: { api }, method: [Probe.status(api, "/")] }), { journal: false, stateDir })
      expect(journal.errors).toEqual([])
      expect(journal.status).toBe("passed")
      expect(seen.map((x) => x.headers.host)).toEqual([`localhost:${port}`])
    })
  })


  it("a probe under a run context that allows only ::1 never connects to 127.0.0.1", async () => {
    const api = Http.target("api", { url: `http://127.0.0.1:${port}`, environment: "lab" })
    const ctx: RunContext = { runId: "r", headers: {}, egress: makeEgress(["::1/128"]), ...unpaced, store: makeStore() }
    const e = await Effect.runPromise(Effect.flip(observeOf(Probe.status(api, "/")).pipe(Effect.provideService(RunContext, ctx))))
    expect(e as ShiftupError).toMatchObject({ _tag: "EgressDenied", host: "127.0.0.1", address: "127.0.0.1", allowed: ["::1/128"] })
    // Control: the same probe with loopback allowed does reach the listener.
    expect(connections).toBe(0)
    const status = await Effect.runPromise(observeOf(Probe.status(api, "/")).pipe(Effect.provideService(RunContext, { ...ctx, egress: makeEgress(["127.0.0.1"]) })))
    expect(status).toBe(200)
    expect(connections).toBe(1)
  })

  it("a run whose probe aims outside the allowlist is refused at plan time and opens no connection", async () => {
    await withTempDir("egress", async (stateDir) => {
      // 0.0.0.0 is not loopback, so the allowlist denies it; on Linux a connection to it would
      // reach this host's own listener, so a regression shows up here instead of on a network.
      for (const host of ["0.0.0.0", "[::]"]) {
        const away = Http.target("away", { url: `http://${host}:${port}`, environment: "staging" })
        const e = Experiment.make({ id: "unit.egress", title: "t", targets: { away }, method: [Probe.status(away, "/", { timeout: 500 })] })
        const journal = await Runner.runPromise(e, { journal: false, stateDir })
        expect(journal).toMatchObject({ status: "refused", exitCode: 2, refusal: { rule: "egress.not-allowed" } })
        expect(journal.refusal?.reason).toContain("is not allowed")
        expect(journal.steps).toEqual([])
      }
      expect(connections).toBe(0)
      expect(seen).toEqual([])
    })
  })

  it("a switch fault aimed outside its target or the allowlist is refused at plan time: nothing ledgered, nothing sent", async () => {
    await withTempDir("egress", async (stateDir) => {
      const api = Http.target("api", { url: `http://127.0.0.1:${port}`, environment: "staging", endpoints: [`0.0.0.0:${port}`] })
      const outside = Fault.httpSwitch(api, { id: "sw", url: `http://0.0.0.0:${port}/faults`, on: "on", off: "off" })
      const journal = await Runner.runPromise(Experiment.make({ id: "unit.egress2", title: "t", targets: { api }, method: [outside] }), { journal: false, stateDir })
      // The switch is an endpoint of its target, outside the allowlist: the target itself is refused.
      expect(journal).toMatchObject({ status: "refused", exitCode: 2, refusal: { rule: "egress.not-allowed" } })
      expect(journal.ledger).toBeUndefined()
      // Another target's address: a lab fault may not flip a switch on a production endpoint.
      const prod = Http.target("prod", { url: `http://localhost:${port}`, environment: "production" })
      const lab = Http.target("api", { url: `http://127.0.0.1:${port}`, environment: "staging" })
      const elsewhere = Fault.httpSwitch(lab, { id: "sw2", url: `${prod.url}faults`, on: "on", off: "off" })
      const j2 = await Runner.runPromise(Experiment.make({ id: "unit.egress3", title: "t", targets: { api: lab, prod }, method: [elsewhere] }), { journal: false, stateDir })
      expect(j2).toMatchObject({ status: "refused", refusal: { rule: "fault.contact-outside-target", step: "sw2" } })
      expect(connections).toBe(0)
    })
  })
})
