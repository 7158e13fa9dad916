/** The pure rules of the probes: what each observation must and must not report. */
import * as Http from "shiftup/http"
import { describe, expect, it } from "vitest"

const ids = (fs: ReadonlyArray<Http.Findings.SecurityFinding>) => [...new Set(fs.map((f) => f.id))].sort()

describe("Headers.evaluate", () => {
  const good = {
    "strict-transport-security": "max-age=31536000",
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
  }
  it("a hardened response has no finding; HSTS is only asked for over TLS", () => {
    expect(Http.Headers.evaluate({ status: 200, tls: true, headers: good, cookies: [] })).toEqual([])
    expect(Http.Headers.evaluate({ status: 200, tls: false, headers: {}, cookies: [] }).map((f) => f.id)).not.toContain("headers.hsts-missing")
  })
  it("X-Frame-Options DENY replaces frame-ancestors; a short HSTS and an unsafe referrer policy count as missing", () => {
    const r = Http.Headers.evaluate({ status: 200, tls: true, headers: { ...good, "content-security-policy": "default-src 'self'", "x-frame-options": "DENY", "strict-transport-security": "max-age=300", "referrer-policy": "unsafe-url" }, cookies: [] })
    expect(ids(r)).toEqual(["headers.hsts-missing", "headers.referrer-policy-missing"])
  })
  it("cookies: each missing attribute is its own finding; SameSite=None needs Secure", () => {
    const r = Http.Headers.evaluate({ status: 200, tls: true, headers: good, cookies: [{ name: "a", secure: false, httpOnly: true, sameSite: "None" }, { name: "b", secure: true, httpOnly: false, sameSite: null }] })
    expect(r.map((f) => f.evidence)).toEqual(["cookie a has no Secure attribute", "cookie a has SameSite=None without Secure", "cookie b has no HttpOnly attribute", "cookie b has no SameSite attribute"])
  })
})

describe("Cors.evaluate", () => {
  it("wildcard alone is fine, wildcard with credentials is not, an echoed origin is not", () => {
    expect(Http.Cors.evaluate({ origin: "https://evil.example", allowOrigin: "*", allowCredentials: false })).toEqual([])
    expect(ids(Http.Cors.evaluate({ origin: "https://evil.example", allowOrigin: "*", allowCredentials: true }))).toEqual(["cors.wildcard-credentials"])
    expect(ids(Http.Cors.evaluate({ origin: "https://evil.example", allowOrigin: "https://evil.example", allowCredentials: false }))).toEqual(["cors.reflected-origin"])
    expect(Http.Cors.evaluate({ origin: "https://evil.example", allowOrigin: "https://app.example", allowCredentials: true })).toEqual([])
  })
})

describe("Tls.evaluate", () => {
  const base: Http.Tls.TlsObservation = {
    host: "127.0.0.1",
    port: 443,
    protocols: { TLSv1: false, "TLSv1.1": false, "TLSv1.2": true, "TLSv1.3": true },
    negotiated: { protocol: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384" },
    weakCipher: null,
    certificate: { subject: "CN=x", issuer: "CN=ca", altNames: "IP Address:127.0.0.1", validFrom: new Date(Date.now() - 86_400_000).toISOString(), validTo: new Date(Date.now() + 90 * 86_400_000).toISOString(), daysToExpiry: 89, selfSigned: false },
    hostnameMatches: true,
    trustError: null,
    handshakeError: null,
    verified: true,
  }
  it("a healthy endpoint has no finding", () => {
    expect(Http.Tls.evaluate(base, 30)).toEqual([])
  })
  it("each weakness maps to its rule; an untrusted chain is reported when verification is off too, saying so", () => {
    const bad = { ...base, protocols: { ...base.protocols, "TLSv1.1": true }, weakCipher: "AES128-SHA", hostnameMatches: false, trustError: "SELF_SIGNED_CERT_IN_CHAIN", certificate: { ...base.certificate!, daysToExpiry: 3 } }
    expect(ids(Http.Tls.evaluate(bad, 30))).toEqual(["tls.certificate-expiring", "tls.hostname-mismatch", "tls.legacy-protocol", "tls.untrusted-certificate", "tls.weak-cipher"])
    const unverified = Http.Tls.evaluate({ ...bad, verified: false }, 30).find((f) => f.id === "tls.untrusted-certificate")
    expect(unverified?.evidence).toContain("set not to verify")
  })
  it("a failed default handshake is a finding of its own, with the reason", () => {
    const failed = Http.Tls.evaluate({ ...base, certificate: null, negotiated: { protocol: null, cipher: null }, protocols: { TLSv1: true, "TLSv1.1": false, "TLSv1.2": false, "TLSv1.3": false }, handshakeError: "ERR_SSL_UNSUPPORTED_PROTOCOL: unsupported protocol" }, 30)
    expect(ids(failed)).toEqual(["tls.handshake-failed", "tls.legacy-protocol"])
    expect(failed.find((f) => f.id === "tls.handshake-failed")?.evidence).toContain("unsupported protocol")
  })
})

describe("Auth JWT helpers", () => {
  it("signJwt and claimsOf round-trip; alg none has an empty signature", () => {
    const t = Http.Auth.signJwt({ sub: "a", exp: 1 }, "k")
    expect(Http.Auth.claimsOf(t)).toEqual({ sub: "a", exp: 1 })
    expect(Http.Auth.signJwt({ sub: "a" }, null).endsWith(".")).toBe(true)
    expect(Http.Auth.claimsOf("not-a-jwt")).toBeUndefined()
  })
})

describe("Findings.expectNone", () => {
  it("builds a check carrying the rule's severity, CWE and remediation", () => {
    const t = Http.target("api", { url: "http://127.0.0.1:1", environment: "lab" })
    const c = Http.Findings.expectNone(Http.Headers.probe(t), "headers.csp-missing")
    expect(c).toMatchObject({ severity: "medium", cwe: "CWE-693", id: "api headers /: headers.csp-missing" })
    expect(c.matcher.test([])).toBe(true)
    expect(c.matcher.test(["no CSP"])).toBe(false)
  })
  it("every rule has a CWE id, a title and a remediation", () => {
    for (const [id, r] of Object.entries(Http.Findings.rules)) expect([id, /^CWE-\d+$/.test(r.cwe), r.title.length > 0, r.remediation.length > 0]).toEqual([id, true, true, true])
  })
})
