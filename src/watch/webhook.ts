/**
 * Webhooks on finding state changes (new, regressed, resolved by default): one POST per change
 * and webhook, a documented JSON body (`shiftup.watch-event/v1`), signed with HMAC-SHA256 over
 * the exact body bytes (`x-shiftup-signature: sha256=<hex>`) when the webhook names a secret
 * (an environment variable, never the config), retried with exponential backoff on a network
 * error, a timeout, 429 or 5xx — with the same delivery id, so a receiver can drop duplicates.
 * Deliveries to one webhook go in order, one at a time.
 */
import { createHmac, randomUUID } from "node:crypto"
import type { Logger } from "./log.ts"
import type { WebhookSettings } from "./settings.ts"
import type { State, StoredFinding, Transition } from "./store/Store.ts"

export const eventSchema = "shiftup.watch-event/v1"

export interface WatchEvent {
  readonly schema: typeof eventSchema
  /** The delivery id (also `x-shiftup-delivery`): the same on every retry. */
  readonly id: string
  /** `finding.new`, `finding.regressed`, `finding.resolved`, … */
  readonly event: `finding.${State}`
  readonly at: string
  readonly job: string
  readonly from: State | null
  readonly finding: StoredFinding
}

export const sign = (secret: string, body: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`

export interface Webhooks {
  readonly send: (job: string, t: Transition) => void
  /** Resolves when every queued delivery ended (delivered or given up). */
  readonly idle: () => Promise<void>
}

const retryable = (status: number) => status === 429 || status >= 500

export const webhooks = (settings: ReadonlyArray<WebhookSettings>, log: Logger, env: NodeJS.ProcessEnv = process.env): Webhooks => {
  const queues = settings.map(() => Promise.resolve())
  const deliver = async (hook: WebhookSettings, event: WatchEvent) => {
    const body = JSON.stringify(event)
    const secret = hook.secretEnv === undefined ? undefined : env[hook.secretEnv]
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "shiftup-watch", "x-shiftup-event": event.event, "x-shiftup-delivery": event.id }
    if (secret !== undefined && secret !== "") headers["x-shiftup-signature"] = sign(secret, body)
    const attempts = hook.attempts ?? 5
    const baseMs = hook.backoffMs ?? 500
    for (let attempt = 1; ; attempt++) {
      let why: string
      try {
        const r = await fetch(hook.url, { method: "POST", headers, body, signal: AbortSignal.timeout(hook.timeoutMs ?? 5000) })
        await r.body?.cancel()
        if (r.ok) return log("info", "webhook.delivered", { url: hook.url, delivery: event.id, event: event.event, attempt })
        why = `HTTP ${r.status}`
        if (!retryable(r.status)) return log("error", "webhook.rejected", { url: hook.url, delivery: event.id, event: event.event, status: r.status, attempt })
      } catch (e) {
        why = e instanceof Error ? e.message : String(e)
      }
      if (attempt >= attempts) return log("error", "webhook.failed", { url: hook.url, delivery: event.id, event: event.event, attempts, error: why })
      const delay = baseMs * 2 ** (attempt - 1)
      log("warn", "webhook.retrying", { url: hook.url, delivery: event.id, attempt, inMs: delay, error: why })
      await new Promise((r) => setTimeout(r, delay))
    }
  }
  return {
    send: (job, t) => {
      const event: WatchEvent = { schema: eventSchema, id: randomUUID(), event: `finding.${t.to}`, at: new Date().toISOString(), job, from: t.from ?? null, finding: t.finding }
      settings.forEach((hook, i) => {
        if (!(hook.events ?? ["new", "regressed", "resolved"]).includes(t.to)) return
        queues[i] = (queues[i] as Promise<void>).then(() => deliver(hook, event))
      })
    },
    idle: async () => {
      await Promise.all(queues)
    },
  }
}
