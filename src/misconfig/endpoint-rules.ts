/**
 * Endpoint rules: data stores found by the protocol fingerprint (the handshake only — shiftup
 * never logs in, so a rule says only what the greeting proves), TLS certificates and versions,
 * and the headers the profile requires of HTTP endpoints. docs/misconfig.md says which data
 * store checks the fingerprint cannot answer.
 */
import { isLoopbackHost } from "../internal/egress.ts"
import { defineRule, when, type Rule, type RuleSpec } from "./model.ts"

const rule = (spec: RuleSpec<"endpoint">): Rule => defineRule("endpoint", spec)
const days = (ms: number) => Math.floor(ms / 86_400_000)
const isAddress = (host: string) => /^[\d.]+$/.test(host) || host.includes(":")

/** Whether a certificate name (`DNS:*.example.com`, `CN=example.com`) covers `host`. */
const covers = (pattern: string, host: string): boolean => {
  const p = pattern.toLowerCase()
  const h = host.toLowerCase()
  return p === h || (p.startsWith("*.") && h.endsWith(p.slice(1)) && !h.slice(0, -p.length + 1).includes("."))
}

/** The names a certificate is for: its DNS and IP subject alternative names, else its subject CN. */
const certNames = (subject: string, altNames: ReadonlyArray<string>): ReadonlyArray<string> => {
  const alt = altNames.map((a) => a.replace(/^(DNS|IP Address):/i, "")).filter((a) => a !== "")
  return alt.length > 0 ? alt : [...subject.matchAll(/CN=([^,/]+)/g)].map((m) => (m[1] ?? "").trim())
}

