/**
 * The probes of `shiftup/http` against Debian's nginx (installed by .ci/run), configured well
 * and badly, with certificates made in the test by openssl, in front of the session API (its
 * sessions in a real Redis). The bad one must show every planted weakness, the good one none:
 * headers, TLS, leakage (versions in headers and in error pages), exposed status pages, the
 * plain-HTTP redirect, CORS and a JSON login's rate limit; then certificates nobody trusts, an
 * expired one, and a port where no handshake succeeds — reported as observations, not errors.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { Experiment, Runner, type Probe } from "shiftup"
import * as Http from "shiftup/http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeCerts, type Certs } from "../fixtures/http/certs.ts"
import { nginxBinary, startNginx, type Nginx } from "../fixtures/http/nginx.ts"
import { password, startSessionApi, user, type SessionApi } from "../fixtures/http/session-api.ts"
import { freePort, startRedis, type RealServer } from "../support/servers.ts"
import { observeOf } from "../../src/internal/capability.ts"

const dirs: Array<string> = []
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "shiftup-nginx-"))
  dirs.push(d)
  return d
}
let certs: Certs
let redis: RealServer
let api: SessionApi
let good: Nginx
let bad: Nginx
let expired: Nginx
let untrusted: Nginx
let tls1only: Nginx

beforeAll(async () => {
  certs = makeCerts(temp())
  redis = await startRedis()
  api = await startSessionApi({ redisPort: redis.port })
  ;[good, bad, expired, untrusted, tls1only] = await Promise.all([
    startNginx(temp(), "good", certs.good, { api: api.port }),
    startNginx(temp(), "bad", certs.good, { api: api.port }),
    startNginx(temp(), "good", certs.expired),
    startNginx(temp(), "good", certs.untrusted),
    startNginx(temp(), "bad", certs.good, { protocols: "TLSv1" }),
  ])
})
afterAll(async () => {
  await Promise.all([good, bad, expired, untrusted, tls1only].map((n) => n?.stop()))
  await api?.close()
  await redis?.stop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const observe = <O>(probe: Probe.Probe<Http.Findings.Report<O>>) => Effect.runPromise(observeOf(probe))
const t = (url: string, tls: Http.TlsSettings = { ca: certs.ca }) => Http.target("nginx", { url, environment: "lab", tls })
const secret = () => Http.secret(password)
let clients = 0
/** A JSON login; each call a fresh client for nginx's rate limit (its own `x-test-client`). */
const login = () => {
  const body = Http.json({ user, password: secret() })
  return { method: "POST", path: "/login", ...body, headers: { ...body.headers, "x-test-client": `c${++clients}` } }
}

