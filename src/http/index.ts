/**
 * `shiftup/http`: security probes and detection checks over an undici client the run owns.
 * Every request carries the run id, is checked against the egress allowlist after DNS
 * resolution, is paced by the budget's probe rate and has a precise deadline; secrets given to
 * probes are redacted from everything they return. The folder follows the adapter shape of
 * docs/adapters.md: `targets.ts`, `probes/`, `compensators.ts` and `reaper.ts` (both empty); its
 * one fault, the HTTP switch, is the core's `Fault.httpSwitch` (kind `http.request`, built in).
 *
 * @example
 * import * as Http from "shiftup/http"
 * const api = Http.target("api", { url: "https://127.0.0.1:8443", environment: "staging", tls: { ca } })
 * hypothesis: [...Http.Findings.expectNoneOf(Http.Headers.probe(api, "/"), Http.Headers.ruleIds)]
 */
import "../../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails
export { burst, closeRun, egressConnector, HttpClient, json, paced, request, runOwned } from "./client.ts"
export type { Exchange, HttpClientService, Request, TlsSettings } from "./client.ts"
export { target, type SecurityTarget, type TargetOptions } from "./targets.ts"
export type { ProfileChoice } from "./profile.ts"
export { isSecret, redact, redactText, secret, type Secret, type Value } from "../Secret.ts"
export * as Auth from "./probes/auth.ts"
export * as Cors from "./probes/cors.ts"
export * as Detect from "./probes/detect.ts"
export * as Exposure from "./probes/exposure.ts"
export * as Findings from "./findings.ts"
export * as Fuzz from "./probes/fuzz.ts"
export * as Headers from "./probes/headers.ts"
export * as Leakage from "./probes/leakage.ts"
export * as Ports from "./probes/ports.ts"
export * as RateLimit from "./probes/rate-limit.ts"
export * as Redirect from "./probes/redirect.ts"
export * as Tls from "./probes/tls.ts"
