/**
 * Webhooks on finding state changes (new, regressed, resolved by default), through an outbox in
 * the finding store: the delivery is written in the same transaction as the state change that
 * causes it, then sent — so a watcher killed between the two (or while the receiver is down)
 * sends it after its restart, with the same delivery id (a receiver drops duplicates by it).
 * One POST per change and webhook, a documented JSON body (`shiftup.watch-event/v1`), signed
 * with HMAC-SHA256 over the exact body bytes (`x-shiftup-signature: sha256=<hex>`) when the
 * webhook names a secret (an environment variable, never the config), retried with exponential
 * backoff on a network error, a timeout, 429 or 5xx. Deliveries to one webhook go in order, one
 * at a time; with several watchers on one store a delivery is claimed before it is sent, so only
 * one watcher sends it.
 */
import { createHmac, randomUUID } from "node:crypto"
import type { Logger } from "./log.ts"
import type { WebhookSettings } from "./settings.ts"
import type { Delivery, FindingStore, NewDelivery, State, StoredFinding, Transition } from "./store/Store.ts"

export const eventSchema = "shiftup.watch-event/v1"

export interface WatchEvent {
  readonly schema: typeof eventSchema
  /** The delivery id (also `x-shiftup-delivery`): the same on every retry, also after a restart; one per webhook. */
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
  /** The deliveries `t` causes (one per webhook that takes its state), to write with it. */
  readonly deliveriesOf: (job: string, t: Transition) => ReadonlyArray<NewDelivery>
  /** Sends what is pending now (written deliveries, or left by an earlier watcher) rather than at the next poll. */
  readonly kick: () => void
  /** Resolves when nothing is pending that is due (or the store cannot tell). */
  readonly idle: () => Promise<void>
  /** Stops sending: an attempt in flight is abandoned (sent again, same id, by the next start). */
  readonly stop: () => Promise<void>
}

const retryable = (status: number) => status === 429 || status >= 500
/** The outbox is looked at at least this often (at most every `retryPollMs` while a backoff ends sooner). */
const pollMs = 1000
const retryPollMs = 50

export interface WebhookOptions {
  readonly store: FindingStore
  /** This watcher, for claims. */
  readonly holder: string
  readonly log: Logger
  readonly env?: NodeJS.ProcessEnv
}

export const webhooks = (settings: ReadonlyArray<WebhookSettings>, o: WebhookOptions): Webhooks => {
  const env = o.env ?? process.env
  const { store, log } = o
  const hookOf = (url: string): WebhookSettings => settings.find((h) => h.url === url) ?? { url }
  const abort = new AbortController()
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  /** The drain in progress; it resolves with when to look again (ms). */
  let running: Promise<number> | undefined
  let again = false

  /**
   * One attempt at `d`: `undefined` when it is done (delivered or given up), else when to try it
   * again (not due yet, claimed by another watcher, a retry's backoff) — later deliveries to its
   * webhook wait for it.
   */
  const attempt = async (d: Delivery): Promise<number | undefined> => {
    const hook = hookOf(d.url)
    const timeoutMs = hook.timeoutMs ?? 5000
    if (Date.parse(d.nextAt) > Date.now()) return Date.parse(d.nextAt)
    if (!(await store.claim(d.id, o.holder, timeoutMs + 5000))) return Date.now() + pollMs
    const secret = d.secretEnv === undefined ? undefined : env[d.secretEnv]
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "shiftup-watch", "x-shiftup-event": d.event, "x-shiftup-delivery": d.id }
    if (secret !== undefined && secret !== "") headers["x-shiftup-signature"] = sign(secret, d.body)
    const attempts = d.attempts + 1
    let why: string
    try {
      const r = await fetch(d.url, { method: "POST", headers, body: d.body, signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), abort.signal]) })
      await r.body?.cancel()
      if (r.ok) {
        await store.settle(d.id, { _tag: "Delivered", at: new Date(), attempts })
        log("info", "webhook.delivered", { url: d.url, delivery: d.id, change: d.event, attempt: attempts })
        return undefined
      }
      why = `HTTP ${r.status}`
      if (!retryable(r.status)) {
        await store.settle(d.id, { _tag: "GaveUp", at: new Date(), attempts, error: why })
        log("error", "webhook.rejected", { url: d.url, delivery: d.id, change: d.event, status: r.status, attempt: attempts })
        return undefined
      }
    } catch (e) {
      if (stopped) return Date.now()
      why = e instanceof Error ? e.message : String(e)
    }
    const max = hook.attempts ?? 5
    if (attempts >= max) {
      await store.settle(d.id, { _tag: "GaveUp", at: new Date(), attempts, error: why })
      log("error", "webhook.failed", { url: d.url, delivery: d.id, change: d.event, attempts, error: why })
      return undefined
    }
    const delay = (hook.backoffMs ?? 500) * 2 ** (attempts - 1)
    await store.settle(d.id, { _tag: "Retry", at: new Date(), attempts, retryAt: new Date(Date.now() + delay), error: why })
    log("warn", "webhook.retrying", { url: d.url, delivery: d.id, attempt: attempts, inMs: delay, error: why })
    return Date.now() + delay
  }

  /** Sends what is due, each webhook's in order; returns when to look again (ms). */
  const drain = async (): Promise<number> => {
    const pending = await store.pending(1000)
    const byUrl = new Map<string, Array<Delivery>>()
    for (const d of pending) byUrl.set(d.url, [...(byUrl.get(d.url) ?? []), d])
    let next = Date.now() + pollMs
    await Promise.all(
      [...byUrl.values()].map(async (queue) => {
        for (const d of queue) {
          if (stopped) return
          const later = await attempt(d)
          if (later !== undefined) {
            next = Math.min(next, later)
            return
          }
        }
      }),
    )
    return Math.min(pollMs, Math.max(retryPollMs, next - Date.now()))
  }

  const loop = () => {
    if (stopped) return
    if (running !== undefined) {
      again = true
      return
    }
    clearTimeout(timer)
    running = drain().catch((e: unknown) => {
      log("error", "webhook.outbox", { error: e instanceof Error ? e.message : String(e) })
      return pollMs
    })
    void running.then((waitMs) => {
      running = undefined
      if (stopped) return
      if (again) {
        again = false
        return loop()
      }
      // Pending ones wait for their backoff; an empty outbox is still looked at every second
      // (another watcher's leftovers, or the previous run's).
      timer = setTimeout(loop, waitMs)
      timer.unref()
    })
  }
  // At start: what an earlier run (or another watcher) left undelivered.
  setImmediate(loop)

  return {
    deliveriesOf: (job, t) =>
      settings
        .filter((hook) => (hook.events ?? ["new", "regressed", "resolved"]).includes(t.to))
        .map((hook) => {
          const event: WatchEvent = { schema: eventSchema, id: randomUUID(), event: `finding.${t.to}`, at: new Date().toISOString(), job, from: t.from ?? null, finding: t.finding }
          return { id: event.id, url: hook.url, ...(hook.secretEnv === undefined ? {} : { secretEnv: hook.secretEnv }), event: event.event, body: JSON.stringify(event) }
        }),
    kick: loop,
    idle: async () => {
      for (;;) {
        if (stopped) return
        if (running === undefined && (await store.pending(1).catch(() => [])).length === 0) return
        await new Promise((r) => setTimeout(r, 50))
      }
    },
    stop: async () => {
      stopped = true
      clearTimeout(timer)
      abort.abort(new Error("the watcher stops"))
      await running
    },
  }
}
