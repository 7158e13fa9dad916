/**
 * The probes of `shiftup/http` against Debian's nginx (installed by .ci/run), configured well
 * and badly, with certificates made in the test. The bad one must show every planted weakness,
 * the good one none.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import type { Probe } from "shiftup"
import * as Http from "shiftup/http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeCerts, type Certs } from "../fixtures/http/certs.ts"
import { nginxBinary, startNginx, type Nginx } from "../fixtures/http/nginx.ts"
import { observeOf } from "../../src/internal/capability.ts"

const dirs: Array<string> = []
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "shiftup-nginx-"))
  dirs.push(d)
  return d
}
let certs: Certs
let good: Nginx
let bad: Nginx

beforeAll(async () => {
  certs = makeCerts(temp())
  ;[good, bad] = await Promise.all([startNginx(temp(), "good", certs.good), startNginx(temp(), "bad", certs.good)])
})
afterAll(async () => {
  await Promise.all([good?.stop(), bad?.stop()])
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const observe = <O>(probe: Probe.Probe<Http.Findings.Report<O>>) => Effect.runPromise(observeOf(probe))
const t = (url: string) => Http.target("nginx", { url, environment: "lab", tls: { ca: certs.ca } })

// Not skipped when nginx is missing: .ci/run installs it, and a silent skip would hide that.
describe("nginx", () => {
  it("needs Debian's nginx (`apt-get install nginx`, as .ci/run does)", () => {
    expect(existsSync(nginxBinary), `${nginxBinary} is missing`).toBe(true)
  })

  it("well configured: no findings from headers, TLS, leakage, CORS or rate limiting", async () => {
    const findings = [
      ...(await observe(Http.Headers.probe(t(good.https)))).findings,
      ...(await observe(Http.Tls.probe(t(good.https)))).findings,
      ...(await observe(Http.Leakage.probe(t(good.https), { listingPaths: ["/files/"] }))).findings,
      ...(await observe(Http.Cors.probe(t(good.https)))).findings,
      ...(await observe(Http.RateLimit.probe(t(good.http), { path: "/login", burst: 10, limit: 5, concurrency: 1 }))).findings,
    ]
    expect(findings.map((f) => f.id)).toEqual([])
  })
  it("badly configured: missing headers, TLS 1.0/1.1 and a weak suite, version banner, .git, .env, listings, no rate limit", async () => {
    expect(Http.Findings.ids(await observe(Http.Headers.probe(t(bad.https))))).toEqual(["headers.csp-missing", "headers.framing-allowed", "headers.hsts-missing", "headers.nosniff-missing", "headers.referrer-policy-missing"])
    const tls = await observe(Http.Tls.probe(t(bad.https)))
    expect(Http.Findings.ids(tls)).toEqual(["tls.legacy-protocol", "tls.weak-cipher"])
    const leak = await observe(Http.Leakage.probe(t(bad.https), { listingPaths: ["/", "/files/"] }))
    expect(Http.Findings.ids(leak)).toEqual(["leak.directory-listing", "leak.env-exposed", "leak.git-exposed", "leak.version-banner"])
    expect(leak.observation.banner.server).toMatch(/^nginx\/\d+\.\d+/)
    expect(JSON.stringify(leak)).not.toContain("nginx-secret-value")
    expect(Http.Findings.ids(await observe(Http.RateLimit.probe(t(bad.http), { path: "/login", burst: 10, limit: 5 })))).toEqual(["rate.limit-missing"])
  })
})
