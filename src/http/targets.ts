/**
 * HTTP targets: the core's `Http.target` is the one HTTP target of shiftup — an endpoint given by
 * URL, whose host name and port are the facts the policy classifies, and whose URL (and any other
 * `endpoints`, a control port, say) planning may fingerprint and egress-check. `shiftup/http`
 * re-exports it, with the names earlier code used.
 */
import * as Http from "../Http.ts"

/** The one HTTP target of shiftup (`Http.target` of the core): this name is kept for existing code. */
export type SecurityTarget = Http.HttpTarget
export type TargetOptions = Http.HttpTargetOptions

/**
 * An HTTP(S) target: the core's `Http.target`, the same object every probe, fault and
 * compensation honours (TLS, client certificates, SNI, default headers and timeout).
 *
 * @example
 * const api = Http.target("api", { url: "https://127.0.0.1:8443", environment: "staging", tls: { ca: labCa } })
 */
export const target = Http.target
