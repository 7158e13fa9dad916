/**
 * Every probe family of `shiftup/http` against a well-configured and a badly-configured app on
 * real node:https / node:http servers with certificates made in this test: the bad app must
 * produce exactly the findings planted in it, the good app none.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import type { Probe } from "shiftup"
import * as Http from "shiftup/http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeCerts, type Certs } from "../fixtures/http/certs.ts"
import { jwtKey, startHttp, startHttps, type App } from "../fixtures/http/servers.ts"
import { observeOf } from "../../src/internal/capability.ts"

let dir: string
let certs: Certs
const apps: Array<App> = []
let goodTls: App, badTls: App, goodPlain: App, badPlain: App, expiring: App, expired: App

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "shiftup-http-certs-"))
  certs = makeCerts(dir)
  ;[goodTls, badTls, goodPlain, badPlain, expiring, expired] = await Promise.all([
    startHttps("good", certs.good),
    startHttps("bad", certs.good),
    startHttp("good"),
    startHttp("bad"),
    startHttps("good", certs.expiring),
    startHttps("good", certs.expired),
  ])
  apps.push(goodTls, badTls, goodPlain, badPlain, expiring, expired)
})
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()))
  rmSync(dir, { recursive: true, force: true })
})

const target = (app: App, id = "app") => Http.target(id, { url: app.url, environment: "lab", tls: { ca: certs.ca } })
const observe = <O>(probe: Probe.Probe<Http.Findings.Report<O>>) => Effect.runPromise(observeOf(probe))
const ids = (r: Http.Findings.Report<unknown>) => Http.Findings.ids(r)

describe("authentication", () => {
  const token = () => Http.secret(Http.Auth.signJwt({ sub: "alice", exp: Math.floor(Date.now() / 1000) + 600 }, jwtKey))
  it("the good app denies anonymous, forged, alg:none and expired tokens; a genuine token passes", async () => {
    const r = await observe(Http.Auth.probe(target(goodTls), { path: "/admin", token: token(), jwtKey: Http.secret(jwtKey) }))
    expect(ids(r)).toEqual([])
    expect(r.observation).toEqual({ anonymous: 401, forged: 401, algNone: 401, expired: 401 })
    const genuine = await Effect.runPromise(Http.request(target(goodTls), { path: "/admin", headers: { authorization: Http.secret(`Bearer ${token().reveal()}`) } }))
    expect(genuine.status).toBe(200)
  })
  it("the bad app accepts every one of them", async () => {
    const r = await observe(Http.Auth.probe(target(badTls), { path: "/admin", jwtKey: Http.secret(jwtKey) }))
    expect(ids(r)).toEqual(["auth.alg-none-accepted", "auth.anonymous-allowed", "auth.expired-jwt-accepted", "auth.forged-jwt-accepted"])
    expect(r.findings.every((f) => /^CWE-\d+$/.test(f.cwe) && f.remediation.length > 0)).toBe(true)
  })
  it("without a key or an expired token, the expiry test is reported as not run", async () => {
    const r = await observe(Http.Auth.probe(target(goodTls), { path: "/admin" }))
    expect(r.observation.expired).toBeNull()
  })
  it("authorisation boundary: alice cannot read bob's profile on the good app, can on the bad one", async () => {
    const alice = token()
    const good = await observe(Http.Auth.boundary(target(goodTls), { path: "/users/bob", as: alice }))
    const bad = await observe(Http.Auth.boundary(target(badTls), { path: "/users/bob", as: alice }))
    expect([good.observation.status, ids(good)]).toEqual([403, []])
    expect([bad.observation.status, ids(bad)]).toEqual([200, ["auth.boundary-crossed"]])
  })
})

describe("security headers and cookies", () => {
  it("the good app over TLS has every header and safe cookies", async () => {
    expect(ids(await observe(Http.Headers.probe(target(goodTls))))).toEqual([])
  })
  it("the good app over plain HTTP is not asked for HSTS, but its Secure cookie is fine", async () => {
    expect(ids(await observe(Http.Headers.probe(target(goodPlain))))).toEqual([])
  })
  it("the bad app misses every header and cookie attribute", async () => {
    const r = await observe(Http.Headers.probe(target(badTls)))
    // Under `web` (no run, no profile given) every required header is one a rule judges: no headers.required-missing.
    expect(ids(r)).toEqual(Http.Headers.ruleIds.filter((x) => x !== "headers.required-missing").sort())
    expect(r.findings.find((f) => f.id === "headers.hsts-missing")?.evidence).toContain("max-age=60")
  })
  it("the bad app over plain HTTP: everything but HSTS", async () => {
    const r = await observe(Http.Headers.probe(target(badPlain)))
    expect(ids(r)).toEqual(Http.Headers.ruleIds.filter((x) => x !== "headers.hsts-missing" && x !== "headers.required-missing").sort())
  })
})

describe("CORS", () => {
  it("the good app ignores an untrusted origin and allows its own", async () => {
    expect(ids(await observe(Http.Cors.probe(target(goodTls))))).toEqual([])
    const own = await observe(Http.Cors.probe(target(goodTls), "/", { origin: "https://app.example" }))
    expect(own.observation.allowOrigin).toBe("https://app.example")
  })
  it("the bad app reflects any origin with credentials, and allows * with credentials on /wild", async () => {
    expect(ids(await observe(Http.Cors.probe(target(badTls))))).toEqual(["cors.reflected-origin"])
    expect(ids(await observe(Http.Cors.probe(target(badTls), "/wild")))).toEqual(["cors.wildcard-credentials"])
  })
})

describe("information leakage", () => {
  it("the good app leaks nothing", async () => {
    expect(ids(await observe(Http.Leakage.probe(target(goodTls))))).toEqual([])
  })
  it("the bad app leaks its version, a stack trace, .git, .env and a listing — and the .env values stay out of the evidence", async () => {
    const r = await observe(Http.Leakage.probe(target(badTls)))
    // Its bodies carry no email address or API key, the `web` profile's leakage patterns.
    expect(ids(r)).toEqual(Http.Leakage.ruleIds.filter((x) => x !== "leak.sensitive-data").sort())
    const env = r.findings.find((f) => f.id === "leak.env-exposed")
    expect(env?.evidence).toContain("DB_PASSWORD")
    expect(JSON.stringify(r)).not.toContain("hunter2")
  })
})

describe("rate limiting", () => {
  it("the good app answers 429 after 5 requests; the bad app never does", async () => {
    const good = await observe(Http.RateLimit.probe(target(goodPlain), { path: "/login", burst: 12, limit: 5, concurrency: 1 }))
    expect(ids(good)).toEqual([])
    expect(good.observation).toMatchObject({ sent: 12, accepted: 5, limited: 7, engagedAt: 6, acceptedBeforeLimit: 5 })
    const bad = await observe(Http.RateLimit.probe(target(badPlain), { path: "/login", burst: 12, limit: 5 }))
    expect(ids(bad)).toEqual(["rate.limit-missing"])
    expect(bad.observation.accepted).toBe(12)
  })
  it("refuses a burst that cannot show the limit", () => {
    expect(() => Http.RateLimit.probe(target(goodPlain), { path: "/login", burst: 5, limit: 5 })).toThrow(/larger than limit/)
  })
})

describe("TLS", () => {
  it("the good app: TLS 1.2/1.3 only, strong suites, a valid, trusted certificate for 127.0.0.1", async () => {
    const r = await observe(Http.Tls.probe(target(goodTls)))
    expect(ids(r)).toEqual([])
    expect(r.observation.protocols).toEqual({ TLSv1: false, "TLSv1.1": false, "TLSv1.2": true, "TLSv1.3": true })
    expect(r.observation.certificate?.daysToExpiry).toBeGreaterThan(300)
    expect(r.observation.hostnameMatches).toBe(true)
  })
  it("the bad app accepts TLS 1.0, 1.1 and a static-RSA suite", async () => {
    const r = await observe(Http.Tls.probe(target(badTls)))
    expect(ids(r)).toEqual(["tls.legacy-protocol", "tls.weak-cipher"])
    expect(r.observation.weakCipher).toBe("AES128-SHA")
  })
  it("a certificate expiring in 5 days is reported with its days to expiry", async () => {
    const r = await observe(Http.Tls.probe(target(expiring)))
    expect(ids(r)).toEqual(["tls.certificate-expiring"])
    expect(r.observation.certificate?.daysToExpiry).toBeLessThanOrEqual(5)
  })
  it("an expired, self-signed certificate for another host: expired, hostname mismatch, untrusted", async () => {
    const r = await observe(Http.Tls.probe(target(expired)))
    expect(ids(r)).toEqual(["tls.certificate-expired", "tls.hostname-mismatch", "tls.untrusted-certificate"])
  })
})

describe("open ports vs an inventory", () => {
  it("a port outside the inventory is a finding; inventory ports are not", async () => {
    const t = target(goodPlain)
    const ok = await observe(Http.Ports.probe(t, { host: "127.0.0.1", ports: [goodPlain.port, badPlain.port], inventory: [goodPlain.port, badPlain.port] }))
    expect(ids(ok)).toEqual([])
    const r = await observe(Http.Ports.probe(t, { host: "127.0.0.1", ports: [goodPlain.port, badPlain.port], inventory: [goodPlain.port] }))
    expect(ids(r)).toEqual(["ports.unexpected-open"])
    expect(r.observation.unexpected).toEqual([badPlain.port])
  })
})
