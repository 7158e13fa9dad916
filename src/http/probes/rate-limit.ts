/**
 * Rate limiting: a burst of `burst` requests — each paced by the budget's probe rate, so the
 * burst never exceeds the run's cap — must be limited (429, or the statuses given) before more
 * than `limit` were accepted. The requests may carry a body and secrets (a JSON `POST /login`
 * with a password), and the report says at which request the limit engaged.
 */
import { Effect } from "effect"
import * as Probe from "../../Probe.ts"
import { burst, type Request } from "../client.ts"
import type { SecurityTarget } from "../targets.ts"
import { finding, type Report } from "../findings.ts"
import type { Secret, Value } from "../../Secret.ts"

export interface RateLimitOptions {
  readonly path: string
  /** Requests sent; must be larger than `limit`. */
  readonly burst: number
  /** The stated limit: at most this many may be accepted before the limit engages. */
  readonly limit: number
  /** In flight at once; default 8 (1 gives a strict order: request n is answered before n + 1 is sent). */
  readonly concurrency?: number
  readonly method?: string
  readonly headers?: Readonly<Record<string, Value>>
  /** The body of every request: a string, or a Secret (see `Http.json` for a JSON body with secret values). */
  readonly body?: Value
  /** Further secrets to redact from the answers (a password inside a body you built). */
  readonly secrets?: ReadonlyArray<Secret>
  /** Statuses that mean "limited"; default `[429]` (nginx's `limit_req` answers 503 unless `limit_req_status 429` is set). */
  readonly limitedStatuses?: ReadonlyArray<number>
  readonly id?: string
}

export interface RateLimitObservation {
  readonly sent: number
  /** Answers that were not limited (a 401 for a wrong password counts: the request got through). */
  readonly accepted: number
  readonly limited: number
  /** 1-based position (in sending order) of the first limited answer — where the limit engaged — or `null`. */
  readonly engagedAt: number | null
  /** Accepted answers before the limit engaged (all of them, if it never did). */
  readonly acceptedBeforeLimit: number
  readonly statuses: Readonly<Record<string, number>>
  readonly ms: number
}

/**
 * @example
 * const password = Http.secret(process.env["PASSWORD"] ?? "")
 * Http.RateLimit.probe(api, { path: "/login", method: "POST", ...Http.json({ user: "alice", password }), burst: 12, limit: 5 })
 */
export const probe = (target: SecurityTarget, options: RateLimitOptions): Probe.Probe<Report<RateLimitObservation>> => {
  if (!(options.burst > options.limit)) throw new Error(`RateLimit.probe: burst (${options.burst}) must be larger than limit (${options.limit}) to see the limit act`)
  const limitedStatuses = new Set(options.limitedStatuses ?? [429])
  const method = options.method ?? "GET"
  return Probe.make({
    id: options.id ?? `${target.id} rate limit ${method === "GET" ? "" : `${method} `}${options.path} (${options.limit} of ${options.burst})`,
    target,
    observe: Effect.gen(function* () {
      const t0 = performance.now()
      const req: Request = {
        path: options.path,
        method,
        ...(options.headers === undefined ? {} : { headers: options.headers }),
        ...(options.body === undefined ? {} : { body: options.body }),
        ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
        maxBody: 1024,
      }
      const answers = (yield* burst(target, options.burst, options.concurrency ?? 8, () => req)).map((r) => r.status)
      const statuses: Record<string, number> = {}
      for (const s of answers) statuses[s] = (statuses[s] ?? 0) + 1
      const limited = answers.filter((s) => limitedStatuses.has(s)).length
      const idx = answers.findIndex((s) => limitedStatuses.has(s))
      const observation: RateLimitObservation = {
        sent: answers.length,
        accepted: answers.length - limited,
        limited,
        engagedAt: idx < 0 ? null : idx + 1,
        acceptedBeforeLimit: idx < 0 ? answers.length : idx,
        statuses,
        ms: performance.now() - t0,
      }
      const what = `${method} ${options.path}`
      const findings =
        limited === 0
          ? [finding("rate.limit-missing", `all ${observation.sent} requests to ${what} got through (stated limit ${options.limit}); the limit never engaged: ${histogram(statuses)}`)]
          : observation.acceptedBeforeLimit > options.limit
            ? [finding("rate.limit-missing", `the limit engaged only at request ${observation.engagedAt} of ${observation.sent} to ${what}: ${observation.acceptedBeforeLimit} got through before it (stated limit ${options.limit}); ${histogram(statuses)}`)]
            : []
      return { observation, findings }
    }),
  })
}

const histogram = (statuses: Readonly<Record<string, number>>) =>
  Object.entries(statuses)
    .map(([s, n]) => `${n}× ${s}`)
    .join(", ")

export const ruleIds = ["rate.limit-missing"] as const
