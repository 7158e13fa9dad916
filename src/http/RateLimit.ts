/**
 * Rate limiting: a burst of `burst` requests — each paced by the budget's probe rate, so the
 * burst never exceeds the run's cap — must see 429 before more than `limit` were accepted.
 */
import { Effect } from "effect"
import * as Probe from "../Probe.ts"
import { burst, type Request, type SecurityTarget } from "./Client.ts"
import { finding, type Report } from "./Findings.ts"
import type { Value } from "../Secret.ts"

export interface RateLimitOptions {
  readonly path: string
  /** Requests sent; must be larger than `limit`. */
  readonly burst: number
  /** The stated limit: at most this many may be accepted before a 429. */
  readonly limit: number
  /** In flight at once; default 8. */
  readonly concurrency?: number
  readonly method?: string
  readonly headers?: Readonly<Record<string, Value>>
  readonly id?: string
}

export interface RateLimitObservation {
  readonly sent: number
  /** Answers that were not 429. */
  readonly accepted: number
  readonly limited: number
  /** 1-based position (in sending order) of the first 429, or `null`. */
  readonly first429: number | null
  readonly statuses: Readonly<Record<string, number>>
  readonly ms: number
}

export const probe = (target: SecurityTarget, options: RateLimitOptions): Probe.Probe<Report<RateLimitObservation>> => {
  if (!(options.burst > options.limit)) throw new Error(`RateLimit.probe: burst (${options.burst}) must be larger than limit (${options.limit}) to see the limit act`)
  return Probe.make({
    id: options.id ?? `${target.id} rate limit ${options.path} (${options.limit} of ${options.burst})`,
    target,
    observe: Effect.gen(function* () {
      const t0 = performance.now()
      const req: Request = { path: options.path, method: options.method ?? "GET", ...(options.headers === undefined ? {} : { headers: options.headers }), maxBody: 1024 }
      const answers = (yield* burst(target, options.burst, options.concurrency ?? 8, () => req)).map((r) => r.status)
      const statuses: Record<string, number> = {}
      for (const s of answers) statuses[s] = (statuses[s] ?? 0) + 1
      const limited = statuses["429"] ?? 0
      const idx = answers.indexOf(429)
      const observation: RateLimitObservation = { sent: answers.length, accepted: answers.length - limited, limited, first429: idx < 0 ? null : idx + 1, statuses, ms: performance.now() - t0 }
      const findings =
        limited === 0 || observation.accepted > options.limit
          ? [finding("rate.limit-missing", `${observation.accepted} of ${observation.sent} requests to ${options.path} were accepted (stated limit ${options.limit}); first 429: ${observation.first429 ?? "never"}`)]
          : []
      return { observation, findings }
    }),
  })
}

export const ruleIds = ["rate.limit-missing"] as const
