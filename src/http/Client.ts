/**
 * The HTTP client of `shiftup/http`: undici agents owned by the run. Every request carries the
 * run's correlation headers (invariant 6); the connector checks the egress allowlist after DNS
 * resolution and connects to the address it checked (invariant 7), so a name resolving outside
 * the allowlist is refused before any connection; deadlines are precise timers that abort through
 * undici's dispatch controller (and a caller's AbortSignal is honoured); the secrets a request
 * was given are redacted from what it returns.
 *
 * The dispatcher is a service (`HttpClient`): by default one `Agent` per run and TLS setting,
 * created on first use and closed when idle; provide your own with `Effect.provideService`.
 */
import { isIP } from "node:net"
import { Context, Effect } from "effect"
import { Agent, buildConnector, type Dispatcher } from "undici"
import type { HttpTarget } from "../Http.ts"
import { checkEgress, type Egress } from "../internal/egress.ts"
import { RunContext } from "../RunContext.ts"
import { describeUnknown, fail, isShiftupError, ProbeFailed, type ShiftupError } from "../ShiftupError.ts"
import * as Http from "../Http.ts"
import { isSecret, redact, redactText, reveal, secretsOf, type Secret, type Value } from "./Secret.ts"

/** TLS settings of a target: a private CA for a lab's certificates, or no verification at all. */
export interface TlsSettings {
  /** PEM of the CA(s) to trust instead of the system store. */
  readonly ca?: string
  /** Default true. `false` still records what the certificate says (see `Tls`). */
  readonly rejectUnauthorized?: boolean
}

export interface SecurityTarget extends HttpTarget {
  readonly tls?: TlsSettings
}

export interface TargetOptions extends Http.HttpTargetOptions {
  readonly tls?: TlsSettings
}

/**
 * An HTTP(S) target for the probes of `shiftup/http`: the core's `Http.target` plus TLS settings.
 *
 * @example
 * const api = Http.target("api", { url: "https://127.0.0.1:8443", environment: "staging", tls: { ca: labCa } })
 */
export const target = (id: string, options: TargetOptions): SecurityTarget => {
  const { tls, ...rest } = options
  return { ...Http.target(id, rest), ...(tls === undefined ? {} : { tls }) }
}

export interface Request {
  readonly method?: string
  /** A path resolved against the target's URL (or an absolute URL on the same target). */
  readonly path: string
  readonly headers?: Readonly<Record<string, Value>>
  /** A string, or a secret (a login form with a password, say). */
  readonly body?: Value
  /** Further secrets to redact from the answer (e.g. a password inside a JSON body you built). */
  readonly secrets?: ReadonlyArray<Secret>
  /** Deadline for the whole exchange, body included; default 5 seconds. */
  readonly timeoutMs?: number
  /** Bytes of body kept; default 64 KiB. */
  readonly maxBody?: number
  /** Aborts the exchange when it fires, on top of `timeoutMs` (e.g. `AbortSignal.timeout(ms)` shared by several requests). */
  readonly signal?: AbortSignal
}

/** One exchange, with the secrets the request carried redacted everywhere. */
export interface Exchange {
  readonly url: string
  readonly method: string
  readonly status: number
  /** Lower-case names; repeated headers joined with ", " (except `set-cookie`, see `cookies`). */
  readonly headers: Readonly<Record<string, string>>
  readonly cookies: ReadonlyArray<string>
  readonly body: string
  readonly ms: number
}

/** Makes the dispatcher a request goes through. */
export interface HttpClientService {
  readonly dispatcher: (run: RunContext, tls: TlsSettings | undefined) => Dispatcher
}

