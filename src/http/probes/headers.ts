/**
 * Security headers and cookie attributes of one response: HSTS (over TLS), CSP,
 * X-Content-Type-Options, framing (CSP frame-ancestors or X-Frame-Options), Referrer-Policy, and
 * each cookie's Secure / HttpOnly / SameSite.
 */
import { Effect } from "effect"
import * as Probe from "../../Probe.ts"
import { request } from "../client.ts"
import type { SecurityTarget } from "../targets.ts"
import { finding, type Report, type SecurityFinding } from "../findings.ts"
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

/** Pure: the findings of one response (exported for unit tests and custom probes). */
export const evaluate = (o: HeadersObservation): ReadonlyArray<SecurityFinding> => {
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
  return out
}

export interface HeadersOptions {
  readonly method?: string
  /** Credentials, e.g. to see the cookies a logged-in page sets. */
  readonly headers?: Readonly<Record<string, Value>>
  readonly id?: string
}

/** GETs `path` and reports missing or weak security headers and cookie attributes. */
export const probe = (target: SecurityTarget, path = "/", options: HeadersOptions = {}): Probe.Probe<Report<HeadersObservation>> =>
  Probe.make({
    id: options.id ?? `${target.id} headers ${path}`,
    target,
    observe: Effect.map(request(target, { path, method: options.method ?? "GET", ...(options.headers === undefined ? {} : { headers: options.headers }) }), (r) => {
      const headers: Record<string, string> = {}
      for (const k of watched) if (r.headers[k] !== undefined) headers[k] = r.headers[k]
      const observation: HeadersObservation = { status: r.status, tls: r.url.startsWith("https:"), headers, cookies: r.cookies.map(parseCookie) }
      return { observation, findings: evaluate(observation) }
    }),
  })

export const ruleIds = [
  "headers.hsts-missing",
  "headers.csp-missing",
  "headers.nosniff-missing",
  "headers.framing-allowed",
  "headers.referrer-policy-missing",
  "cookies.secure-missing",
  "cookies.httponly-missing",
  "cookies.samesite-missing",
] as const
