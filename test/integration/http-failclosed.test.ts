/**
 * Fail-closed under fault, through the runner against the demo lab: while auth errors the
 * gateway holds (no finding); while auth is slow it fails open (the lab's planted weakness),
 * which `Http.Auth.failsClosed` reports as a critical finding with CWE-636. Rollback restores
 * the lab either way.
 */
import { Effect } from "effect"
import { Expect, Experiment, Probe, Runner, type Journal } from "shiftup"
import * as Http from "shiftup/http"
import * as Net from "shiftup/net"
import { DemoLab } from "shiftup/testing"
import { afterEach, describe, expect, it } from "vitest"
import { password, sessionJwtKey, startSessionApi, user } from "../fixtures/http/session-api.ts"
import { tempDir, useProcessCleanup } from "../support/proc-cli.ts"
import { labForThisFile } from "../support/proc-lab.ts"
import { freePort, startRedis } from "../support/servers.ts"

useProcessCleanup()

const lab = labForThisFile()

const experiment = (mode: "error" | "slow") => {
  const { gateway, auth } = DemoLab.targets()
  return Experiment.make({
    id: `test.http.fails-closed.${mode}`,
    title: `fails closed while auth is ${mode}`,
    targets: { gateway, auth },
    method: [DemoLab.authFault(mode), ...Http.Auth.failsClosed(gateway, "/admin", { samples: 2, burst: 3, every: "20 millis" })],
  })
}

describe("Auth.failsClosed", () => {
  it("holds while auth errors (the gateway answers 503)", async () => {
    const j = await Effect.runPromise(Runner.run(experiment("error"), { stateDir: tempDir(), journal: false }))
    expect(j.status, j.summary).toBe("passed")
    // Anonymous and an unknown token: the two attempts the defaults make without a session.
    expect(j.steps.filter((s) => s.kind === "check").map((s) => [s.id, s.samples])).toEqual([
      ["gateway /admin fails closed under fault: anonymous", 6],
      ["gateway /admin fails closed under fault: unknown-token", 6],
    ])
    expect(lab().authMode()).toBe("ok")
  })
  it("finds the gateway failing open while auth is slow: a critical finding with CWE-636", async () => {
    const j = await Effect.runPromise(Runner.run(experiment("slow"), { stateDir: tempDir(), journal: false }))
    expect(j.status).toBe("failed")
    expect(j.findings.map((f) => f.id)).toEqual(["gateway /admin fails closed under fault: anonymous", "gateway /admin fails closed under fault: unknown-token"])
    expect(j.findings[1]).toMatchObject({ severity: "critical", cwe: "CWE-636", expected: "never 2xx", observed: 200, phase: "method", title: "/admin fails closed under fault (gateway): an unknown session token" })
    expect(lab().authMode()).toBe("ok")
  })
})

/**
 * Issue 12's scenario: an API whose sessions live in a real Redis, reached through a TCP fault
 * proxy the run owns. With the planted bug (`failOpen`), a store that does not answer lets any
 * looked-up token in — which anonymous requests never show, since they are refused before the
 * store is asked. The default attempts find it, and each finding names the attempt that got in.
 */
