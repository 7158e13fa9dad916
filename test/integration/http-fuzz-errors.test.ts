/**
 * A fuzz run whose requests fail (the server resets every connection) could not observe
 * anything: the probe fails with `ProbeFailed` naming the error, rather than reporting a failed
 * run with no counterexample and no findings (which a check would have counted as held).
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import * as Http from "shiftup/http"
import { afterAll, beforeAll, expect, it } from "vitest"
import { observeOf } from "../../src/internal/capability.ts"

let server: http.Server
beforeAll(async () => {
  server = http.createServer((req) => req.socket.destroy())
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

it("a reset on every request fails the fuzz probe with the request's error", async () => {
  const target = Http.target("app", { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, environment: "lab" })
  const error = await Effect.runPromise(Effect.flip(observeOf(Http.Fuzz.probe(target, { path: "/search?q={payload}", runs: 5, seed: 1 }))))
  expect(error).toMatchObject({ _tag: "ProbeFailed", probe: "app fuzz /search?q={payload}", target: "app" })
  expect(error.message).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/search\?q=.*(socket|closed|reset)/i)
})
