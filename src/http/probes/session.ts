/**
 * Credentials of a logged-in user, for the auth probes: where a token travels (a header with a
 * scheme, or a cookie), and a login the run owns. `Auth.session` is a resource: after the plan is
 * accepted — before the steady state, so before any fault — it logs in and, given a logout
 * request, logs out again at once, leaving a token the service has revoked; `Auth.failsClosed`
 * replays it while the faults are active, and copies its shape and (for a JWT) its claims into
 * the tokens it forges. The token is a Secret, kept per run, and never reaches the journal.
 */
import { Effect } from "effect"
import type { HttpTarget } from "../../Http.ts"
import { resourceOf, sealResource } from "../../internal/capability.ts"
import * as Resource from "../../Resource.ts"
import { RunContext } from "../../RunContext.ts"
import { secret, type Secret, type Value } from "../../Secret.ts"
import { fail, InjectionFailed, ProbeFailed, type ShiftupError } from "../../ShiftupError.ts"
import { paced, request, type Exchange, type Request } from "../client.ts"

/** Where a credential travels: a header (default `Authorization`, scheme `Bearer`), or a cookie. */
export type Credential = { readonly header?: string; readonly scheme?: string } | { readonly cookie: string }

/** `Authorization: Bearer <token>`. */
export const bearer: Credential = { header: "authorization", scheme: "Bearer" }

/**
 * The headers that carry `token` as `credential` says. A secret token gives secret headers; pass
 * the token itself in the request's `secrets` too, so an answer echoing the bare token is redacted.
 */
export const carry = (credential: Credential, token: Value): Readonly<Record<string, Value>> => {
  const wrap = (f: (t: string) => string): Value => (typeof token === "string" ? f(token) : secret(f(token.reveal())))
  if ("cookie" in credential) return { cookie: wrap((t) => `${credential.cookie}=${t}`) }
  const header = credential.header ?? "authorization"
  const scheme = credential.scheme ?? (header.toLowerCase() === "authorization" ? "Bearer" : "")
  return { [header]: wrap((t) => (scheme === "" ? t : `${scheme} ${t}`)) }
}

const tokenFields = ["token", "access_token", "accessToken", "jwt", "id_token", "idToken", "session", "sessionId", "sid"]

/**
 * The token a login answer carries: the cookie `credential` names; else the first of the JSON
 * fields `token`, `access_token`, `accessToken`, `jwt`, `id_token`, `idToken`, `session`,
 * `sessionId`, `sid` holding a string (read from the text: an answer that echoed a secret is
 * redacted, and may no longer parse); else the first cookie set.
 */
export const readToken = (credential: Credential, answer: Exchange): string | undefined => {
  const cookieValue = (line: string) => /^[^=;]+=([^;]*)/.exec(line.trim())?.[1]
  if ("cookie" in credential) {
    const line = answer.cookies.find((c) => c.trim().startsWith(`${credential.cookie}=`))
    return line === undefined ? undefined : cookieValue(line)
  }
  for (const f of tokenFields) {
    const v = new RegExp(`"${f}"\\s*:\\s*"([^"\\\\]+)"`).exec(answer.body)?.[1]
    if (v !== undefined) return v
  }
  const first = answer.cookies[0]
  return first === undefined ? undefined : cookieValue(first)
}

export interface SessionOptions {
  /** How to log in: a request (e.g. `{ method: "POST", path: "/login", ...Http.json({ user, password }) }`). */
  readonly login: Request
  /**
   * How to log out: a request sent with the session's credential, after which the service must
   * refuse the token (it becomes the token `Auth.failsClosed` replays). Without it, no replay.
   */
  readonly logout?: Request
  /** Where the token travels (and, for a cookie, where the login sets it); default `Authorization: Bearer`. */
  readonly credential?: Credential
  /** Reads the token from the login answer, when `readToken`'s guesses do not fit. */
  readonly read?: (answer: Exchange) => string | undefined
  readonly id?: string
}

/** A run-owned login: declare it in the experiment's `resources`. */
export interface Session extends Resource.Resource<string> {
  readonly target: HttpTarget
  readonly credential: Credential
  /** Whether the token is logged out before the method (a `logout` was given). */
  readonly revoked: boolean
  /** This run's token, inside a probe; fails when the session is not among the run's resources. */
  readonly token: Effect.Effect<Secret, ShiftupError>
}

const accepted = (status: number) => status >= 200 && status < 400

/**
 * A login (and logout) of `target` the run owns.
 *
 * @example
 * const password = Http.secret(process.env["PASSWORD"] ?? "")
 * const alice = Http.Auth.session(api, {
 *   login: { method: "POST", path: "/login", ...Http.json({ user: "alice", password }) },
 *   logout: { method: "POST", path: "/logout" },
 *   credential: { cookie: "sid" },
 * })
 * Experiment.make({ …, resources: { alice }, method: [redisDown, ...Http.Auth.failsClosed(api, "/admin", { session: alice })] })
 */
export const session = (target: HttpTarget, options: SessionOptions): Session => {
  const id = options.id ?? `${target.id} session`
  const credential = options.credential ?? bearer
  // Per run: two runs of one experiment in one process each log in for themselves.
  const tokens = new Map<string, Secret>()
  const refused = (what: string, detail: string) => fail(new InjectionFailed({ fault: `resource ${id}`, target: target.id, detail: `${what}: ${detail}` }))
  const acquire = Effect.gen(function* () {
    const run = yield* RunContext
    const login = yield* paced(target, request(target, options.login, `${id}: login`))
    const where = `${login.method} ${login.url}`
    if (!accepted(login.status)) return yield* Effect.fail(refused("the login was refused", `${where} answered ${login.status}; check the credentials in \`login\``))
    const token = (options.read ?? ((a: Exchange) => readToken(credential, a)))(login)
    if (token === undefined || token === "")
      return yield* Effect.fail(refused("the login answer carried no token", `${where} answered ${login.status} with no ${"cookie" in credential ? `cookie ${credential.cookie}` : "token field or cookie"}; set \`credential\` or \`read\``))
    const t = secret(token)
    if (options.logout !== undefined) {
      const logout = yield* paced(target, request(target, { ...options.logout, headers: { ...options.logout.headers, ...carry(credential, t) }, secrets: [...(options.logout.secrets ?? []), t] }, `${id}: logout`))
      if (!accepted(logout.status))
        return yield* Effect.fail(refused("the logout was refused", `${logout.method} ${logout.url} answered ${logout.status}: the token may still be valid, and replaying it would be a false finding`))
    }
    tokens.set(run.runId, t)
    return run.runId
  })
  const resource = Resource.make<string>({ id, title: `a login to ${target.id}${options.logout === undefined ? "" : ", logged out again"}`, target, acquire, release: (runId) => void tokens.delete(runId) })
  const token = Effect.flatMap(RunContext, (run) => {
    const t = tokens.get(run.runId)
    return t === undefined ? Effect.fail(fail(new ProbeFailed({ probe: id, target: target.id, detail: "no login for this run: declare the session in the experiment's `resources`" }))) : Effect.succeed(t)
  })
  // The resource, with the session's own fields, sealed with the same capability.
  return sealResource<Session>({ ...resource, target, credential, revoked: options.logout !== undefined, token }, resourceOf(resource))
}
