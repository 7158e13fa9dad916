/**
 * Fuzzed injection payloads against a test server with a planted SQL injection bug: the bug is
 * found, the payload shrunk to the minimal `'`, and the failure replayed exactly from the seed
 * and path the report prints. The same search done safely yields no finding.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import * as fc from "fast-check"
import * as Http from "shiftup/http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { observeOf } from "../../src/internal/capability.ts"

let server: http.Server
let base = ""
let requests = 0

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests++
    const url = new URL(req.url ?? "/", "http://x")
    const q = url.searchParams.get("q") ?? ""
    if (url.pathname === "/unsafe") {
      // PLANTED BUG: the query is built by concatenation; an odd number of quotes breaks it.
      const sql = `SELECT * FROM items WHERE name = '${q}'`
      if ((sql.match(/'/g) ?? []).length % 2 === 1) {
        res.writeHead(500, { "content-type": "text/plain" })
        return res.end(`You have an error in your SQL syntax near '${q}'`)
      }
    }
    res.writeHead(200, { "content-type": "text/html" })
    res.end(`<p>results for ${escapeHtml(q)}</p>`)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const app = () => Http.target("search", { url: base, environment: "lab" })

describe("fuzzed injection payloads", () => {
  it("find the planted SQL injection, shrink it to a single quote, and replay it from the printed seed", async () => {
    const r = await Effect.runPromise(observeOf(Http.Fuzz.probe(app(), { path: "/unsafe?q={payload}", families: ["xss", "sqli", "command"], runs: 60, seed: 4242 })))
    expect(r.observation.failed).toBe(true)
    expect(r.observation.counterexample).toMatchObject({ family: "sqli", payload: "'", rule: "inject.server-error", status: 500 })
    const replay = r.observation.replay
    expect(replay).not.toBeNull()
    expect(r.findings[0]?.evidence).toContain(`seed: ${replay?.seed}`)
    const before = requests
    const again = await Effect.runPromise(observeOf(Http.Fuzz.probe(app(), { path: "/unsafe?q={payload}", families: ["xss", "sqli", "command"], seed: replay?.seed ?? 0, replayPath: replay?.path ?? "" })))
    expect(again.observation.counterexample).toEqual(r.observation.counterexample)
    // The replay goes straight to the failing case (and its shrinks), not through 60 runs again.
    expect(requests - before).toBeLessThan(10)
  })
  it("the safe endpoint holds against every family", async () => {
    const r = await Effect.runPromise(observeOf(Http.Fuzz.probe(app(), { path: "/safe?q={payload}", runs: 40, seed: 7 })))
    expect(r.observation.failed).toBe(false)
    expect(r.findings).toEqual([])
  })
  it("judge: a payload reflected raw is XSS, a WAF that lets a payload through is a finding", () => {
    fc.assert(
      fc.property(fc.constantFrom(...Http.Fuzz.cores.xss), fc.string({ maxLength: 5 }), (core, pad) => {
        const payload = { family: "xss" as const, payload: `${pad}${core}` }
        const exchange = { url: "", method: "GET", status: 200, headers: {}, cookies: [], body: `hello ${payload.payload}`, ms: 1 }
        return Http.Fuzz.judge(payload, exchange, false) === "inject.reflected-unescaped" && Http.Fuzz.judge(payload, { ...exchange, body: escapeHtml(payload.payload) }, true) === "inject.not-blocked"
      }),
      { numRuns: 50 },
    )
  })
})
