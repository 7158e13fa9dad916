/**
 * TLS facts of an HTTPS target: which protocol versions it accepts (1.0 and 1.1 must be
 * refused), whether it accepts a weak cipher suite, and what its certificate says (validity,
 * days to expiry, host name match, trust). Each handshake checks the egress allowlist first and
 * connects to the checked address.
 *
 * The probe is about the connection itself, so a connection that fails is what it observes, not
 * an error: an expired or untrusted certificate is read over an unverified handshake (and
 * reported even when the target is set not to verify), and a handshake that fails altogether
 * (a closed port, plain HTTP on the port, no common protocol) is the `tls.handshake-failed`
 * finding — the run's other probes go on.
 */
import { isIP } from "node:net"
import * as tls from "node:tls"
import { X509Certificate } from "node:crypto"
import { Effect } from "effect"
import { checkEgress } from "../../internal/egress.ts"
import { completed, dn, type Failed, type Handshake, handshake } from "../../internal/tls-handshake.ts"
import * as Probe from "../../Probe.ts"
import { RunContext } from "../../RunContext.ts"
import { describeUnknown, fail, ProbeFailed, type ShiftupError } from "../../ShiftupError.ts"
import type { SecurityTarget } from "../targets.ts"
import { finding, type Report, type SecurityFinding } from "../findings.ts"

export type Protocol = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3"

export interface Certificate {
  readonly subject: string
  readonly issuer: string
  readonly altNames: string
  readonly validFrom: string
  readonly validTo: string
  readonly daysToExpiry: number
  readonly selfSigned: boolean
}

export interface TlsObservation {
  readonly host: string
  readonly port: number
  readonly protocols: Readonly<Record<Protocol, boolean>>
  readonly negotiated: { readonly protocol: string | null; readonly cipher: string | null }
  /** The weak suite a handshake offering only weak suites agreed on, or `null`. */
  readonly weakCipher: string | null
  readonly certificate: Certificate | null
  readonly hostnameMatches: boolean
  /** The chain verification error (against the target's CA, or the system store), or `null`. */
  readonly trustError: string | null
  /** Why the default handshake (TLS 1.2–1.3, default suites) failed, or `null` when it succeeded. */
  readonly handshakeError: string | null
  /** Whether the target's requests verify the certificate (`tls.rejectUnauthorized` is not `false`). */
  readonly verified: boolean
}

export interface TlsOptions {
  /** Warn when the certificate expires within this many days; default 30. */
  readonly warnDays?: number
  /** Per-handshake deadline; default 3 seconds. */
  readonly timeoutMs?: number
  readonly id?: string
}

/** Suites without forward secrecy, or with 3DES, RC4, NULL, export or anonymous key exchange. */
export const weakCiphers = "kRSA:3DES:RC4:NULL:eNULL:aNULL:EXPORT:DES:@SECLEVEL=0"

const unreachableError = /^(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT)\b|^no TLS handshake within/

const pems = (bundle: string): ReadonlyArray<string> => bundle.split(/(?<=-----END CERTIFICATE-----)/).map((s) => s.trim()).filter((s) => s.startsWith("-----BEGIN CERTIFICATE-----"))

/**
 * OpenSSL reports one verification error, and a date error hides a trust error: for an expired
 * (or not yet valid) leaf, trust is checked again here — is it issued and signed by a trusted CA?
 */
const trustOf = (error: string | null, cert: tls.PeerCertificate | null, ca: string | undefined): string | null => {
  if (error !== "CERT_HAS_EXPIRED" && error !== "CERT_NOT_YET_VALID") return error
  if (cert === null) return error
  try {
    const leaf = new X509Certificate(cert.raw)
    const roots = ca === undefined ? tls.rootCertificates : pems(ca)
    const trusted = roots.some((pem) => {
      const root = new X509Certificate(pem)
      return leaf.checkIssued(root) && leaf.verify(root.publicKey)
    })
    return trusted ? error : leaf.checkIssued(leaf) ? "DEPTH_ZERO_SELF_SIGNED_CERT" : "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"
  } catch {
    return error
  }
}


