/**
 * Exposed status, admin and debug pages: nginx's `stub_status`, Apache's `server-status` and
 * `server-info`, Spring Boot actuators, Prometheus metrics, Go's pprof and expvar, phpinfo. A
 * page counts when it answers 2xx with a body that looks like it (its signature), so an app that
 * answers 200 to every path (a single-page app's fallback) is not a finding; such answers are
 * listed in the observation. Every page is asked with GET, one at a time and paced; pages that
 * cost the server to produce (a heap dump, a CPU profile) are never asked for.
 */
import { Effect } from "effect"
import * as Probe from "../../Probe.ts"
import { paced, request } from "../client.ts"
import type { SecurityTarget } from "../targets.ts"
import { finding, type Report, type SecurityFinding } from "../findings.ts"

export interface Page {
  readonly path: string
  /** What it is, for the evidence. */
  readonly what: string
  /** What its body looks like; omitted: any 2xx answer counts. */
  readonly signature?: RegExp
}

const stubStatus = /Active connections:\s*\d+/
const apacheStatus = /Apache Server Status|Server uptime:|Total Accesses:/
const phpFpm = /^pool:\s+\S+[\s\S]*process manager:/m

/** The pages asked for by default. */
export const defaultPages: ReadonlyArray<Page> = [
  { path: "/nginx_status", what: "nginx stub_status", signature: stubStatus },
  { path: "/stub_status", what: "nginx stub_status", signature: stubStatus },
  { path: "/status", what: "a server status page", signature: new RegExp(`${stubStatus.source}|${apacheStatus.source}|${phpFpm.source}`, "m") },
  { path: "/server-status", what: "Apache mod_status", signature: apacheStatus },
  { path: "/server-info", what: "Apache mod_info", signature: /Apache Server Information|Server Settings/ },
  { path: "/actuator", what: "Spring Boot actuator index", signature: /"_links"\s*:/ },
  { path: "/actuator/env", what: "Spring Boot actuator env (configuration, secrets)", signature: /"propertySources"\s*:|"activeProfiles"\s*:/ },
  { path: "/actuator/configprops", what: "Spring Boot actuator configprops", signature: /"contexts"\s*:/ },
  { path: "/actuator/mappings", what: "Spring Boot actuator mappings", signature: /"contexts"\s*:|"dispatcherServlets"/ },
  { path: "/actuator/threaddump", what: "Spring Boot actuator thread dump", signature: /"threads"\s*:/ },
  { path: "/metrics", what: "Prometheus metrics", signature: /^# (?:HELP|TYPE) \w+/m },
  { path: "/debug/pprof/", what: "Go pprof", signature: /Types of profiles available|\/debug\/pprof\/goroutine/ },
  { path: "/debug/vars", what: "Go expvar", signature: /"cmdline"\s*:|"memstats"\s*:/ },
  { path: "/phpinfo.php", what: "phpinfo()", signature: /<title>phpinfo\(\)<\/title>|PHP Version \d/ },
]

export interface ExposureOptions {
  /** The pages to ask for; default `defaultPages`. */
  readonly pages?: ReadonlyArray<Page>
  /** Further pages (a string: any 2xx answer counts), asked after `pages`. */
  readonly extraPages?: ReadonlyArray<Page | string>
  readonly id?: string
}

export interface ExposureObservation {
  /** Status of each page asked for. */
  readonly statuses: Readonly<Record<string, number>>
  /** Pages served with their signature: the findings. */
  readonly exposed: ReadonlyArray<{ readonly path: string; readonly what: string; readonly status: number }>
  /** 2xx answers that did not look like the page (a catch-all route, most likely). */
  readonly unrecognised: ReadonlyArray<string>
}

/**
 * @example
 * Http.Findings.expectNoneOf(Http.Exposure.probe(api), Http.Exposure.ruleIds)
 */
export const probe = (target: SecurityTarget, options: ExposureOptions = {}): Probe.Probe<Report<ExposureObservation>> => {
  const pages = [...(options.pages ?? defaultPages), ...(options.extraPages ?? []).map((p): Page => (typeof p === "string" ? { path: p, what: `${p} (listed)` } : p))]
  return Probe.make({
    id: options.id ?? `${target.id} exposed status pages`,
    target,
    observe: Effect.gen(function* () {
      const statuses: Record<string, number> = {}
      const exposed: Array<ExposureObservation["exposed"][number]> = []
      const unrecognised: Array<string> = []
      const findings: Array<SecurityFinding> = []
      for (const [i, page] of pages.entries()) {
        const ask = request(target, { path: page.path, maxBody: 16 * 1024 })
        const r = yield* i === 0 ? ask : paced(target, ask)
        statuses[page.path] = r.status
        if (r.status < 200 || r.status >= 300) continue
        const signature = page.signature
        if (signature !== undefined) signature.lastIndex = 0
        if (signature !== undefined && !signature.test(r.body)) {
          unrecognised.push(page.path)
          continue
        }
        exposed.push({ path: page.path, what: page.what, status: r.status })
        if (signature !== undefined) signature.lastIndex = 0
        const sample = signature === undefined ? "" : `: ${(signature.exec(r.body)?.[0] ?? "").slice(0, 80)}`
        findings.push(finding("leak.status-page-exposed", `${page.path} answered ${r.status} with ${page.what}${sample}`))
      }
      return { observation: { statuses, exposed, unrecognised }, findings }
    }),
  })
}

export const ruleIds = ["leak.status-page-exposed"] as const
