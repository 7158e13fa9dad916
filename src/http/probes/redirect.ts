/**
 * Plain HTTP must lead to HTTPS: asked over `http://`, the service answers with a redirect to an
 * `https://` URL, and serves no content in clear text. The probe is about the plain-HTTP
 * connection itself, so when nothing answers there (a refused, reset or silent port) that is
 * what it observes — nothing is served in clear text, nothing to redirect — not an error.
 *
 * HSTS is never judged here: over plain HTTP browsers ignore the header, so it is only recorded;
 * `Headers.probe` judges it on HTTPS answers.
 */
import { Effect } from "effect"
import * as Probe from "../../Probe.ts"
import { fail, InvalidExperiment } from "../../ShiftupError.ts"
import { request } from "../client.ts"
import type { SecurityTarget } from "../targets.ts"
import { finding, type Report, type SecurityFinding } from "../findings.ts"

export interface RedirectOptions {
  /**
   * The plain-HTTP origin to ask, on the target's own host: default the target's URL when it is
   * `http://`, else its host on port 80 (list it in the target's `endpoints` too).
   */
  readonly http?: string
  /** The path asked; default `/`. */
  readonly path?: string
  readonly id?: string
}

export interface RedirectObservation {
  /** The plain-HTTP URL asked. */
  readonly asked: string
  /** `null`: nothing answered plain HTTP there (see `error`). */
  readonly status: number | null
  readonly location: string | null
  /** Why nothing answered, when `status` is `null`. */
  readonly error: string | null
  /** Whether the plain answer carried Strict-Transport-Security (ignored by browsers over HTTP: recorded, never judged). */
  readonly hstsOverHttp: boolean
}

const redirects = new Set([301, 302, 303, 307, 308])

/** The plain-HTTP URL to ask; throws `InvalidExperiment` when it is not on the target's host. */
const plainUrl = (target: SecurityTarget, options: RedirectOptions): URL => {
  const base = new URL(target.url)
  const given = options.http === undefined ? undefined : URL.parse(options.http)
  const url = given ?? (base.protocol === "http:" ? new URL(base) : new URL(`http://${base.host.replace(/:\d+$/, "")}/`))
  const issues =
    url === null || url.protocol !== "http:"
      ? [{ path: "http", message: `"${options.http ?? ""}" is not an http:// URL` }]
      : url.hostname !== base.hostname
        ? [{ path: "http", message: `"${url.origin}" is not on the target's host ${base.hostname}: a probe contacts only its target` }]
        : []
  if (issues.length > 0) throw fail(new InvalidExperiment({ source: `Redirect.probe(${target.id})`, issues }))
  url.pathname = options.path ?? "/"
  return url
}

/** Pure: the findings of one plain-HTTP answer (exported for unit tests). */
export const evaluate = (o: RedirectObservation): ReadonlyArray<SecurityFinding> => {
  const out: Array<SecurityFinding> = []
  if (o.status === null) return out
  if (o.status >= 200 && o.status < 300) out.push(finding("transport.no-https-redirect", `${o.asked} answered ${o.status} with content over plain HTTP, no redirect to HTTPS`))
  else if (redirects.has(o.status)) {
    const to = o.location === null ? null : URL.parse(o.location, o.asked)
    if (to === null || to.protocol !== "https:") out.push(finding("transport.no-https-redirect", `${o.asked} redirects (${o.status}) to ${o.location ?? "nowhere (no Location)"}, not to HTTPS`))
  }
  return out
}

/**
 * @example
 * Http.Findings.expectNoneOf(Http.Redirect.probe(api, { http: "http://127.0.0.1:8080" }), Http.Redirect.ruleIds)
 */
export const probe = (target: SecurityTarget, options: RedirectOptions = {}): Probe.Probe<Report<RedirectObservation>> => {
  const url = plainUrl(target, options)
  const asked = url.toString()
  return Probe.make({
    id: options.id ?? `${target.id} plain HTTP redirects to HTTPS`,
    target,
    observe: Effect.gen(function* () {
      const answer = yield* request(target, { path: asked, maxBody: 1024 }).pipe(
        Effect.map((r) => ({ status: r.status, location: r.headers["location"] ?? null, error: null, hstsOverHttp: r.headers["strict-transport-security"] !== undefined })),
        // Nothing answering plain HTTP is an observation; a refused destination stays an error.
        Effect.catchTag("ProbeFailed", (e) => Effect.succeed({ status: null, location: null, error: e.detail, hstsOverHttp: false })),
      )
      const observation: RedirectObservation = { asked, ...answer }
      return { observation, findings: evaluate(observation) }
    }),
  })
}

export const ruleIds = ["transport.no-https-redirect"] as const