/** Pure: findings from the facts (exported for unit tests). */
export const evaluate = (o: TlsObservation, warnDays: number): ReadonlyArray<SecurityFinding> => {
  const out: Array<SecurityFinding> = []
  const legacy = (["TLSv1", "TLSv1.1"] as const).filter((p) => o.protocols[p])
  if (legacy.length > 0) out.push(finding("tls.legacy-protocol", `${o.host}:${o.port} accepted ${legacy.join(" and ")}`))
  if (o.weakCipher !== null) out.push(finding("tls.weak-cipher", `${o.host}:${o.port} agreed on ${o.weakCipher} when offered only weak suites`))
  const c = o.certificate
  if (c !== null) {
    const now = Date.now()
    if (Date.parse(c.validTo) < now || Date.parse(c.validFrom) > now) out.push(finding("tls.certificate-expired", `valid ${c.validFrom} to ${c.validTo}; ${c.daysToExpiry} day(s) to expiry`))
    else if (c.daysToExpiry < warnDays) out.push(finding("tls.certificate-expiring", `expires ${c.validTo}: ${c.daysToExpiry} day(s) left (warning below ${warnDays})`))
    if (!o.hostnameMatches) out.push(finding("tls.hostname-mismatch", `${o.host} is not covered by ${c.altNames === "" ? c.subject : c.altNames}`))
  }
  const trustIgnored = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "ERR_TLS_CERT_ALTNAME_INVALID"])
  // Reported whether or not the target verifies: a client set not to verify is exactly the one
  // that would not notice an impostor.
  if (o.trustError !== null && !trustIgnored.has(o.trustError))
    out.push(finding("tls.untrusted-certificate", `chain verification: ${o.trustError}; issuer ${c?.issuer ?? "unknown"}${o.verified ? "" : " (the target is set not to verify certificates: rejectUnauthorized: false)"}`))
  if (o.handshakeError !== null) out.push(finding("tls.handshake-failed", `${o.host}:${o.port}: the default handshake (TLS 1.2–1.3) failed: ${o.handshakeError}`))
  return out
}

/**
 * Handshakes with the target: one per protocol version, one offering only weak suites, and one
 * default handshake for the certificate.
 *
 * @example
 * Findings.expectNoneOf(Tls.probe(api), Tls.ruleIds)
 */
export const probe = (target: SecurityTarget, options: TlsOptions = {}): Probe.Probe<Report<TlsObservation>> => {
  const id = options.id ?? `${target.id} tls`
  return Probe.make({
    id,
    target,
    observe: Effect.gen(function* () {
      const run = yield* RunContext
      const url = new URL(target.url)
      const host = url.hostname.replace(/^\[|\]$/g, "")
      const port = Number(url.port || 443)
      const { address } = yield* checkEgress(run.egress, host)
      const servername = isIP(host) === 0 ? host : undefined
      const ca = target.tls?.ca
      const timeoutMs = options.timeoutMs ?? 3000
      const shake = (opts: tls.ConnectionOptions, first = false): Effect.Effect<Handshake | Failed, ShiftupError> =>
        Effect.andThen(
          first ? Effect.void : run.throttle(target.id),
          Effect.tryPromise({ try: (signal) => handshake(address, port, servername, ca, opts, timeoutMs, signal), catch: (e) => fail(new ProbeFailed({ probe: id, target: target.id, detail: describeUnknown(e) })) }),
        )
      const main = yield* shake({}, true)
      // Nobody there (refused, reset, silent): no other handshake would learn anything either.
      const unreachable = !completed(main) && unreachableError.test(main.error)
      const protocols: Record<Protocol, boolean> = { TLSv1: false, "TLSv1.1": false, "TLSv1.2": false, "TLSv1.3": false }
      const legacyCert: Array<Handshake> = []
      for (const p of unreachable ? [] : (["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] as const)) {
        // Offering 1.0/1.1 at all needs OpenSSL's security level 0 on the client side.
        const h = yield* shake({ minVersion: p, maxVersion: p, ...(p === "TLSv1" || p === "TLSv1.1" ? { ciphers: "DEFAULT:@SECLEVEL=0" } : {}) })
        protocols[p] = completed(h) && h.protocol === p
        if (completed(h)) legacyCert.push(h)
      }
      const weak: Handshake | Failed = unreachable ? main : yield* shake({ maxVersion: "TLSv1.2", ciphers: weakCiphers })
      // The certificate of the default handshake, or of any that completed (a TLS 1.0-only server).
      const seen = completed(main) ? main : legacyCert[0]
      const cert = seen?.cert ?? null
      const certificate: Certificate | null =
        cert === null
          ? null
          : {
              subject: dn(cert.subject),
              issuer: dn(cert.issuer),
              altNames: cert.subjectaltname ?? "",
              validFrom: new Date(cert.valid_from).toISOString(),
              validTo: new Date(cert.valid_to).toISOString(),
              daysToExpiry: Math.floor((Date.parse(cert.valid_to) - Date.now()) / 86_400_000),
              selfSigned: dn(cert.subject) === dn(cert.issuer),
            }
      const hostnameMatches = cert === null ? false : tls.checkServerIdentity(host, cert) === undefined
      const observation: TlsObservation = {
        host,
        port,
        protocols,
        negotiated: completed(main) ? { protocol: main.protocol, cipher: main.cipher } : { protocol: null, cipher: null },
        weakCipher: completed(weak) ? weak.cipher : null,
        certificate,
        hostnameMatches,
        trustError: seen === undefined ? null : trustOf(seen.authorizationError, cert, ca),
        handshakeError: completed(main) ? null : main.error,
        verified: target.tls?.rejectUnauthorized !== false,
      }
      return { observation, findings: evaluate(observation, options.warnDays ?? 30) }
    }),
  })
}

export const ruleIds = ["tls.legacy-protocol", "tls.weak-cipher", "tls.certificate-expired", "tls.certificate-expiring", "tls.hostname-mismatch", "tls.untrusted-certificate", "tls.handshake-failed"] as const
