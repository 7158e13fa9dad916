/**
 * Authentication and authorisation probes: anonymous access to a protected route, forged,
 * `alg: none` and expired JWTs, an authorisation boundary (user A reading user B's resource),
 * and failing closed while a fault is active.
 */
import { createHmac, randomBytes } from "node:crypto"
import { Effect } from "effect"
import * as Expect from "../Expect.ts"
import * as Probe from "../Probe.ts"
import { request, type Exchange, type SecurityTarget } from "./Client.ts"
import { finding, rules, type Report, type SecurityFinding } from "./Findings.ts"
import { reveal, secret, type Secret, type Value } from "../Secret.ts"

const b64url = (s: string | Buffer) => Buffer.from(s).toString("base64url")

/** Signs a JWT with HS256 (or leaves it unsigned with `alg: none`). */
export const signJwt = (claims: Readonly<Record<string, unknown>>, key: string | null): string => {
  const header = b64url(JSON.stringify(key === null ? { alg: "none", typ: "JWT" } : { alg: "HS256", typ: "JWT" }))
  const payload = b64url(JSON.stringify(claims))
  return key === null ? `${header}.${payload}.` : `${header}.${payload}.${createHmac("sha256", key).update(`${header}.${payload}`).digest("base64url")}`
}

/** The claims of a JWT, unverified (used to forge look-alikes of a real token). */
export const claimsOf = (jwt: string): Record<string, unknown> | undefined => {
  try {
    const claims = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as unknown
    return typeof claims === "object" && claims !== null ? (claims as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

const allowed = (status: number) => status >= 200 && status < 300

export interface AuthOptions {
  /** The protected route. */
  readonly path: string
  readonly method?: string
  /** A genuine token: its claims are copied into the forged ones (so only the signature differs). */
  readonly token?: Secret
  /** The HS256 key the service verifies with (a lab's): mints a correctly signed but expired token. */
  readonly jwtKey?: Secret
  /** A genuine, expired token, when the key cannot be shared. */
  readonly expiredToken?: Secret
  /** Header the credential goes in; default `authorization`, as `Bearer <token>`. */
  readonly header?: string
  readonly id?: string
  readonly timeoutMs?: number
}

export interface AuthObservation {
  readonly anonymous: number
  readonly forged: number
  readonly algNone: number
  /** `null`: not tested (give `jwtKey` or `expiredToken`). */
  readonly expired: number | null
}

/**
 * Sends the route anonymously, with a forged JWT, an `alg: none` JWT and (when it can mint or
 * was given one) an expired JWT; any 2xx answer is a finding.
 */
export const probe = (target: SecurityTarget, options: AuthOptions): Probe.Probe<Report<AuthObservation>> => {
  const header = options.header ?? "authorization"
  const bearer = (t: Value) => ({ [header]: typeof t === "string" ? `Bearer ${t}` : secret(`Bearer ${reveal(t)}`) })
  const send = (headers: Readonly<Record<string, Value>>) =>
    request(target, { path: options.path, method: options.method ?? "GET", headers, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) })
  const id = options.id ?? `${target.id} auth ${options.path}`
  return Probe.make({
    id,
    target,
    observe: Effect.gen(function* () {
      const now = Math.floor(Date.now() / 1000)
      const base = (options.token === undefined ? undefined : claimsOf(options.token.reveal())) ?? { sub: "shiftup-probe", iat: now }
      const live = { ...base, exp: now + 600 }
      const forgedToken = signJwt(live, randomBytes(32).toString("hex"))
      const noneToken = signJwt(live, null)
      const expiredToken =
        options.expiredToken ?? (options.jwtKey === undefined ? undefined : secret(signJwt({ ...base, iat: now - 7200, exp: now - 3600 }, options.jwtKey.reveal())))
      const anonymous: Exchange = yield* send({})
      const forged = yield* send(bearer(forgedToken))
      const algNone = yield* send(bearer(noneToken))
      const expired = expiredToken === undefined ? null : yield* send(bearer(expiredToken))
      const findings: Array<SecurityFinding> = []
      const at = `${options.method ?? "GET"} ${options.path}`
      if (allowed(anonymous.status)) findings.push(finding("auth.anonymous-allowed", `${at} without credentials answered ${anonymous.status}`))
      if (allowed(forged.status)) findings.push(finding("auth.forged-jwt-accepted", `${at} with an HS256 JWT signed by a random key answered ${forged.status}`))
      if (allowed(algNone.status)) findings.push(finding("auth.alg-none-accepted", `${at} with an unsigned JWT (alg: none) answered ${algNone.status}`))
      if (expired !== null && allowed(expired.status)) findings.push(finding("auth.expired-jwt-accepted", `${at} with a JWT expired an hour ago answered ${expired.status}`))
      return { observation: { anonymous: anonymous.status, forged: forged.status, algNone: algNone.status, expired: expired?.status ?? null }, findings }
    }),
  })
}

export const ruleIds = ["auth.anonymous-allowed", "auth.forged-jwt-accepted", "auth.alg-none-accepted", "auth.expired-jwt-accepted"] as const

export interface BoundaryOptions {
  /** The other user's resource, e.g. `/users/2/orders`. */
  readonly path: string
  /** User A's credential. */
  readonly as: Secret
  readonly method?: string
  readonly header?: string
  readonly id?: string
}

/** User A (`as`) asks for user B's resource; a 2xx answer is a finding. */
export const boundary = (target: SecurityTarget, options: BoundaryOptions): Probe.Probe<Report<{ readonly status: number }>> => {
  const header = options.header ?? "authorization"
  return Probe.make({
    id: options.id ?? `${target.id} boundary ${options.path}`,
    target,
    observe: Effect.map(request(target, { path: options.path, method: options.method ?? "GET", headers: { [header]: secret(`Bearer ${options.as.reveal()}`) } }), (r) => ({
      observation: { status: r.status },
      findings: allowed(r.status) ? [finding("auth.boundary-crossed", `${options.method ?? "GET"} ${options.path} as another user answered ${r.status}`)] : [],
    })),
  })
}

/**
 * Fail-closed under fault: during the active faults, the protected route never answers 2xx.
 * A `during` check whose finding carries CWE-636.
 *
 * @example
 * method: [DemoLab.authFault("slow"), Auth.failsClosed(gateway, "/admin", { samples: 5, burst: 3 })]
 */
export const failsClosed = (target: SecurityTarget, path: string, options: Expect.DuringOptions & { readonly headers?: Readonly<Record<string, Value>> } = {}): Expect.Check<number> => {
  const { headers, ...during } = options
  const r = rules["auth.fails-open"]
  const status = Probe.make({ id: `${target.id} ${path} under fault`, target, observe: Effect.map(request(target, { path, ...(headers === undefined ? {} : { headers }) }), (x) => x.status) })
  return Expect.during(status, Expect.predicate("never 2xx", (s: number) => !allowed(s)), { severity: r.severity, cwe: r.cwe, remediation: r.remediation, title: `${path} fails closed under fault (${target.id})`, ...during })
}
