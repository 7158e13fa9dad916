/**
 * Invariant 7 for the client of `shiftup/http`, as a property: whatever the allowlist, a request
 * either reaches the listener (its address is allowed) or fails with `EgressDenied` and the
 * listener sees no connection at all. The host is an address or `localhost` (checked after
 * resolution: every address it resolves to must be allowed).
 */
import { lookup } from "node:dns/promises"
import * as http from "node:http"
import { BlockList, type AddressInfo } from "node:net"
import { Effect, Exit } from "effect"
import * as fc from "fast-check"
import { RunContext } from "shiftup/advanced"
import * as Http from "shiftup/http"
import { afterAll, beforeAll, expect, it } from "vitest"
import { makeEgress } from "../../src/internal/egress.ts"
import { correlationHeaders, makeStore, unpaced } from "../../src/RunContext.ts"

let server: http.Server
let port = 0
let connections = 0
beforeAll(async () => {
  server = http.createServer((_req, res) => res.end("ok"))
  server.on("connection", () => connections++)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  port = (server.address() as AddressInfo).port
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const cidr = fc.oneof(
  fc.tuple(fc.constantFrom(127, 10, 192), fc.nat(255), fc.nat(255), fc.nat(255), fc.integer({ min: 8, max: 32 })).map(([a, b, c, d, bits]) => `${a}.${b}.${c}.${d}/${bits}`),
  fc.constantFrom("::1/128", "fd00::/8", "127.0.0.1", "127.0.0.2"),
)

it("a refused destination is never connected to; an allowed one is", async () => {
  const resolved = (await lookup("localhost", { all: true, verbatim: true })).map((a) => a.address)
  await fc.assert(
    fc.asyncProperty(fc.array(cidr, { minLength: 1, maxLength: 4 }), fc.constantFrom("127.0.0.1", "localhost"), async (entries, host) => {
      const list = new BlockList()
      for (const e of entries) {
        const [a = "", bits] = e.split("/")
        const type = a.includes(":") ? "ipv6" : "ipv4"
        if (bits === undefined) list.addAddress(a, type)
        else list.addSubnet(a, Number(bits), type)
      }
      const addresses = host === "localhost" ? resolved : [host]
      const allowed = addresses.every((a) => list.check(a, a.includes(":") ? "ipv6" : "ipv4"))
      const ctx: RunContext = { runId: "20261127T000002-abcdef", headers: correlationHeaders("20261127T000002-abcdef"), egress: makeEgress(entries), ...unpaced, store: makeStore() }
      const before = connections
      const target = Http.target("t", { url: `http://${host}:${port}`, environment: "lab" })
      const exit = await Effect.runPromise(Effect.exit(Http.request(target, { path: "/", timeoutMs: 1000 }).pipe(Effect.provideService(RunContext, ctx))))
      await Http.closeRun(ctx)
      if (!allowed) return Exit.isFailure(exit) && JSON.stringify(exit).includes("EgressDenied") && connections === before
      // Allowed: it connects to the first address localhost resolved to, which listens only if IPv4.
      return addresses[0] === "127.0.0.1" ? Exit.isSuccess(exit) && connections === before + 1 : true
    }),
    { numRuns: 40 },
  )
  expect(connections).toBeGreaterThan(0)
})
