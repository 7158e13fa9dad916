/**
 * Authentication and authorisation probes: anonymous access to a protected route, forged,
 * `alg: none` and expired JWTs, an authorisation boundary (user A reading user B's resource),
 * and failing closed while a fault is active — asked with no credentials and with credentials a
 * store must be asked about (unknown, expired, forged, replayed), each its own check.
 */
import { createHmac, randomBytes } from "node:crypto"
import { Effect } from "effect"
import * as Expect from "../../Expect.ts"
import * as Probe from "../../Probe.ts"
import { request, type Exchange } from "../client.ts"
import type { SecurityTarget } from "../targets.ts"
import { finding, rules, type Report, type SecurityFinding } from "../findings.ts"
import { bearer, carry, type Credential, type Session } from "./session.ts"
import { isSecret, reveal, secret, type Secret, type Value } from "../../Secret.ts"
import { fail, InvalidExperiment, type ShiftupError } from "../../ShiftupError.ts"

export { bearer, carry, readToken, session, type Credential, type Session, type SessionOptions } from "./session.ts"

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

/** One way to ask for the protected route without a valid credential. */
export type Attempt = "anonymous" | "unknown-token" | "expired-token" | "forged-jwt" | "alg-none-jwt" | "replayed-token"

/** What each attempt sends, in the words of a finding. */
export const attempts: Readonly<Record<Attempt, string>> = {
  anonymous: "no credentials",
  "unknown-token": "an unknown session token",
  "expired-token": "an expired token",
  "forged-jwt": "a JWT signed with a foreign key",
  "alg-none-jwt": "an unsigned JWT (alg: none)",
  "replayed-token": "a token replayed after logout",
}

export interface FailsClosedOptions extends Expect.DuringOptions {
  readonly method?: string
  /** Headers of every attempt, besides the credential. */
  readonly headers?: Readonly<Record<string, Value>>
  /** Where the credential goes; default the session's, else `Authorization: Bearer`. */
  readonly credential?: Credential
  /**
   * A run-owned login (`Auth.session`, declared in `resources`): its token's shape is copied into
   * the unknown token, its claims (for a JWT) into the forged ones, and — logged out before the
   * method — it is the replayed token.
   */
  readonly session?: Session
  /** A genuine token known up front, instead of a session: its shape and claims are copied. */
  readonly token?: Secret
  /**
   * Whether the route takes JWTs: forged and `alg: none` JWTs are tried. Default: when the
   * genuine token (`token`, or the session's, seen at run time) is JWT-shaped.
   */
  readonly jwt?: boolean
  /** The HS256 key the service verifies with (a lab's): mints a correctly signed, expired JWT. */
  readonly jwtKey?: Secret
  /** A genuine expired token, when the key cannot be shared. */
  readonly expiredToken?: Secret
  /** The attempts to make; default every one whose input is given (see `attemptsFor`). */
  readonly attempts?: ReadonlyArray<Attempt>
}

/** `header.payload.signature`, the header being base64url JSON naming an `alg`. */
export const isJwt = (token: string): boolean => {
  if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) return false
  const header = claimsOf(`.${token.split(".")[0] ?? ""}`)
  return typeof header?.["alg"] === "string"
}

