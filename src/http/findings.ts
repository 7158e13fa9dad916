/**
 * Security findings: what a probe of `shiftup/http` reports when a defence is missing. Each has
 * a stable rule id, a severity, a title, redacted evidence, a CWE id and a remediation. A probe
 * returns a `Report` (its typed observation plus the findings); `Findings.expectNone` turns one
 * rule into a core check, so a violated rule becomes a journal finding carrying its CWE.
 */
import * as Expect from "../Expect.ts"
import type { Profile } from "../misconfig/profiles.ts"
import * as Probe from "../Probe.ts"

export type Severity = Expect.Severity

export interface Rule {
  readonly severity: Severity
  readonly title: string
  readonly cwe: string
  readonly remediation: string
  /** OWASP ASVS 4.0.3 requirement ids, where one applies. */
  readonly asvs?: ReadonlyArray<string>
}

/** Every rule the probes of `shiftup/http` can report; the keys are API (docs/http.md). */
export const rules = {
  "auth.anonymous-allowed": { severity: "critical", cwe: "CWE-306", title: "a protected route answers anonymous requests", remediation: "Require authentication on the route and deny by default (401/403).", asvs: ["V4.1.1"] },
  "auth.forged-jwt-accepted": { severity: "critical", cwe: "CWE-347", title: "a JWT signed with a foreign key is accepted", remediation: "Verify every token's signature with the issuer's key before reading its claims.", asvs: ["V3.5.3"] },
  "auth.alg-none-accepted": { severity: "critical", cwe: "CWE-347", title: "an unsigned JWT (alg: none) is accepted", remediation: "Pin the accepted algorithms (e.g. RS256/HS256) and reject `none`.", asvs: ["V3.5.3"] },
  "auth.expired-jwt-accepted": { severity: "high", cwe: "CWE-613", title: "an expired JWT is accepted", remediation: "Check `exp` (and `nbf`) on every request, with at most a small clock skew." },
  "auth.boundary-crossed": { severity: "critical", cwe: "CWE-639", title: "a user can read another user's resource", remediation: "Authorise every object access against the caller's identity, not only the route.", asvs: ["V4.2.1"] },
  "auth.fails-open": { severity: "critical", cwe: "CWE-636", title: "a protected route answers 2xx while a fault is active", remediation: "Treat every error, timeout or missing answer from the auth dependency as a denial.", asvs: ["V4.1.5"] },
  "headers.hsts-missing": { severity: "medium", cwe: "CWE-319", title: "HTTPS response without a strong Strict-Transport-Security", remediation: "Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on every HTTPS response.", asvs: ["V14.4.5"] },
  "headers.csp-missing": { severity: "medium", cwe: "CWE-693", title: "no Content-Security-Policy", remediation: "Send a Content-Security-Policy (at least `default-src 'self'; frame-ancestors 'none'`).", asvs: ["V14.4.3"] },
  "headers.nosniff-missing": { severity: "low", cwe: "CWE-693", title: "no X-Content-Type-Options: nosniff", remediation: "Send `X-Content-Type-Options: nosniff`.", asvs: ["V14.4.4"] },
  "headers.framing-allowed": { severity: "medium", cwe: "CWE-1021", title: "the page can be framed by any site (clickjacking)", remediation: "Send `Content-Security-Policy: frame-ancestors 'none'` (or `X-Frame-Options: DENY`).", asvs: ["V14.4.7"] },
  "headers.referrer-policy-missing": { severity: "low", cwe: "CWE-200", title: "no safe Referrer-Policy", remediation: "Send `Referrer-Policy: strict-origin-when-cross-origin` or `no-referrer`.", asvs: ["V14.4.6"] },
  "headers.required-missing": { severity: "medium", cwe: "CWE-693", title: "a response header the environment profile requires is missing", remediation: "Send the header from the application or the reverse proxy in front of it (the profile's requiredHeaders, docs/misconfig.md).", asvs: ["V14.4.1"] },
  "cookies.secure-missing": { severity: "medium", cwe: "CWE-614", title: "a cookie without the Secure attribute", remediation: "Set `Secure` on every cookie.", asvs: ["V3.4.1"] },
  "cookies.httponly-missing": { severity: "medium", cwe: "CWE-1004", title: "a cookie without the HttpOnly attribute", remediation: "Set `HttpOnly` on session and auth cookies.", asvs: ["V3.4.2"] },
  "cookies.samesite-missing": { severity: "low", cwe: "CWE-1275", title: "a cookie without a SameSite attribute (or SameSite=None without Secure)", remediation: "Set `SameSite=Lax` or `Strict` (or `None; Secure` where cross-site use is intended).", asvs: ["V3.4.3"] },
  "cors.wildcard-credentials": { severity: "high", cwe: "CWE-942", title: "CORS allows any origin together with credentials", remediation: "Never combine `Access-Control-Allow-Origin: *` with `Access-Control-Allow-Credentials: true`; list trusted origins.", asvs: ["V14.5.3"] },
  "cors.reflected-origin": { severity: "high", cwe: "CWE-942", title: "CORS reflects an arbitrary Origin", remediation: "Compare the Origin with an allowlist instead of echoing it.", asvs: ["V14.5.3"] },
  "leak.sensitive-data": { severity: "high", cwe: "CWE-359", title: "a response carries data the profile forbids to expose (card numbers, record numbers, dates of birth, national ids…)", remediation: "Remove the data from the response, or mask it (e.g. the last four digits of a card number) before it leaves the service.", asvs: ["V8.3.1"] },
  "leak.version-banner": { severity: "low", cwe: "CWE-200", title: "server software and version disclosed in headers", remediation: "Remove version numbers from Server/X-Powered-By headers (e.g. nginx `server_tokens off`).", asvs: ["V14.3.3"] },
  "leak.version-error-page": { severity: "low", cwe: "CWE-200", title: "server software and version disclosed in error pages", remediation: "Hide the version from error pages too (nginx `server_tokens off`, Apache `ServerSignature Off` and `ServerTokens Prod`), or serve your own error pages." },
  "leak.status-page-exposed": { severity: "medium", cwe: "CWE-497", title: "a status, admin or debug page is exposed", remediation: "Serve status, metrics and debug endpoints on an internal listener only, or restrict them (nginx `allow`/`deny`, Spring `management.server.port`, auth)." },
  "leak.stack-trace": { severity: "medium", cwe: "CWE-209", title: "an error response contains a stack trace", remediation: "Return a generic error body in production; log the details server-side.", asvs: ["V7.4.1"] },
  "leak.git-exposed": { severity: "high", cwe: "CWE-527", title: "the /.git/ folder is served", remediation: "Do not deploy the .git folder; deny `/.git` at the web server.", asvs: ["V12.5.1"] },
  "leak.env-exposed": { severity: "critical", cwe: "CWE-538", title: "a .env file is served", remediation: "Keep .env files out of the web root and deny dotfiles at the web server.", asvs: ["V12.5.1"] },
  "leak.directory-listing": { severity: "medium", cwe: "CWE-548", title: "a directory listing is served", remediation: "Disable automatic indexes (nginx `autoindex off`).", asvs: ["V4.3.2"] },
  "rate.limit-missing": { severity: "medium", cwe: "CWE-770", title: "a burst is not rate-limited (the limit did not engage within the stated limit)", remediation: "Rate-limit the route per client and answer 429 once the limit is reached.", asvs: ["V11.1.4"] },
  "transport.no-https-redirect": { severity: "medium", cwe: "CWE-319", title: "plain HTTP serves content instead of redirecting to HTTPS", remediation: "Answer every plain-HTTP request with a 301/308 to the same URL on https:// (nginx: `return 301 https://$host$request_uri;`), and send HSTS on HTTPS.", asvs: ["V9.1.1"] },
  "tls.legacy-protocol": { severity: "high", cwe: "CWE-326", title: "TLS 1.0 or 1.1 is accepted", remediation: "Set the minimum protocol to TLS 1.2 (`ssl_protocols TLSv1.2 TLSv1.3`).", asvs: ["V9.1.3"] },
  "tls.weak-cipher": { severity: "high", cwe: "CWE-327", title: "a weak cipher suite is accepted (no forward secrecy, 3DES, RC4, NULL or export)", remediation: "Allow only ECDHE/DHE suites with AEAD ciphers (or TLS 1.3).", asvs: ["V9.1.2"] },
  "tls.certificate-expired": { severity: "critical", cwe: "CWE-298", title: "the certificate is expired or not yet valid", remediation: "Renew the certificate, and automate renewal." },
  "tls.certificate-expiring": { severity: "medium", cwe: "CWE-298", title: "the certificate expires soon", remediation: "Renew the certificate before it expires; automate renewal." },
  "tls.hostname-mismatch": { severity: "high", cwe: "CWE-297", title: "the certificate does not match the host name", remediation: "Serve a certificate whose subjectAltName covers the host name." },
  "tls.untrusted-certificate": { severity: "high", cwe: "CWE-295", title: "the certificate chain is not trusted", remediation: "Serve a certificate issued by a trusted CA, with its intermediates." },
  "tls.handshake-failed": { severity: "high", cwe: "CWE-319", title: "no TLS handshake with current settings (TLS 1.2–1.3) succeeds", remediation: "Serve TLS 1.2 or 1.3 on this port with a current certificate (and check the service is up): clients either cannot connect or fall back to weaker protocols." },
  "inject.server-error": { severity: "high", cwe: "CWE-20", title: "an injection payload causes a server error", remediation: "Validate and parameterise input; never build queries, paths or commands by concatenation." },
  "inject.reflected-unescaped": { severity: "high", cwe: "CWE-79", title: "an injection payload is reflected unescaped", remediation: "Encode output for its context (HTML, attribute, JS).", asvs: ["V5.3.3"] },
  "inject.sql-error": { severity: "high", cwe: "CWE-89", title: "an injection payload produces a database error", remediation: "Use parameterised queries.", asvs: ["V5.3.4"] },
  "inject.traversal": { severity: "critical", cwe: "CWE-22", title: "a path traversal payload reads a file outside the web root", remediation: "Resolve paths against a fixed root and reject `..`.", asvs: ["V12.3.1"] },
  "inject.command": { severity: "critical", cwe: "CWE-78", title: "a command injection payload runs a command", remediation: "Never pass input to a shell; use argument vectors and allowlists.", asvs: ["V5.3.8"] },
  "inject.header-injection": { severity: "high", cwe: "CWE-113", title: "a CRLF payload injects a response header", remediation: "Reject CR and LF in values copied into headers." },
  "inject.not-blocked": { severity: "medium", cwe: "CWE-693", title: "an attack payload is not blocked where a WAF is expected", remediation: "Check the WAF rules cover this payload family and are in blocking mode." },
  "ports.unexpected-open": { severity: "medium", cwe: "CWE-668", title: "a port outside the declared inventory is open", remediation: "Close the port, bind it to a private interface, or add it to the inventory if intended." },
} as const satisfies Readonly<Record<string, Rule>>