export const endpointRules: ReadonlyArray<Rule> = [
  rule({
    id: "datastore.redis-no-auth",
    title: "Redis answers without authentication",
    reads: ["fingerprint"],
    severity: "critical",
    rationale: "A Redis that answers PING with PONG to an unauthenticated client gives anyone who reaches it every key, and often a way to write files on its host.",
    remediation: "Set requirepass (or ACL users with `user default off`), bind to the interfaces that need it and keep protected-mode on.",
    references: { cwe: ["CWE-306"], asvs: ["V9.2.2"] },
    check: (e) => (e.fingerprint.engine !== "redis" ? [] : when(/\+PONG/.test(e.fingerprint.evidence), `${e.fingerprint.evidence} to an unauthenticated PING`)),
  }),
  rule({
    id: "datastore.redis-protected-mode-off",
    title: "Redis without authentication, protected mode off, bound beyond loopback",
    reads: ["redis.protectedMode", "redis.bind"],
    severity: "critical",
    rationale: "Protected mode is Redis's last guard when no password is set: it refuses clients from other hosts. Turned off on a server bound to a non-loopback interface, anyone who can route to it gets every key and CONFIG (a known path to writing files on the host).",
    remediation: "Set requirepass (or ACL users); keep protected-mode yes; bind only the interfaces the clients need.",
    references: { cwe: ["CWE-306", "CWE-1188"], asvs: ["V9.2.2"] },
    check: (e) => {
      // A Redis that needs a password: protected mode does not act there. One that does not, unread (facts off, CONFIG refused): not evaluated.
      if (e.fingerprint.engine !== "redis" || !/\+PONG/.test(e.fingerprint.evidence)) return []
      if (e.redis === undefined || "error" in e.redis) return null
      const beyond = e.redis.bind.split(/\s+/).map((a) => a.replace(/^-/, "")).filter((a) => a !== "" && !isLoopbackHost(a))
      const all = e.redis.bind.trim() === ""
      return when(e.redis.protectedMode === "no" && (all || beyond.length > 0), `protected-mode no, bind ${JSON.stringify(e.redis.bind)}: ${all ? "every interface" : beyond.join(", ")} without authentication`)
    },
  }),
  rule({
    id: "datastore.postgres-no-tls",
    title: "PostgreSQL without TLS where the profile requires it",
    reads: ["fingerprint"],
    severity: "high",
    rationale: "Without TLS, credentials and query results cross the network in clear text.",
    remediation: "Set ssl = on with a certificate in postgresql.conf, and hostssl (not host) lines in pg_hba.conf so clear-text connections are refused.",
    references: { cwe: ["CWE-319"], asvs: ["V9.2.2"] },
    check: (e, { profile }) => (e.fingerprint.engine !== "postgres" || !profile.dataStoreTls ? [] : when(/SSLRequest with 'N'/.test(e.fingerprint.evidence), `${e.fingerprint.evidence}: the server does not offer TLS`)),
  }),
  rule({
    id: "datastore.mysql-no-tls",
    title: "MySQL/MariaDB without TLS where the profile requires it",
    reads: ["fingerprint"],
    severity: "high",
    rationale: "A server whose greeting lacks the CLIENT_SSL capability cannot encrypt a session: every client's credentials exchange and query results cross the network in clear text.",
    remediation: "Give the server a certificate (ssl_cert and ssl_key), set require_secure_transport = ON so clear-text connections are refused, and REQUIRE SSL on the accounts.",
    references: { cwe: ["CWE-319"], asvs: ["V9.2.2"] },
    // The greeting says whether TLS is offered, not whether it is required (that needs a login): a server offering it passes here.
    check: (e, { profile }) => (e.fingerprint.engine !== "mysql" || !profile.dataStoreTls ? [] : when(/TLS not offered/.test(e.fingerprint.evidence), `${e.fingerprint.evidence}: the greeting lacks CLIENT_SSL`)),
  }),
  rule({
    id: "tls.min-version",
    title: "TLS version below the profile's minimum",
    reads: ["tls.protocol"],
    severity: "medium",
    rationale: "Older TLS versions lack forward secrecy by default and have known downgrade weaknesses.",
    remediation: "Configure the server's minimum protocol version to the profile's (ssl_protocols / MinVersion).",
    references: { cwe: ["CWE-326"], asvs: ["V9.1.2", "V9.1.3"] },
    check: (e, { profile }) => (e.tls === null ? [] : when(e.tls.protocol < profile.minTls, `negotiated ${e.tls.protocol}; profile ${profile.name} requires ${profile.minTls} or later`)),
  }),
  rule({
    id: "tls.cert-expired",
    title: "Certificate expired or not yet valid",
    reads: ["tls.certificate.notBefore", "tls.certificate.notAfter"],
    severity: "critical",
    rationale: "Clients either refuse the connection or are taught to click through certificate errors.",
    remediation: "Renew the certificate and automate renewal (ACME).",
    references: { cwe: ["CWE-298"], asvs: ["V9.1.1"] },
    check: (e, { now }) => {
      const c = e.tls?.certificate
      if (c == null) return []
      return [...when(Date.parse(c.notAfter) < now.getTime(), `expired ${c.notAfter}`), ...when(Date.parse(c.notBefore) > now.getTime(), `not valid before ${c.notBefore}`)]
    },
  }),
  rule({
    id: "tls.cert-expiring",
    title: "Certificate expires within the profile's window",
    reads: ["tls.certificate.notAfter"],
    severity: "medium",
    rationale: "A certificate close to expiry becomes an outage if renewal fails unnoticed.",
    remediation: "Renew now and check the automated renewal.",
    references: { cwe: ["CWE-298"] },
    check: (e, { profile, now }) => {
      const c = e.tls?.certificate
      if (c == null) return []
      const left = days(Date.parse(c.notAfter) - now.getTime())
      return when(left >= 0 && left < profile.certExpiryDays, `expires ${c.notAfter}, in ${left} days (profile ${profile.name} window: ${profile.certExpiryDays})`)
    },
  }),
  rule({
    id: "tls.weak-key",
    title: "Weak certificate key",
    reads: ["tls.certificate.keyType", "tls.certificate.keyBits"],
    severity: "high",
    rationale: "RSA keys under 2048 bits and EC keys under 256 bits are within reach of factoring or discrete-log attacks.",
    remediation: "Reissue the certificate with an RSA 3072-bit or an ECDSA P-256 key.",
    references: { cwe: ["CWE-326"], asvs: ["V6.2.3"] },
    check: (e) => {
      const c = e.tls?.certificate
      if (c == null || c.keyBits === null) return []
      const min = c.keyType === "rsa" || c.keyType === "dsa" ? 2048 : c.keyType === "ec" ? 256 : 0
      return when(c.keyBits < min, `${c.keyType} key of ${c.keyBits} bits (at least ${min})`)
    },
  }),
  rule({
    id: "tls.self-signed",
    title: "Self-signed certificate where the profile forbids it",
    reads: ["tls.certificate.selfSigned", "classification.effective"],
    severity: "medium",
    rationale: "A self-signed certificate cannot be verified by clients, so they are configured to skip verification — and then accept an attacker's too.",
    remediation: "Use a certificate from a CA the clients trust (a public CA, or the organisation's internal CA).",
    references: { cwe: ["CWE-295"], asvs: ["V9.2.1"] },
    check: (e, { profile }) => when(profile.selfSignedForbidden && e.classification.effective === "production" && e.tls?.certificate?.selfSigned === true, `self-signed certificate (${e.tls?.certificate?.subject ?? ""}) on a production endpoint`),
  }),
  rule({
    id: "tls.hostname-mismatch",
    title: "Certificate not valid for the host name",
    reads: ["host", "tls.certificate.subject", "tls.certificate.altNames"],
    severity: "high",
    rationale: "Clients checking names refuse the connection; clients not checking them accept any certificate.",
    remediation: "Reissue the certificate with the host name in its subject alternative names.",
    references: { cwe: ["CWE-297"], asvs: ["V9.2.1"] },
    check: (e) => {
      const c = e.tls?.certificate
      if (c == null || isAddress(e.host)) return []
      const names = certNames(c.subject, c.altNames)
      return when(!names.some((n) => covers(n, e.host)), `${e.host} is not among the certificate's names (${names.join(", ") || "none"})`)
    },
  }),
  rule({
    id: "http.required-header",
    title: "Security header the profile requires is missing",
    reads: ["http.securityHeaders"],
    severity: "medium",
    rationale: "The profile's required headers are how browsers are told to enforce HTTPS, restrict content and not cache sensitive pages.",
    remediation: "Send the header from the application or the reverse proxy in front of it.",
    references: { cwe: ["CWE-693"], asvs: ["V14.4.1", "V14.4.5"] },
    check: (e, { profile }) => (e.http === null ? [] : profile.requiredHeaders.filter((h) => e.http?.securityHeaders[h] === undefined).map((h) => `no ${h} header`)),
  }),
]
