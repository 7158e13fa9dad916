/**
 * `shiftup/http`: security probes and detection checks over an undici client the run owns.
 * Every request carries the run id, is checked against the egress allowlist after DNS
 * resolution, is paced by the budget's probe rate and has a precise deadline; secrets given to
 * probes are redacted from everything they return.
 *
 * @example
 * import * as Http from "shiftup/http"
 * const api = Http.target("api", { url: "https://127.0.0.1:8443", environment: "staging", tls: { ca } })
 * hypothesis: [...Http.Findings.expectNoneOf(Http.Headers.probe(api, "/"), Http.Headers.ruleIds)]
 */
import "../../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails
export { burst, closeRun, egressConnector, HttpClient, json, paced, request, runOwned, target } from "./Client.ts"
export type { Exchange, HttpClientService, Request, SecurityTarget, TargetOptions, TlsSettings } from "./Client.ts"
export { isSecret, redact, redactText, secret, type Secret, type Value } from "../Secret.ts"
export * as Auth from "./Auth.ts"
export * as Cors from "./Cors.ts"
export * as Detect from "./Detect.ts"
export * as Exposure from "./Exposure.ts"
export * as Findings from "./Findings.ts"
export * as Fuzz from "./Fuzz.ts"
export * as Headers from "./Headers.ts"
export * as Leakage from "./Leakage.ts"
export * as Ports from "./Ports.ts"
export * as RateLimit from "./RateLimit.ts"
export * as Redirect from "./Redirect.ts"
export * as Tls from "./Tls.ts"