/** An undici connector that refuses destinations outside `egress` before connecting. */
export const egressConnector = (egress: Egress, tls: TlsSettings | undefined): buildConnector.connector => {
  const base = buildConnector({
    ...(tls?.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls?.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
  })
  return (options, callback) => {
    Effect.runPromise(checkEgress(egress, options.hostname)).then(
      ({ address }) => {
        // The checked address is the one connected to; the name still goes out as SNI and in
        // the Host header, and the certificate is verified against it.
        const name = options.hostname.replace(/^\[|\]$/g, "")
        base({ ...options, hostname: address, ...(isIP(name) === 0 && options.servername === undefined ? { servername: name } : {}) }, callback)
      },
      (e: unknown) => callback(e instanceof Error ? e : new Error(describeUnknown(e)), null),
    )
  }
}

interface Owned {
  plain: Agent | undefined
  readonly byTls: WeakMap<TlsSettings, Agent>
  readonly all: Array<Agent>
}

const owned = new WeakMap<RunContext, Owned>()

/** The default: one agent per run (and TLS setting), its connector bound to the run's egress. */
export const runOwned: HttpClientService = {
  dispatcher: (run, tls) => {
    let agents = owned.get(run)
    if (agents === undefined) owned.set(run, (agents = { plain: undefined, byTls: new WeakMap(), all: [] }))
    let agent = tls === undefined ? agents.plain : agents.byTls.get(tls)
    if (agent === undefined) {
      agent = new Agent({ connect: egressConnector(run.egress, tls), keepAliveTimeout: 1000, connections: 64 })
      agents.all.push(agent)
      if (tls === undefined) agents.plain = agent
      else agents.byTls.set(tls, agent)
    }
    return agent
  },
}

export const HttpClient = Context.Reference<HttpClientService>("shiftup/http/HttpClient", { defaultValue: () => runOwned })

/** Closes the agents a run owned (idle sockets are unreferenced anyway and close after 1 s). */
export const closeRun = (run: RunContext): Promise<void> => {
  const agents = owned.get(run)
  owned.delete(run)
  return Promise.all((agents?.all ?? []).map((a) => a.close())).then(() => undefined)
}

const maxBodyDefault = 64 * 1024

/**
 * Collects one response straight from undici's dispatch: no body stream and no AbortSignal per
 * request (together about a tenth of a burst's CPU), the deadline aborting through undici's own
 * controller. Keeps at most `max` bytes of the body; reports exactly once.
 */
class Collector implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined
  private reason: Error | undefined
  private finished = false
  status = 0
  headers: Record<string, string | ReadonlyArray<string> | undefined> = {}
  private readonly chunks: Array<Buffer> = []
  private size = 0
  private readonly max: number
  private readonly done: (error: Error | undefined) => void
  constructor(max: number, done: (error: Error | undefined) => void) {
    this.max = max
    this.done = done
  }
  /** Aborts the exchange (deadline, interruption); the first reason wins. */
  abort(reason: Error): void {
    this.reason ??= reason
    if (this.controller !== undefined) this.controller.abort(reason)
    else this.finish(reason)
  }
  body(): string {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks)
    return all.toString("utf8", 0, Math.min(this.size, this.max))
  }
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.reason !== undefined) controller.abort(this.reason)
  }
  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | ReadonlyArray<string> | undefined>): void {
    // 1xx answers are interim: the final one follows.
    if (statusCode < 200) return
    this.status = statusCode
    this.headers = headers
  }
  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.size < this.max) this.chunks.push(chunk)
    this.size += chunk.length
  }
  onResponseEnd(): void {
    this.finish(undefined)
  }
  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    this.finish(this.reason ?? error)
  }
  private finish(error: Error | undefined): void {
    if (this.finished) return
    this.finished = true
    this.done(error)
  }
}

class Deadline extends Error {}

const origins = new WeakMap<SecurityTarget, URL>()
/** Origin and path of a request: plain concatenation for the common absolute path. */
const locate = (target: SecurityTarget, path: string): { readonly origin: string; readonly path: string } => {
  let base = origins.get(target)
  if (base === undefined) origins.set(target, (base = new URL(target.url)))
  if (path.startsWith("/") && !path.startsWith("//")) return { origin: base.origin, path }
  const url = new URL(path, base)
  return { origin: url.origin, path: `${url.pathname}${url.search}` }
}

/**
 * Sends one request outside Effect (a burst's hot path) and calls `done` exactly once, with the
 * exchange or the error. Returns the collector, whose `abort` ends the exchange early.
 */
const send = (run: RunContext, client: HttpClientService, target: SecurityTarget, req: Request, label: string | undefined, done: (result: Exchange | ShiftupError) => void): Collector => {
  const method = req.method ?? "GET"
  const url = locate(target, req.path)
  const href = `${url.origin}${url.path}`
  const given = req.headers
  const secrets = given === undefined && req.secrets === undefined && !isSecret(req.body) ? [] : secretsOf([...Object.values(given ?? {}), ...(req.secrets ?? []), req.body])
  // Without headers of its own a request sends the run's (undici only reads them).
  let headers: Readonly<Record<string, string>> = run.headers
  if (given !== undefined) {
    const merged: Record<string, string> = {}
    for (const k in given) merged[k.toLowerCase()] = reveal(given[k] as Value)
    headers = Object.assign(merged, run.headers)
  }
  const timeoutMs = req.timeoutMs ?? 5000
  const started = performance.now()
  const signal = req.signal
  const onAbort = () => collector.abort(signal?.reason instanceof Error ? signal.reason : new Error(`aborted: ${describeUnknown(signal?.reason)}`))
  const collector: Collector = new Collector(req.maxBody ?? maxBodyDefault, (e) => {
    clearTimeout(timer)
    signal?.removeEventListener("abort", onAbort)
    if (e !== undefined) {
      if (isShiftupError(e)) return done(e)
      const cause = (e as { readonly cause?: unknown }).cause
      const why = e instanceof Deadline ? e.message : describeUnknown(e)
      const detail = e instanceof Deadline || cause === undefined ? why : `${why} (${describeUnknown(cause)})`
      return done(fail(new ProbeFailed({ probe: label ?? `${method} ${url.path}`, target: target.id, detail: redactText(`${method} ${href}: ${detail}`, secrets) })))
    }
    const flat: Record<string, string> = {}
    let cookies: ReadonlyArray<string> = []
    const h = collector.headers
    for (const k in h) {
      const v = h[k]
      if (v === undefined) continue
      if (k === "set-cookie") cookies = typeof v === "string" ? [v] : [...v]
      flat[k] = typeof v === "string" ? v : v.join(", ")
    }
    const exchange: Exchange = { url: href, method, status: collector.status, headers: flat, cookies, body: collector.body(), ms: performance.now() - started }
    done(secrets.length === 0 ? exchange : redact(exchange, secrets))
  })
  // The deadline is a timer aborting through undici's dispatch controller: as precise as an
  // AbortSignal, without one per request (a caller's own signal is honoured too).
  const timer = setTimeout(() => collector.abort(new Deadline(`no complete answer within ${timeoutMs} ms`)), timeoutMs)
  if (signal !== undefined) {
    if (signal.aborted) onAbort()
    else signal.addEventListener("abort", onAbort, { once: true })
  }
  try {
    client.dispatcher(run, target.tls).dispatch({ origin: url.origin, path: url.path, method: method as Dispatcher.HttpMethod, headers, ...(req.body === undefined ? {} : { body: reveal(req.body) }) }, collector)
  } catch (e) {
    collector.abort(e instanceof Error ? e : new Error(describeUnknown(e)))
  }
  return collector
}

