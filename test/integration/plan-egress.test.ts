/**
 * Invariant 7 at plan time (issue 11, item 9): a target that answers outside the egress
 * allowlist — cloud metadata, 0.0.0.0, a LAN host, an IPv4-mapped private address — is refused
 * when the run is planned, with exit 2 and a rule, before any connection; a URL that is not
 * http(s) is invalid input. Today's main refused them only when a probe first connected (exit 3).
 */
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Expect, Experiment, Http, Probe, run, Target } from "shiftup"
import { tempDir } from "../support/proc-cli.ts"

let connections = 0
const server = net.createServer((s) => {
  connections++
  s.destroy()
})
let port = 0

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "0.0.0.0", () => r()))
  port = (server.address() as AddressInfo).port
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

const probeOf = (t: Target.Target) => Expect.that(Probe.make({ id: "look", target: t, observe: () => 1 }), 1)

describe("targets outside the allowlist are refused at plan time", () => {
  it.each(["169.254.169.254", "0.0.0.0", "[::ffff:10.0.0.1]", "10.1.2.3"])("http://%s:port — refused (egress.not-allowed), nothing connected", async (host) => {
    const before = connections
    const api = Http.target("api", { url: `http://${host}:${port}/`, environment: "staging" })
    const j = await run(Experiment.make({ id: "egress.plan", title: "t", targets: { api }, method: [Expect.that(Probe.status(api, "/"), 200)] }), { stateDir: tempDir() })
    expect(j).toMatchObject({ status: "refused", exitCode: 2, refusal: { rule: "egress.not-allowed" } })
    expect(j.steps).toEqual([])
    expect(connections - before).toBe(0)
  })

  it("a bare endpoint on a LAN address, too", async () => {
    const t = Target.tcp("192.168.77.1:5432", { environment: "staging" })
    const j = await run(Experiment.make({ id: "egress.tcp", title: "t", targets: { t }, method: [probeOf(t)] }), { stateDir: tempDir() })
    expect(j).toMatchObject({ status: "refused", refusal: { rule: "egress.not-allowed" } })
  })

  it("an address named in budget.egress is allowed", async () => {
    const t = Target.tcp(`10.9.8.7:${port}`, { environment: "staging" })
    const j = await run(Experiment.make({ id: "egress.ok", title: "t", targets: { t }, budget: { egress: ["10.9.8.0/24"] }, method: [probeOf(t)] }), { stateDir: tempDir(), dryRun: true })
    expect(j.status).toBe("passed")
  })

  it("file:// and other non-http URLs are invalid input, named with their path", () => {
    expect(() => Http.target("f", { url: "file:///etc/passwd" })).toThrow(/url: "file:\/\/\/etc\/passwd" is not an http/)
    expect(() => Http.target("g", { url: "gopher://127.0.0.1:70/" })).toThrow(/is not an http/)
    expect(() => Target.tcp("127.0.0.1")).toThrow(/is not host:port/)
  })
})