/** A random token of the same shape: each letter or digit replaced by a random one of its kind, separators kept. */
export const lookalike = (token: string | undefined): string => {
  if (token === undefined || token.length < 8) return randomBytes(16).toString("hex")
  const hex = /^[0-9a-f-]+$/.test(token)
  const pick = (alphabet: string) => alphabet[randomBytes(1)[0] as number % alphabet.length] as string
  return token.replace(/[A-Za-z0-9]/g, (c) => (hex ? pick("0123456789abcdef") : /\d/.test(c) ? pick("0123456789") : /[a-z]/.test(c) ? pick("abcdefghijklmnopqrstuvwxyz") : pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ")))
}

/** The attempts `failsClosed` makes with these options, and why any other is left out. */
export const attemptsFor = (options: FailsClosedOptions): { readonly made: ReadonlyArray<Attempt>; readonly left: Readonly<Partial<Record<Attempt, string>>> } => {
  const left: Partial<Record<Attempt, string>> = {}
  if (options.expiredToken === undefined && options.jwtKey === undefined) left["expired-token"] = "give `expiredToken` (a genuine expired token) or `jwtKey` (to mint one)"
  const jwt = options.jwt ?? (options.token === undefined ? (options.session === undefined ? false : "at run time") : isJwt(options.token.reveal()))
  if (jwt === false) for (const a of ["forged-jwt", "alg-none-jwt"] as const) left[a] = options.jwt === false ? "`jwt: false`" : "no JWT-shaped token was given (`token`, a `session`) and `jwt` is not set"
  if (options.session?.revoked !== true) left["replayed-token"] = "give a `session` with a `logout` request"
  const all = Object.keys(attempts) as ReadonlyArray<Attempt>
  return { made: all.filter((a) => left[a] === undefined && (options.attempts === undefined || options.attempts.includes(a))), left }
}

/**
 * Fail-closed under fault: while the active faults last, the protected route never answers 2xx
 * — asked without credentials, and with credentials a store must be asked about, which is where a
 * service fails open when its session store, token service or revocation list is down: an
 * unknown session token, an expired token, forged and `alg: none` JWTs (where the route takes
 * JWTs), a token replayed after logout. Each attempt is its own `during` check, named after it,
 * so a finding says which one got in; each finding carries CWE-636. An attempt whose input is
 * missing is left out (`attemptsFor` says why); one listed in `attempts` without its input is an
 * error.
 *
 * @example
 * const alice = Http.Auth.session(api, { login: { method: "POST", path: "/login", ...Http.json({ user: "alice", password }) }, logout: { method: "POST", path: "/logout" }, credential: { cookie: "sid" } })
 * resources: { alice },
 * method: [Net.blackhole(redisProxy), ...Http.Auth.failsClosed(api, "/admin", { session: alice, samples: 5 })]
 */
export const failsClosed = (target: SecurityTarget, path: string, options: FailsClosedOptions = {}): ReadonlyArray<Expect.Check<number | string>> => {
  const { method = "GET", headers, credential: given, session, token, jwt, jwtKey, expiredToken, attempts: wanted, id, title, ...during } = options
  const { made, left } = attemptsFor(options)
  const missing = (wanted ?? []).filter((a) => left[a] !== undefined)
  if (missing.length > 0)
    throw fail(new InvalidExperiment({ source: `Auth.failsClosed(${target.id}, ${JSON.stringify(path)})`, issues: missing.map((a) => ({ path: `attempts`, message: `"${a}" needs its input: ${left[a] ?? ""}` })) }))
  const credential = given ?? session?.credential ?? bearer
  const r = rules["auth.fails-open"]
  const at = `${method} ${path}`
  /** The genuine token: given, or this run's session's. */
  const genuine: Effect.Effect<Secret | undefined, ShiftupError> = token !== undefined ? Effect.succeed(token) : session === undefined ? Effect.succeed(undefined) : session.token
  /** What an attempt sends as its credential; a string says why it was not sent. */
  const credentialFor = (attempt: Attempt, real: Secret | undefined): Value | null | { readonly skipped: string } => {
    const now = Math.floor(Date.now() / 1000)
    const realJwt = real !== undefined && isJwt(real.reveal())
    const base = (realJwt ? claimsOf(real.reveal()) : undefined) ?? { sub: "shiftup-probe", iat: now }
    switch (attempt) {
      case "anonymous":
        return null
      case "unknown-token":
        return lookalike(real?.reveal())
      case "expired-token":
        if (expiredToken !== undefined) return expiredToken
        return jwtKey === undefined ? { skipped: "not tried: no expiredToken or jwtKey" } : secret(signJwt({ ...base, iat: now - 7200, exp: now - 3600 }, jwtKey.reveal()))
      case "forged-jwt":
      case "alg-none-jwt":
        if (jwt === undefined && !realJwt) return { skipped: "not tried: the session's token is not a JWT" }
        return signJwt({ ...base, exp: now + 600 }, attempt === "forged-jwt" ? randomBytes(32).toString("hex") : null)
      case "replayed-token":
        return real ?? { skipped: "not tried: no session token" }
    }
  }
  return made.map((attempt) => {
    const probe = Probe.make<number | string>({
      id: `${target.id} ${at} with ${attempts[attempt]}`,
      target,
      observe: Effect.gen(function* () {
        const sent = credentialFor(attempt, yield* genuine)
        if (sent !== null && typeof sent === "object" && "skipped" in sent) return sent.skipped
        const secrets = [...(isSecret(sent) ? [sent] : []), ...(token === undefined ? [] : [token])]
        const answer = yield* request(target, { path, method, headers: { ...headers, ...(sent === null ? {} : carry(credential, sent)) }, secrets }, `${target.id} ${at} (${attempt})`)
        return answer.status
      }),
    })
    return Expect.during(
      probe,
      Expect.predicate("never 2xx", (s: number | string) => typeof s !== "number" || !allowed(s)),
      {
        severity: r.severity,
        cwe: r.cwe,
        remediation: r.remediation,
        id: `${id ?? `${target.id} ${path} fails closed under fault`}: ${attempt}`,
        title: `${title ?? `${path} fails closed under fault (${target.id})`}: ${attempts[attempt]}`,
        ...during,
      },
    )
  })
}
