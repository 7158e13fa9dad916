/**
 * CORS: does the service let an arbitrary origin read responses with the user's credentials?
 * The probe sends an `Origin` no one trusts and reads the answer's CORS headers.
 */
import { Effect } from "effect"
import * as Probe from "../../Probe.ts"
import { request } from "../client.ts"
import type { SecurityTarget } from "../targets.ts"
import { finding, type Report, type SecurityFinding } from "../findings.ts"
import type { Value } from "../../Secret.ts"

export interface CorsObservation {
  readonly origin: string
  readonly allowOrigin: string | null
  readonly allowCredentials: boolean
}

export interface CorsOptions {
  /** The untrusted origin sent; default `https://shiftup-probe.invalid`. */
  readonly origin?: string
  readonly headers?: Readonly<Record<string, Value>>
  readonly id?: string
}

export const evaluate = (o: CorsObservation): ReadonlyArray<SecurityFinding> => {
  const out: Array<SecurityFinding> = []
  const creds = o.allowCredentials ? " with Access-Control-Allow-Credentials: true" : ""
  if (o.allowOrigin === "*" && o.allowCredentials) out.push(finding("cors.wildcard-credentials", `Access-Control-Allow-Origin: *${creds}`))
  if (o.allowOrigin !== null && o.allowOrigin !== "*" && o.allowOrigin.toLowerCase() === o.origin.toLowerCase())
    out.push(finding("cors.reflected-origin", `Origin ${o.origin} was echoed in Access-Control-Allow-Origin${creds}`))
  return out
}

export const probe = (target: SecurityTarget, path = "/", options: CorsOptions = {}): Probe.Probe<Report<CorsObservation>> => {
  const origin = options.origin ?? "https://shiftup-probe.invalid"
  return Probe.make({
    id: options.id ?? `${target.id} cors ${path}`,
    target,
    observe: Effect.map(request(target, { path, headers: { ...options.headers, origin } }), (r) => {
      const observation = { origin, allowOrigin: r.headers["access-control-allow-origin"] ?? null, allowCredentials: (r.headers["access-control-allow-credentials"] ?? "").trim().toLowerCase() === "true" }
      return { observation, findings: evaluate(observation) }
    }),
  })
}

export const ruleIds = ["cors.wildcard-credentials", "cors.reflected-origin"] as const
