/**
 * HTTP targets of the core: an endpoint given by URL. Its host name and port are the facts the
 * policy classifies (a `prod` host or a Postgres port is recognised even without labels).
 */
import type { TlsSettings } from "./internal/http.ts"
import type { Value } from "./Secret.ts"
import { fail, InvalidExperiment } from "./ShiftupError.ts"
import * as Target from "./Target.ts"

export interface HttpTarget extends Target.Target {
  readonly url: string
  /** TLS settings every request to this target uses (probes, switch faults, compensations). */
  readonly tls?: TlsSettings
  /** Headers every request to this target carries, under the request's own (an API key: a Secret). */
  readonly headers?: Readonly<Record<string, Value>>
  /** Default deadline of a request to this target, in ms (default 5 s; a probe's own wins). */
  readonly timeoutMs?: number
}

export interface HttpTargetOptions extends Omit<Target.TargetOptions, "kind" | "facts" | "resolve"> {
  readonly url: string
  /**
   * Other addresses of the same service — a control port, a lab's fault switch — as URLs or
   * `host:port`. A fault on this target may contact only the target's own addresses (and only
   * inside the egress allowlist); each is classified with the target.
   */
  readonly endpoints?: ReadonlyArray<string>
  readonly tls?: TlsSettings
  readonly headers?: Readonly<Record<string, Value>>
  readonly timeoutMs?: number
  /** Extra facts (labels, env, image) an inventory knows about the service behind the URL. */
  readonly facts?: Omit<Target.Facts, "id" | "hostnames" | "ports">
}

/**
 * @example
 * const api = Http.target("api", { url: "http://127.0.0.1:8080", environment: "staging" })
 */
export const target = (id: string, options: HttpTargetOptions): HttpTarget => {
  const url = URL.parse(options.url)
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:"))
    throw fail(new InvalidExperiment({ source: `target "${id}"`, issues: [{ path: "url", message: `"${options.url}" is not an http:// or https:// URL` }] }))
  const own: Target.Endpoint = { host: bare(url.hostname), port: Number(url.port || (url.protocol === "https:" ? 443 : 80)), protocol: url.protocol === "https:" ? "https" : "http" }
  const others = (options.endpoints ?? []).map((e, i) => endpointOf(e, `endpoints[${i}]`, id))
  const endpoints = [own, ...others]
  const { url: _url, facts, endpoints: _endpoints, tls, headers, timeoutMs, ...rest } = options
  return {
    ...Target.make(id, { ...rest, kind: "http", facts: { ...facts, id: url.origin, hostnames: [...new Set(endpoints.map((e) => e.host))], ports: [...new Set(endpoints.map((e) => e.port))], endpoints } }),
    url: url.toString(),
    ...(tls === undefined ? {} : { tls }),
    ...(headers === undefined ? {} : { headers }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  }
}

const bare = (host: string) => host.replace(/^\[|\]$/g, "")

const endpointOf = (text: string, path: string, id: string): Target.Endpoint => {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? URL.parse(text) : URL.parse(`tcp://${text}`)
  const port = url === null ? NaN : Number(url.port || (url.protocol === "https:" ? 443 : url.protocol === "http:" ? 80 : NaN))
  if (url === null || !["http:", "https:", "tcp:"].includes(url.protocol) || !(port > 0 && port < 65536))
    throw fail(new InvalidExperiment({ source: `target "${id}"`, issues: [{ path, message: `"${text}" is not an http(s) URL or host:port` }] }))
  return { host: bare(url.hostname), port, protocol: url.protocol === "https:" ? "https" : url.protocol === "http:" ? "http" : "tcp" }
}

export type { TlsSettings } from "./internal/http.ts"
export { isSecret, secret, type Secret, type Value } from "./Secret.ts"
