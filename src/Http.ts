/**
 * HTTP targets of the core: an endpoint given by URL. Its host name and port are the facts the
 * policy classifies (a `prod` host or a Postgres port is recognised even without labels).
 */
import * as Target from "./Target.ts"

export interface HttpTarget extends Target.Target {
  readonly url: string
}

export interface HttpTargetOptions extends Omit<Target.TargetOptions, "kind" | "facts" | "resolve"> {
  readonly url: string
  /** Extra facts (labels, env, image) an inventory knows about the service behind the URL. */
  readonly facts?: Omit<Target.Facts, "id" | "hostnames" | "ports">
}

/**
 * @example
 * const api = Http.target("api", { url: "http://127.0.0.1:8080", environment: "staging" })
 */
export const target = (id: string, options: HttpTargetOptions): HttpTarget => {
  const url = new URL(options.url)
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80))
  const { url: _url, facts, ...rest } = options
  return {
    ...Target.make(id, { ...rest, kind: "http", facts: { ...facts, id: url.origin, hostnames: [url.hostname], ports: [port] } }),
    url: url.toString(),
  }
}