export type RuleId = keyof typeof rules

export interface SecurityFinding {
  readonly id: RuleId
  /** The rule's severity, or the one the environment profile sets for it (`profile`). */
  readonly severity: Severity
  /** The environment profile the probe judged under, when it read one. */
  readonly profile?: string
  readonly title: string
  readonly cwe: string
  /** What was seen, with the probe's secrets redacted. */
  readonly evidence: string
  readonly remediation: string
}

/** A probe's result: its typed observation plus what it found. */
export interface Report<O> {
  readonly observation: O
  readonly findings: ReadonlyArray<SecurityFinding>
}

export const finding = (id: RuleId, evidence: string): SecurityFinding => ({ id, ...rules[id], evidence })

/**
 * Findings as the environment profile sees them: each rule's severity set by the profile, and the
 * rules it turns `off` dropped (docs/misconfig.md); `info` counts as `low` here.
 */
export const underProfile = (findings: ReadonlyArray<SecurityFinding>, profile: Profile): ReadonlyArray<SecurityFinding> =>
  findings.flatMap((f) => {
    const severity = profile.severities[f.id] ?? f.severity
    // A journal finding has no `info` level: the lowest it knows is `low`.
    return severity === "off" ? [] : [{ ...f, severity: severity === "info" ? "low" : severity, profile: profile.name }]
  })

