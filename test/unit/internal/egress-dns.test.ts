/**
 * Invariant 7 with names: a DNS name is checked after resolution, *every* address it resolves to
 * must be allowed, and the connection goes to the address that was checked (so a second answer
 * cannot redirect it). Resolution is mocked: names under the reserved `.test` domain never reach
 * a real resolver, and the only real connections go to this test's listener on 127.0.0.1.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, Exit } from "effect"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { Experiment, Http, Probe, Runner, type ShiftupError } from "shiftup"
import { checkEgress, defaultEgress, makeEgress } from "../../../src/internal/egress.ts"
import { withTempDir } from "../../support/prop-world.ts"

const answers: Record<string, ReadonlyArray<{ readonly address: string; readonly family: number }>> = {
  "loopback.test": [{ address: "127.0.0.1", family: 4 }],
  "both.test": [{ address: "127.0.0.1", family: 4 }, { address: "::1", family: 6 }],
  "mixed.test": [{ address: "127.0.0.1", family: 4 }, { address: "10.0.0.7", family: 4 }],
  "mixed-first.test": [{ address: "10.0.0.7", family: 4 }, { address: "127.0.0.1", family: 4 }],
  "v6.test": [{ address: "::1", family: 6 }],
  "empty.test": [],
}

vi.mock("node:dns/promises", () => ({
  lookup: vi.fn(async (host: string) => {
    const a = answers[host]
    if (a === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" })
    return a
  }),
}))

const check = (host: string, allowed = defaultEgress) => Effect.runPromiseExit(checkEgress(makeEgress(allowed), host))
const reason = async (host: string, allowed = defaultEgress) => (await Effect.runPromise(Effect.flip(checkEgress(makeEgress(allowed), host)))) as ShiftupError

describe("egress after DNS resolution", () => {
  it("a name that resolves only into the allowlist is allowed, and the checked address is returned", async () => {
    expect(await Effect.runPromise(checkEgress(makeEgress(defaultEgress), "loopback.test"))).toEqual({ address: "127.0.0.1", family: 4 })
    expect(await Effect.runPromise(checkEgress(makeEgress(defaultEgress), "v6.test"))).toEqual({ address: "::1", family: 6 })
    expect(Exit.isSuccess(await check("both.test"))).toBe(true)
  })

  it("every address must be allowed: one outside, first or last, denies the name", async () => {
    expect(await reason("mixed.test")).toMatchObject({ _tag: "EgressDenied", host: "mixed.test", address: "10.0.0.7" })
    expect(await reason("mixed-first.test")).toMatchObject({ _tag: "EgressDenied", host: "mixed-first.test", address: "10.0.0.7" })
    expect(await reason("both.test", ["127.0.0.0/8"])).toMatchObject({ _tag: "EgressDenied", address: "::1" })
  })

  it("a name that does not resolve, or resolves to nothing, is denied", async () => {
    expect(await reason("nowhere.test")).toMatchObject({ _tag: "EgressDenied", address: "unresolvable" })
    expect(await reason("empty.test")).toMatchObject({ _tag: "EgressDenied", address: "none" })
  })
})

describe("a probe connects to the address that was checked", () => {
  let server: http.Server
  let port: number
  const hosts: Array<string | undefined> = []
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hosts.push(req.headers.host)
      res.end("ok")
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    port = (server.address() as AddressInfo).port
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it("the request reaches the checked loopback address, with the name as Host", async () =>
    withTempDir("dns", async (stateDir) => {
      const api = Http.target("api", { url: `http://loopback.test:${port}`, environment: "staging" })
      const j = await Runner.runPromise(Experiment.make({ id: "unit.dns", title: "t", targets: { api }, method: [Probe.status(api, "/")] }), { journal: false, stateDir })
      expect(j.errors).toEqual([])
      expect(j.status).toBe("passed")
      expect(hosts).toEqual([`loopback.test:${port}`])
    }))

  it("a name resolving partly outside the allowlist is refused at plan time, before connecting", async () =>
    withTempDir("dns", async (stateDir) => {
      hosts.length = 0
      const api = Http.target("api", { url: `http://mixed.test:${port}`, environment: "staging" })
      const j = await Runner.runPromise(Experiment.make({ id: "unit.dns2", title: "t", targets: { api }, method: [Probe.status(api, "/")] }), { journal: false, stateDir })
      expect(j).toMatchObject({ status: "refused", refusal: { rule: "egress.not-allowed" } })
      expect(j.refusal?.reason).toContain("mixed.test")
      expect(hosts).toEqual([])
    }))
})
