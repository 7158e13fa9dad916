/**
 * Security headers and cookie attributes of one response: HSTS (over TLS), CSP,
 * X-Content-Type-Options, framing (CSP frame-ancestors or X-Frame-Options), Referrer-Policy, and
 * each cookie's Secure / HttpOnly / SameSite — plus every header the environment profile in
 * force requires (healthcare: Cache-Control…), with the profile's severities.
 */
import { Effect } from "effect"
import * as Probe from "../../Probe.ts"
import { request } from "../client.ts"
import type { SecurityTarget } from "../targets.ts"
import { finding, underProfile, type Report, type SecurityFinding } from "../findings.ts"
import type { Profile } from "../../misconfig/profiles.ts"
import { given, inForce, type ProfileChoice } from "../profile.ts"
import type { Value } from "../../Secret.ts"

export interface HeadersObservation {
  readonly status: number
  readonly tls: boolean
  readonly headers: Readonly<Record<string, string>>
  readonly cookies: ReadonlyArray<{ readonly name: string; readonly secure: boolean; readonly httpOnly: boolean; readonly sameSite: string | null }>
}

const watched = ["strict-transport-security", "content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy"]

/** HSTS shorter than this (180 days) counts as missing. */
export const minHstsSeconds = 15_552_000

const safeReferrer = new Set(["no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin", "origin", "origin-when-cross-origin"])

const parseCookie = (line: string) => {
  const [pair = "", ...attrs] = line.split(";").map((s) => s.trim())
  const name = pair.split("=")[0] ?? ""
  const has = (a: string) => attrs.some((x) => x.toLowerCase() === a || x.toLowerCase().startsWith(`${a}=`))
  const sameSite = attrs.find((x) => x.toLowerCase().startsWith("samesite="))?.split("=")[1] ?? null
  return { name, secure: has("secure"), httpOnly: has("httponly"), sameSite }
}

/**
 * The required headers a rule of this probe already judges (by value, not only presence): a
 * profile requiring one of them adds no second finding. HSTS counts over TLS only (browsers
 * ignore it on plain HTTP; `transport.no-https-redirect` covers that).
 */
const judged: ReadonlySet<string> = new Set(watched)

/**
 * Pure: the findings of one response (exported for unit tests and custom probes). With a
 * `profile`, every header it requires that no rule above judges and the response lacks is a
 * `headers.required-missing`, and the profile's severities apply.
 */
export const evaluate = (o: HeadersObservation, profile?: Profile): ReadonlyArray<SecurityFinding> => {
  const h = o.headers
  const out: Array<SecurityFinding> = []
  if (o.tls) {
    const hsts = h["strict-transport-security"]
    const age = Number(/max-age\s*=\s*"?(\d+)/i.exec(hsts ?? "")?.[1] ?? Number.NaN)
    if (hsts === undefined) out.push(finding("headers.hsts-missing", "no Strict-Transport-Security header"))
    else if (!(age >= minHstsSeconds)) out.push(finding("headers.hsts-missing", `Strict-Transport-Security: ${hsts} (max-age below ${minHstsSeconds})`))
  }
  const csp = h["content-security-policy"]
  if (csp === undefined) out.push(finding("headers.csp-missing", "no Content-Security-Policy header"))
  if ((h["x-content-type-options"] ?? "").toLowerCase().trim() !== "nosniff") out.push(finding("headers.nosniff-missing", `X-Content-Type-Options: ${h["x-content-type-options"] ?? "(absent)"}`))
  const xfo = (h["x-frame-options"] ?? "").toUpperCase().trim()
  if (!/frame-ancestors/i.test(csp ?? "") && xfo !== "DENY" && xfo !== "SAMEORIGIN") out.push(finding("headers.framing-allowed", `no CSP frame-ancestors; X-Frame-Options: ${h["x-frame-options"] ?? "(absent)"}`))
  const referrer = (h["referrer-policy"] ?? "").toLowerCase().split(",").map((s) => s.trim()).filter((s) => s !== "").at(-1)
  if (referrer === undefined || !safeReferrer.has(referrer)) out.push(finding("headers.referrer-policy-missing", `Referrer-Policy: ${h["referrer-policy"] ?? "(absent)"}`))
  for (const c of o.cookies) {
    if (!c.secure) out.push(finding("cookies.secure-missing", `cookie ${c.name} has no Secure attribute`))
    if (!c.httpOnly) out.push(finding("cookies.httponly-missing", `cookie ${c.name} has no HttpOnly attribute`))
    if (c.sameSite === null) out.push(finding("cookies.samesite-missing", `cookie ${c.name} has no SameSite attribute`))
    else if (c.sameSite.toLowerCase() === "none" && !c.secure) out.push(finding("cookies.samesite-missing", `cookie ${c.name} has SameSite=None without Secure`))
  }
  if (profile === undefined) return out
  for (const name of profile.requiredHeaders)
    if (!judged.has(name) && h[name] === undefined) out.push(finding("headers.required-missing", `no ${name} header (profile ${profile.name} requires it)`))
  return underProfile(out, profile)
}

export interface HeadersOptions {
  readonly method?: string
  /** Credentials, e.g. to see the cookies a logged-in page sets. */
  readonly headers?: Readonly<Record<string, Value>>
  readonly id?: string
  /**
   * The environment profile to judge under (its required headers and severities): a built-in
   * one's name or a resolved profile. Default: the profile the run put in force for the target
   * (the plan shows it), or `web` outside a run.
   */
  readonly profile?: ProfileChoice
}

/** GETs `path` and reports missing or weak security headers and cookie attributes. */
export const probe = (target: SecurityTarget, path = "/", options: HeadersOptions = {}): Probe.Probe<Report<HeadersObservation>> => {
  const pinned = given(options.profile)
  return Probe.make({
    id: options.id ?? `${target.id} headers ${path}`,
    target,
    observe: Effect.gen(function* () {
      const profile = yield* inForce(target.id, pinned)
      const r = yield* request(target, { path, method: options.method ?? "GET", ...(options.headers === undefined ? {} : { headers: options.headers }) })
      const headers: Record<string, string> = {}
      for (const k of new Set([...watched, ...profile.requiredHeaders])) if (r.headers[k] !== undefined) headers[k] = r.headers[k]
      const observation: HeadersObservation = { status: r.status, tls: r.url.startsWith("https:"), headers, cookies: r.cookies.map(parseCookie) }
      return { observation, findings: evaluate(observation, profile) }
    }),
  })
}

export const ruleIds = [
  "headers.hsts-missing",
  "headers.csp-missing",
  "headers.nosniff-missing",
  "headers.framing-allowed",
  "headers.referrer-policy-missing",
  "headers.required-missing",
  "cookies.secure-missing",
  "cookies.httponly-missing",
  "cookies.samesite-missing",
] as const
