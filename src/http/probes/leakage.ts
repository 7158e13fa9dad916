/**
 * Information leakage: version banners (in headers, and in the body of error pages: nginx
 * prints its version under every default error page while `server_tokens` is on), stack traces
 * in error responses, an exposed `/.git/` or `/.env`, directory listings, and the data the
 * environment profile forbids to expose (card numbers with a valid Luhn checksum, record
 * numbers, dates of birth, national ids…) in any body it reads. The evidence of an exposed
 * `.env` names its keys only, never their values; sensitive data is quoted masked.
 */
import { Effect } from "effect"
import * as Probe from "../../Probe.ts"
import { paced, request, type Exchange } from "../client.ts"
import type { SecurityTarget } from "../targets.ts"
import { finding, underProfile, type Report, type SecurityFinding } from "../findings.ts"
import { findLeaks, maskLeaks } from "../../misconfig/leakage.ts"
import { given, inForce, type ProfileChoice } from "../profile.ts"

export interface LeakageOptions {
  /** Paths whose error answers are checked for stack traces; default a malformed path. */
  readonly errorPaths?: ReadonlyArray<string>
  /** Paths checked for directory listings; default `/`. */
  readonly listingPaths?: ReadonlyArray<string>
  /** Paths whose bodies are scanned for the profile's leakage patterns (with every other body read); default `/`. */
  readonly dataPaths?: ReadonlyArray<string>
  /**
   * The environment profile to judge under (its leakage patterns and severities): a built-in
   * one's name or a resolved profile. Default: the profile the run put in force for the target
   * (the plan shows it), or `web` outside a run.
   */
  readonly profile?: ProfileChoice
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

export const probe = (target: SecurityTarget, options: LeakageOptions = {}): Probe.Probe<Report<LeakageObservation>> => {
  const pinned = given(options.profile)
  return Probe.make({
    id: options.id ?? `${target.id} leakage`,
    target,
    observe: Effect.gen(function* () {
      const profile = yield* inForce(target.id, pinned)
      const findings: Array<SecurityFinding> = []
      const statuses: Record<string, number> = {}
      const bodies = new Map<string, Exchange>()
      const get = (path: string, first = false) =>
        Effect.tap(first ? request(target, { path }) : paced(target, request(target, { path })), (r) =>
          Effect.sync(() => {
            statuses[path] = r.status
            bodies.set(path, r)
          }),
        )
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
          findings.push(finding("leak.stack-trace", `${path} answered ${r.status} with: ${maskLeaks(r.body.slice(Math.max(0, at - 80), at + 160).trim(), profile.leakage)}`))
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
      for (const path of options.dataPaths ?? ["/"]) if (!bodies.has(path)) yield* get(path)
      // Every body read, once per path and pattern; a .env body is left to leak.env-exposed (its values are never quoted).
      for (const [path, r] of bodies) {
        if (path === "/.env") continue
        const leaks = findLeaks(r.body, profile.leakage)
        for (const pattern of new Set(leaks.map((l) => l.pattern))) {
          const masked = leaks.filter((l) => l.pattern === pattern).map((l) => l.masked)
          findings.push(finding("leak.sensitive-data", `${path} answered ${r.status} with ${masked.length} ${pattern} match(es) (profile ${profile.name}): ${masked.slice(0, 3).join(", ")}`))
        }
      }
      return { observation: { banner: { server, poweredBy }, statuses }, findings: underProfile(findings, profile) }
    }),
  })
}

export const ruleIds = ["leak.sensitive-data", "leak.version-banner", "leak.version-error-page", "leak.stack-trace", "leak.git-exposed", "leak.env-exposed", "leak.directory-listing"] as const