// Not skipped when nginx is missing: .ci/run installs it, and a silent skip would hide that.
describe("nginx", () => {
  it("needs Debian's nginx (`apt-get install nginx`, as .ci/run does)", () => {
    expect(existsSync(nginxBinary), `${nginxBinary} is missing`).toBe(true)
  })

  it("well configured: no findings from headers, TLS, leakage, exposure, the plain-HTTP redirect, CORS or the login's rate limit", async () => {
    const findings = [
      ...(await observe(Http.Headers.probe(t(good.https)))).findings,
      ...(await observe(Http.Tls.probe(t(good.https)))).findings,
      ...(await observe(Http.Leakage.probe(t(good.https), { listingPaths: ["/files/"] }))).findings,
      ...(await observe(Http.Exposure.probe(t(good.https)))).findings,
      ...(await observe(Http.Redirect.probe(t(good.https), { http: good.http }))).findings,
      ...(await observe(Http.Cors.probe(t(good.https)))).findings,
      ...(await observe(Http.RateLimit.probe(t(good.https), { ...login(), burst: 10, limit: 5, concurrency: 1 }))).findings,
    ]
    expect(findings.map((f) => `${f.id}: ${f.evidence}`)).toEqual([])
  })

  it("badly configured: missing headers, TLS 1.0/1.1 and a weak suite, version banner, .git, .env, listings", async () => {
    expect(Http.Findings.ids(await observe(Http.Headers.probe(t(bad.https))))).toEqual(["headers.csp-missing", "headers.framing-allowed", "headers.hsts-missing", "headers.nosniff-missing", "headers.referrer-policy-missing"])
    const tls = await observe(Http.Tls.probe(t(bad.https)))
    expect(Http.Findings.ids(tls)).toEqual(["tls.legacy-protocol", "tls.weak-cipher"])
    const leak = await observe(Http.Leakage.probe(t(bad.https), { listingPaths: ["/", "/files/"] }))
    expect(Http.Findings.ids(leak)).toEqual(["leak.directory-listing", "leak.env-exposed", "leak.git-exposed", "leak.version-banner", "leak.version-error-page"])
    expect(leak.observation.banner.server).toMatch(/^nginx\/\d+\.\d+/)
    expect(JSON.stringify(leak)).not.toContain("nginx-secret-value")
  })

  describe("a JSON login's rate limit (POST /login with a secret password, proxied to the API)", () => {
    it("good: the limit engages at request 6 (5 allowed), reported with its position; the echoed password never shows", async () => {
      const r = await observe(Http.RateLimit.probe(t(good.https), { ...login(), burst: 10, limit: 5, concurrency: 1 }))
      expect(r.findings).toEqual([])
      expect(r.observation).toMatchObject({ sent: 10, engagedAt: 6, acceptedBeforeLimit: 5, limited: 5, statuses: { "200": 5, "429": 5 } })
      expect(JSON.stringify(r)).not.toContain(password)
    })
    it("bad: all 10 logins got through; the finding says the limit never engaged", async () => {
      const r = await observe(Http.RateLimit.probe(t(bad.https), { ...login(), burst: 10, limit: 5 }))
      expect(Http.Findings.ids(r)).toEqual(["rate.limit-missing"])
      expect(r.observation).toMatchObject({ engagedAt: null, acceptedBeforeLimit: 10 })
      expect(r.findings[0]?.evidence).toBe("all 10 requests to POST /login got through (stated limit 5); the limit never engaged: 10× 200")
    })
    it("a limit that engages late is a finding saying where", async () => {
      const r = await observe(Http.RateLimit.probe(t(good.https), { ...login(), burst: 10, limit: 2, concurrency: 1, id: "late" }))
      expect(r.findings[0]?.evidence).toMatch(/^the limit engaged only at request \d+ of 10 to POST \/login: \d+ got through before it \(stated limit 2\)/)
    })
  })

  describe("plain HTTP", () => {
    it("good: answers 301 to the same URL on https://; bad: serves the page in clear text", async () => {
      const g = await observe(Http.Redirect.probe(t(good.https), { http: good.http, path: "/files/a.txt" }))
      expect(g.observation).toMatchObject({ status: 301, location: `${good.https}/files/a.txt`, error: null })
      expect(g.findings).toEqual([])
      const b = await observe(Http.Redirect.probe(t(bad.https), { http: bad.http }))
      expect(Http.Findings.ids(b)).toEqual(["transport.no-https-redirect"])
      expect(b.findings[0]?.evidence).toContain("answered 200 with content over plain HTTP")
    })
    it("HSTS is judged on HTTPS only: the bad server's plain-HTTP answer has no HSTS finding, its HTTPS answer has one", async () => {
      expect(Http.Findings.ids(await observe(Http.Headers.probe(t(bad.http))))).not.toContain("headers.hsts-missing")
      expect(Http.Findings.ids(await observe(Http.Headers.probe(t(bad.https))))).toContain("headers.hsts-missing")
    })
    it("a port where nothing answers plain HTTP is observed as such: no finding, no error", async () => {
      const closed = await freePort()
      const r = await observe(Http.Redirect.probe(t(good.https), { http: `http://127.0.0.1:${closed}` }))
      expect(r.observation).toMatchObject({ status: null })
      expect(r.observation.error).toContain("ECONNREFUSED")
      expect(r.findings).toEqual([])
    })
    it("refuses a plain-HTTP URL on another host", () => {
      expect(() => Http.Redirect.probe(t(good.https), { http: "http://192.0.2.1:80" })).toThrow(/not on the target's host/)
    })
  })

  describe("versions in error pages, not only in the Server header", () => {
    it("bad: the 404 and 400 pages name nginx/<version>; good: they say only `nginx`", async () => {
      const b = await observe(Http.Leakage.probe(t(bad.https)))
      expect(b.findings.find((f) => f.id === "leak.version-error-page")?.evidence).toMatch(/answered 40\d with a page naming nginx\/1\.\d+\.\d+/)
      const g = await observe(Http.Leakage.probe(t(good.https)))
      expect(Http.Findings.ids(g)).toEqual([])
      expect(g.observation.banner.server).toBe("nginx")
    })
  })

  describe("exposed status, admin and debug pages", () => {
    it("bad: stub_status, Prometheus metrics, the actuator env and the pprof index are served; good: all refused", async () => {
      const b = await observe(Http.Exposure.probe(t(bad.https)))
      expect(b.observation.exposed.map((e) => e.path)).toEqual(["/nginx_status", "/actuator/env", "/metrics", "/debug/pprof/"])
      expect(Http.Findings.ids(b)).toEqual(["leak.status-page-exposed"])
      expect(b.findings.find((f) => f.evidence.startsWith("/nginx_status"))?.evidence).toMatch(/nginx stub_status: Active connections: \d+/)
      const g = await observe(Http.Exposure.probe(t(good.https)))
      expect(g.findings).toEqual([])
      expect(g.observation.statuses).toMatchObject({ "/nginx_status": 403, "/metrics": 403, "/actuator/env": 403, "/debug/pprof/": 403 })
    })
    it("a page answering 200 without its signature (a catch-all) is listed, not reported; a listed extra path counts on any 2xx", async () => {
      const r = await observe(Http.Exposure.probe(t(bad.https), { pages: [{ path: "/files/a.txt", what: "a status page", signature: /Active connections/ }], extraPages: ["/files/a.txt"] }))
      expect(r.observation.unrecognised).toEqual(["/files/a.txt"])
      expect(r.observation.exposed).toEqual([{ path: "/files/a.txt", what: "/files/a.txt (listed)", status: 200 }])
    })
  })

  describe("certificates", () => {
    it("a certificate nobody trusts is reported even when the target is set not to verify; a CA-issued one is not", async () => {
      const r = await observe(Http.Tls.probe(t(untrusted.https, { rejectUnauthorized: false })))
      expect(Http.Findings.ids(r)).toEqual(["tls.untrusted-certificate"])
      expect(r.findings[0]?.evidence).toContain("DEPTH_ZERO_SELF_SIGNED_CERT")
      expect(r.findings[0]?.evidence).toContain("set not to verify")
      expect((await observe(Http.Tls.probe(t(good.https, { ca: certs.ca, rejectUnauthorized: false })))).findings).toEqual([])
    })

    it("an expired certificate is what the TLS probe observes (not an error), and the run's other checks go on", async () => {
      const target = t(expired.https)
      const tls = await observe(Http.Tls.probe(target))
      expect(Http.Findings.ids(tls)).toEqual(["tls.certificate-expired", "tls.hostname-mismatch", "tls.untrusted-certificate"])
      const experiment = Experiment.make({
        id: "test.nginx.expired",
        title: "an expired certificate does not stop the run",
        targets: { nginx: target },
        hypothesis: [...Http.Findings.expectNoneOf(Http.Tls.probe(target), Http.Tls.ruleIds), ...Http.Findings.expectNoneOf(Http.Redirect.probe(target, { http: expired.http }), Http.Redirect.ruleIds)],
        method: [],
      })
      const j = await Effect.runPromise(Runner.run(experiment, { stateDir: temp(), journal: false }))
      expect(j.status, j.summary).toBe("failed")
      expect(j.steps.filter((s) => s.kind === "check").map((s) => s.outcome)).not.toContain("error")
      expect(j.findings.map((f) => f.id.replace("nginx tls: ", ""))).toEqual(["tls.certificate-expired", "tls.hostname-mismatch", "tls.untrusted-certificate"])
    })

    it("a port where no current handshake succeeds: `tls.handshake-failed` with the reason, and the legacy protocol it does speak", async () => {
      const r = await observe(Http.Tls.probe(t(tls1only.https)))
      expect(Http.Findings.ids(r)).toEqual(["tls.handshake-failed", "tls.legacy-protocol"])
      expect(r.observation.protocols).toEqual({ TLSv1: true, "TLSv1.1": false, "TLSv1.2": false, "TLSv1.3": false })
      expect(r.observation.certificate?.subject).toBe("CN=localhost")
      expect(r.observation.handshakeError).toMatch(/protocol/i)
    })

    it("a closed port: one handshake, `tls.handshake-failed` saying ECONNREFUSED", async () => {
      const port = await freePort()
      const r = await observe(Http.Tls.probe(t(`https://127.0.0.1:${port}`)))
      expect(Http.Findings.ids(r)).toEqual(["tls.handshake-failed"])
      expect(r.observation.handshakeError).toMatch(/^ECONNREFUSED/)
      expect(r.observation.certificate).toBeNull()
    })
  })
})