describe("Auth.failsClosed against a session store behind a blackhole (real redis-server)", () => {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  const scenario = async (tokens: "session" | "jwt", failOpen: boolean) => {
    const redis = await startRedis()
    cleanups.push(redis.stop)
    const proxyPort = await freePort()
    const store = Net.proxy({ upstream: `127.0.0.1:${redis.port}`, id: "session-store", listen: proxyPort, target: { environment: "lab", dataStore: "redis" } })
    cleanups.push(store.close)
    const app = await startSessionApi({ redisPort: proxyPort, tokens, failOpen })
    cleanups.push(app.close)
    const api = Http.target("api", { url: app.url, environment: "lab" })
    const alice = Http.Auth.session(api, {
      login: { method: "POST", path: "/login", ...Http.json({ user, password: Http.secret(password) }) },
      logout: { method: "POST", path: "/logout" },
      ...(tokens === "session" ? { credential: { cookie: "sid" } } : {}),
    })
    // After the rollback the API must serve a real login again: a Promise probe, two requests.
    const loggedIn = Probe.make({
      id: "a fresh login reaches /admin",
      target: api,
      observe: async (ctx) => {
        const login = await ctx.request(api, { method: "POST", path: "/login", ...Http.json({ user, password: Http.secret(password) }) })
        const token = Http.Auth.readToken(tokens === "session" ? { cookie: "sid" } : Http.Auth.bearer, login)
        const admin = await ctx.request(api, { path: "/admin", headers: Http.Auth.carry(tokens === "session" ? { cookie: "sid" } : Http.Auth.bearer, Http.secret(token ?? "")) })
        return admin.status
      },
    })
    const experiment = Experiment.make({
      id: `test.http.fails-closed.session-store.${tokens}`,
      title: "/admin stays closed while the session store is unreachable",
      targets: { api, store },
      resources: { store, alice },
      method: [Net.blackhole(store), ...Http.Auth.failsClosed(api, "/admin", { session: alice, samples: 2, every: "10 millis", ...(tokens === "jwt" ? { jwtKey: Http.secret(sessionJwtKey) } : {}) })],
      recovery: [Expect.eventually(loggedIn, 200, { within: "5 seconds", every: "50 millis" })],
    })
    return Effect.runPromise(Runner.run(experiment, { stateDir: tempDir(), journal: false }))
  }
  const checks = (j: Journal.Journal) => Object.fromEntries(j.steps.filter((s) => s.kind === "check" && s.phase === "method").map((s) => [s.id.replace("api /admin fails closed under fault: ", ""), s.outcome === "held" ? "held" : `${s.outcome}: ${JSON.stringify(s.observed)}`]))

  it("opaque session cookies, the bug planted: the unknown and the logged-out token get in, anonymous does not; each finding names its attempt", async () => {
    const j = await scenario("session", true)
    expect(j.status, j.summary).toBe("failed")
    expect(checks(j)).toEqual({
      anonymous: "held",
      "unknown-token": "violated: 200",
      "forged-jwt": "held",
      "alg-none-jwt": "held",
      "replayed-token": "violated: 200",
    })
    expect(j.findings.map((f) => f.title)).toEqual(["/admin fails closed under fault (api): an unknown session token", "/admin fails closed under fault (api): a token replayed after logout"])
    expect(j.findings.every((f) => f.cwe === "CWE-636" && f.severity === "critical")).toBe(true)
    // The session's token is not a JWT: the JWT attempts say they were not tried.
    expect(j.steps.find((s) => s.id.endsWith(": forged-jwt"))?.observed).toBe("not tried: the session's token is not a JWT")
    // Rolled back, the API serves a real login again (its store connection was closed, not desynchronised).
    expect(j.steps.find((s) => s.phase === "recovery" && s.id.startsWith("a fresh login"))?.outcome).toBe("held")
    expect(JSON.stringify(j)).not.toContain(password)
  })

  it("opaque session cookies, well built (503 while the store is down): every attempt holds", async () => {
    const j = await scenario("session", false)
    expect(j.status, j.summary).toBe("passed")
    expect(Object.values(checks(j))).toEqual(["held", "held", "held", "held", "held"])
  })

  it("JWTs with a revocation list in the store, the bug planted: only the replayed (revoked) token gets in — forged, alg: none and expired are refused before the store is asked", async () => {
    const j = await scenario("jwt", true)
    expect(j.status, j.summary).toBe("failed")
    expect(checks(j)).toEqual({
      anonymous: "held",
      "unknown-token": "held",
      "expired-token": "held",
      "forged-jwt": "held",
      "alg-none-jwt": "held",
      "replayed-token": "violated: 200",
    })
  })
})