/** The ids of a report's findings, sorted: handy in tests (`expect(ids(r)).toEqual([...])`). */
export const ids = (report: Report<unknown>): ReadonlyArray<RuleId> => [...new Set(report.findings.map((f) => f.id))].sort()

/**
 * A check that `rule` is not reported by `probe`. When it is, the journal gets a finding with the
 * rule's severity, title, CWE and remediation; what was observed is the evidence (secrets
 * redacted), one string per occurrence.
 *
 * @example
 * hypothesis: [Findings.expectNone(Headers.probe(api, "/"), "headers.csp-missing")]
 */
export const expectNone = <O>(probe: Probe.Probe<Report<O>>, rule: RuleId, options: Expect.CheckOptions = {}): Expect.Check<ReadonlyArray<string>> => {
  const r: Rule = rules[rule]
  return Expect.that(
    Probe.map(probe, (report): ReadonlyArray<string> => report.findings.filter((f) => f.id === rule).map((f) => f.evidence), `${probe.id}: ${rule}`),
    Expect.predicate(`no ${rule}`, (evidence: ReadonlyArray<string>) => evidence.length === 0),
    { id: `${probe.id}: ${rule}`, title: `${r.title} (${probe.target.id})`, severity: r.severity, cwe: r.cwe, remediation: r.remediation, ...options },
  )
}

/** One check per rule, e.g. `Findings.expectNoneOf(Headers.probe(api, "/"), Headers.ruleIds)`. */
export const expectNoneOf = <O>(probe: Probe.Probe<Report<O>>, ruleIds: ReadonlyArray<RuleId>, options: Expect.CheckOptions = {}): ReadonlyArray<Expect.Check<ReadonlyArray<string>>> =>
  ruleIds.map((rule) => expectNone(probe, rule, options))
