/**
 * Information leakage: version banners (in headers, and in the body of error pages: nginx
 * prints its version under every default error page while `server_tokens` is on), stack traces
 * in error responses, an exposed `/.git/` or `/.env`, directory listings. The evidence of an
 * exposed `.env` names its keys only, never their values.
 */
import { Effect } from "effect"
import * as Probe from "../../Probe.ts"
import { paced, request, type Exchange } from "../client.ts"
import type { SecurityTarget } from "../targets.ts"
import { finding, type Report, type SecurityFinding } from "../findings.ts"

export interface LeakageOptions {
  /** Paths whose error answers are checked for stack traces; default a malformed path. */
  readonly errorPaths?: ReadonlyArray<string>
  /** Paths checked for directory listings; default `/`. */
  readonly listingPaths?: ReadonlyArray<string>
  readonly id?: string
}

export interface LeakageObservation {
  readonly banner: { readonly server: string | null; readonly poweredBy: string | null }
  readonly statuses: Readonly<Record<string, number>>
}

const versioned = /\d+\.\d+/

const stackPatterns: ReadonlyArray<RegExp> = [
  /\n\s+at [\w.<>$]+ \(.*:\d+:\d+\)/, // Node.js / V8
  /\n\s+at (?:node:|file:\/\/|\/)[^\n]*:\d+:\d+/,
  /Traceback \(most recent call last\)/, // Python
  /\n\s+at [\w.$]+\([\w]+\.java:\d+\)/, // Java
  /Exception in thread "/,
  /(?:Fatal error|Warning): .* in \/.* on line \d+/, // PHP
  /\.rb:\d+:in `/, // Ruby
  /goroutine \d+ \[running\]/, // Go
]

/** Server software and its version in a page body, e.g. nginx's `<center>nginx/1.22.1</center>`. */
export const versionInBody =
  /\b(nginx|openresty|Tengine|Apache(?:-Coyote| Tomcat)?|Microsoft-IIS|lighttpd|Jetty|Caddy|LiteSpeed|Werkzeug|gunicorn|uvicorn|Kestrel|WildFly|JBoss|PHP|OpenSSL|Express|Phusion Passenger|Varnish|Envoy|Cowboy|Node\.js)\/(\d+(?:\.\d+)+)/

const listing = /<title>\s*(?:Index of|Directory listing for) \/|<h1>\s*(?:Index of|Directory listing for) \//i

const ok = (r: Exchange) => r.status >= 200 && r.status < 300

/** Keys of KEY=VALUE lines: evidence that never carries the values. */
const envKeys = (body: string): ReadonlyArray<string> => [...body.matchAll(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/gm)].map((m) => m[1] ?? "")

export const probe = (target: SecurityTarget, options: LeakageOptions = {}): Probe.Probe<Report<LeakageObservation>> =>
  Probe.make({
    id: options.id ?? `${target.id} leakage`,
    target,
    observe: Effect.gen(function* () {
      const findings: Array<SecurityFinding> = []
      const statuses: Record<string, number> = {}
      const get = (path: string, first = false) => Effect.tap(first ? request(target, { path }) : paced(target, request(target, { path })), (r) => Effect.sync(() => void (statuses[path] = r.status)))
      const root = yield* get("/", true)
      const server = root.headers["server"] ?? null
      const poweredBy = root.headers["x-powered-by"] ?? null
      const banners = [server === null ? "" : `Server: ${server}`, poweredBy === null ? "" : `X-Powered-By: ${poweredBy}`, root.headers["x-aspnet-version"] === undefined ? "" : `X-AspNet-Version: ${root.headers["x-aspnet-version"]}`].filter((s) => s !== "")
      if ((server !== null && versioned.test(server)) || poweredBy !== null || root.headers["x-aspnet-version"] !== undefined) findings.push(finding("leak.version-banner", banners.join("; ")))
      for (const path of options.errorPaths ?? ["/shiftup-probe/%E0%A4%A", "/shiftup-probe/?id[]=%00'\""]) {
        const r = yield* get(path)
        const version = versionInBody.exec(r.body)
        if (version !== null && !findings.some((f) => f.id === "leak.version-error-page")) findings.push(finding("leak.version-error-page", `${path} answered ${r.status} with a page naming ${version[0]}`))
        const hit = stackPatterns.find((re) => re.test(r.body))
        if (hit !== undefined) {
          const at = r.body.search(hit)
          findings.push(finding("leak.stack-trace", `${path} answered ${r.status} with: ${r.body.slice(Math.max(0, at - 80), at + 160).trim()}`))
        }
      }
      const head = yield* get("/.git/HEAD")
      const config = yield* get("/.git/config")
      if ((ok(head) && /^(ref: refs\/|[0-9a-f]{40})/.test(head.body.trim())) || (ok(config) && /\[core\]/.test(config.body)))
        findings.push(finding("leak.git-exposed", ok(head) ? `/.git/HEAD answered ${head.status}: ${head.body.trim().slice(0, 60)}` : `/.git/config answered ${config.status}`))
      const env = yield* get("/.env")
      const keys = ok(env) && !/<html/i.test(env.body) ? envKeys(env.body) : []
      if (keys.length > 0) findings.push(finding("leak.env-exposed", `/.env answered ${env.status} with keys ${keys.slice(0, 10).join(", ")} (values not recorded)`))
      for (const path of options.listingPaths ?? ["/"]) {
        const r = path === "/" ? root : yield* get(path)
        if (ok(r) && listing.test(r.body)) findings.push(finding("leak.directory-listing", `${path} answered ${r.status} with a directory index`))
      }
      return { observation: { banner: { server, poweredBy }, statuses }, findings }
    }),
  })

export const ruleIds = ["leak.version-banner", "leak.version-error-page", "leak.stack-trace", "leak.git-exposed", "leak.env-exposed", "leak.directory-listing"] as const