/**
 * Sends one request to `target` and reads the answer. `label` names the probe in errors.
 * Fails with `EgressDenied` (before any connection) or `ProbeFailed` (timeout, reset, TLS).
 */
export const request = (target: SecurityTarget, req: Request, label?: string): Effect.Effect<Exchange, ShiftupError> =>
  // Both services read in one step.
  Effect.contextWith((context) =>
    Effect.callback<Exchange, ShiftupError>((resume) => {
      const collector = send(Context.get(context, RunContext), Context.get(context, HttpClient), target, req, label, (r) => resume(isShiftupError(r) ? Effect.fail(r) : Effect.succeed(r)))
      return Effect.sync(() => collector.abort(new Error("interrupted")))
    }),
  )

/**
 * `n` requests, at most `concurrency` in flight, each waiting for its slot under the budget's
 * probe rate (`maxProbeRate`, per target) — except the first, whose slot the runner already took
 * for the observation. Answers keep the order of `make(i)`. The first request that fails fails
 * the burst and aborts the others; so does interrupting it.
 *
 * The loop runs in plain callbacks inside one Effect: per request it costs about what a raw
 * undici loop costs, where an Effect per request would add a tenth.
 */
export const burst = (target: SecurityTarget, n: number, concurrency: number, make: (i: number) => Request, label?: string): Effect.Effect<ReadonlyArray<Exchange>, ShiftupError> =>
  Effect.contextWith((context) =>
    Effect.callback<ReadonlyArray<Exchange>, ShiftupError>((resume) => {
      const run = Context.get(context, RunContext)
      const client = Context.get(context, HttpClient)
      const answers: Array<Exchange> = []
      const inFlight = new Set<Collector>()
      const waiting = new Set<NodeJS.Timeout>()
      let next = 0
      let answered = 0
      let over = false
      const stop = (reason: Error) => {
        over = true
        for (const t of waiting) clearTimeout(t)
        for (const c of inFlight) c.abort(reason)
      }
      const start = (i: number) => {
        if (over) return
        let req: Request
        try {
          req = make(i)
        } catch (e) {
          stop(new Error("the burst stopped"))
          return resume(Effect.die(e))
        }
        let settled = false
        const collector = send(run, client, target, req, label, (r) => {
          settled = true
          inFlight.delete(collector)
          if (over) return
          if (isShiftupError(r)) {
            stop(new Error("another request of the burst failed"))
            return resume(Effect.fail(r))
          }
          answers[i] = r
          if (++answered === n) {
            over = true
            return resume(Effect.succeed(answers))
          }
          launch()
        })
        if (!settled) inFlight.add(collector)
      }
      const launch = () => {
        if (over || next >= n) return
        const i = next++
        const wait = i === 0 ? 0 : run.reserve(target.id)
        if (wait === 0) return start(i)
        const t = setTimeout(() => {
          waiting.delete(t)
          start(i)
        }, wait)
        waiting.add(t)
      }
      if (n <= 0) return resume(Effect.succeed(answers))
      for (let k = Math.max(1, Math.min(concurrency, n)); k > 0; k--) launch()
      return Effect.sync(() => stop(new Error("interrupted")))
    }),
  )

/** Paces a further request of the same observation under the probe rate. */
export const paced = <A>(target: SecurityTarget, effect: Effect.Effect<A, ShiftupError>): Effect.Effect<A, ShiftupError> =>
  Effect.flatMap(RunContext, (run) => Effect.andThen(run.throttle(target.id), effect))
