/**
 * The one HTTP client of shiftup — the core's probes, switch faults and `http.request`
 * compensations, and every probe of `shiftup/http` — over undici agents owned by the run. Every
 * request carries the run's correlation headers (invariant 6); the connector checks the egress
 * allowlist after DNS resolution and connects to the address it checked (invariant 7), so a name
 * resolving outside the allowlist is refused before any connection; deadlines are precise timers
 * that abort through undici's dispatch controller (and a caller's AbortSignal is honoured).
 *
 * The dispatcher is a service (`HttpClient`): by default one `Agent` per run and TLS setting,
 * created on first use, its idle sockets unreferenced and closed after 1 s; provide your own with
 * `Effect.provideService`.
 */
import { isIP } from "node:net"
import { Context, Effect } from "effect"
import { Agent, buildConnector, type Dispatcher } from "undici"
import { RunContext } from "../RunContext.ts"
import type { HttpTarget } from "../Http.ts"
import { isSecret, redact, redactText, reveal, secretsOf, type Secret, type Value } from "../Secret.ts"
import { describeUnknown, fail, isShiftupError, ProbeFailed, type ShiftupError } from "../ShiftupError.ts"
import { checkEgress, type Egress } from "./egress.ts"

/**
 * TLS settings of a target: a private CA for a lab's certificates (or no verification at all), a
 * client certificate for mutual TLS, and the name to send as SNI and verify the certificate for.
 */
export interface TlsSettings {
  /** PEM of the CA(s) to trust instead of the system store. */
  readonly ca?: string
  /** Default true. `false` still records what the certificate says (see `Tls`). */
  readonly rejectUnauthorized?: boolean
  /** PEM of the client certificate (chain), for servers that ask for one. */
  readonly cert?: string
  /** PEM of the client key: a `Secret`, so it never reaches a journal or a ledger. */
  readonly key?: Value
  /** SNI and the name the certificate is verified for, when the URL's host is an address. */
  readonly servername?: string
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
    ...(tls?.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls?.key === undefined ? {} : { key: reveal(tls.key) }),
  })
  return (options, callback) => {
    Effect.runPromise(checkEgress(egress, options.hostname)).then(
      ({ address }) => {
        // The checked address is the one connected to; the name still goes out as SNI and in
        // the Host header, and the certificate is verified against it.
        const name = options.hostname.replace(/^\[|\]$/g, "")
        const servername = tls?.servername ?? options.servername ?? (isIP(name) === 0 ? name : undefined)
        base({ ...options, hostname: address, ...(servername === undefined ? {} : { servername }) }, callback)
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

/**
 * Collects one response straight from undici's dispatch: no body stream and no AbortSignal per
 * request (together about a tenth of a burst's CPU), the deadline aborting through undici's own
 * controller. Keeps at most `max` bytes of the body; reports exactly once.
 */
class Collector implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined
  private reason: Error | undefined
  finished = false
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

/** What `exchange` sends. */
export interface Outgoing {
  readonly origin: string
  /** Path and query. */
  readonly path: string
  readonly method: string
  /** Lower-case names, the run's correlation headers included (see `correlated`). */
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string | undefined
  readonly timeoutMs: number
  /** Bytes of body kept. */
  readonly maxBody: number
  readonly signal?: AbortSignal | undefined
  readonly tls?: TlsSettings | undefined
}

/** An exchange under way: `abort` ends it early (its `done` then reports the reason). */
export interface Abortable {
  readonly abort: (reason: Error) => void
}

/** What came back. */
export interface Answer {
  readonly status: number
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>
  /** Each `set-cookie` line. */
  readonly cookies: ReadonlyArray<string>
  readonly body: string
  readonly ms: number
}

/** A request's own headers (lower-cased) with the run's correlation headers, which win. */
export const correlated = (run: RunContext, given: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> => {
  // Without headers of its own a request sends the run's (undici only reads them).
  if (given === undefined) return run.headers
  const merged: Record<string, string> = {}
  for (const k in given) merged[k.toLowerCase()] = given[k] as string
  return Object.assign(merged, run.headers)
}

/**
 * One exchange in plain callbacks (a burst's hot path): `done` is called exactly once, possibly
 * before this returns, with the answer or the error — a ShiftupError from the connector
 * (`EgressDenied`), or a `Failure` whose `detail` says what happened (at the deadline: `no
 * complete answer within <n> ms`).
 */
export const exchange = (run: RunContext, client: HttpClientService, out: Outgoing, done: (result: Answer | ShiftupError | Failure) => void): Abortable => {
  const started = performance.now()
  const signal = out.signal
  const onAbort = () => collector.abort(signal?.reason instanceof Error ? signal.reason : new Error(`aborted: ${describeUnknown(signal?.reason)}`))
  const collector: Collector = new Collector(out.maxBody, (e) => {
    clearTimeout(timer)
    signal?.removeEventListener("abort", onAbort)
    if (e !== undefined) return done(isShiftupError(e) ? e : new Failure(e))
    const headers: Record<string, string> = {}
    let cookies: ReadonlyArray<string> = []
    const h = collector.headers
    for (const k in h) {
      const v = h[k]
      if (v === undefined) continue
      if (k === "set-cookie") cookies = typeof v === "string" ? [v] : [...v]
      headers[k] = typeof v === "string" ? v : v.join(", ")
    }
    done({ status: collector.status, headers, cookies, body: collector.body(), ms: performance.now() - started })
  })
  // The deadline is a timer aborting through undici's dispatch controller: as precise as an
  // AbortSignal, without one per request.
  const timer = setTimeout(() => collector.abort(new Deadline(`no complete answer within ${out.timeoutMs} ms`)), out.timeoutMs)
  if (signal !== undefined) {
    if (signal.aborted) onAbort()
    else signal.addEventListener("abort", onAbort, { once: true })
  }
  // A signal that had already fired ended the exchange: nothing is sent.
  if (collector.finished) return collector
  try {
    client.dispatcher(run, out.tls).dispatch({ origin: out.origin, path: out.path, method: out.method as Dispatcher.HttpMethod, headers: out.headers, ...(out.body === undefined ? {} : { body: out.body }) }, collector)
  } catch (e) {
    collector.abort(e instanceof Error ? e : new Error(describeUnknown(e)))
  }
  return collector
}

class Deadline extends Error {}

/** A failed exchange: `detail` is the reason, with the cause undici wrapped (a reset, a TLS error). */
export class Failure {
  readonly detail: string
  constructor(e: Error) {
    const cause = (e as { readonly cause?: unknown }).cause
    const why = e instanceof Deadline ? e.message : describeUnknown(e)
    this.detail = e instanceof Deadline || cause === undefined ? why : `${why} (${describeUnknown(cause)})`
  }
}

/** A request of the core (probes, switch faults, compensations). */
export interface HttpRequest {
  readonly method?: string
  readonly url: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
  readonly timeoutMs?: number
  readonly tls?: TlsSettings
}

export interface HttpResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly ms: number
}

/**
 * An exchange started by `start` with the run's context and dispatcher, as an Effect: it fails
 * with the ShiftupError `start` reports, and interrupting it aborts the exchange.
 */
export const asEffect = <A>(start: (run: RunContext, client: HttpClientService, done: (result: A | ShiftupError) => void) => Abortable): Effect.Effect<A, ShiftupError> =>
  Effect.contextWith((context) =>
    Effect.callback<A, ShiftupError>((resume) => {
      const x = start(Context.get(context, RunContext), Context.get(context, HttpClient), (r) => resume(isShiftupError(r) ? Effect.fail(r) : Effect.succeed(r)))
      return Effect.sync(() => x.abort(new Error("interrupted")))
    }),
  )

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

const maxBodyDefault = 64 * 1024

const origins = new WeakMap<HttpTarget, URL>()
/** Origin and path of a request: plain concatenation for the common absolute path. */
const locate = (target: HttpTarget, path: string): { readonly origin: string; readonly path: string } => {
  let base = origins.get(target)
  if (base === undefined) origins.set(target, (base = new URL(target.url)))
  if (path.startsWith("/") && !path.startsWith("//")) return { origin: base.origin, path }
  const url = new URL(path, base)
  return { origin: url.origin, path: `${url.pathname}${url.search}` }
}

/**
 * Sends one request outside Effect (a burst's hot path) and calls `done` exactly once — possibly
 * before it returns — with the exchange or the error. Returns what ends the exchange early.
 */
export const sendTo = (run: RunContext, client: HttpClientService, target: HttpTarget, req: Request, label: string | undefined, done: (result: Exchange | ShiftupError) => void): Abortable => {
  const method = req.method ?? "GET"
  const url = locate(target, req.path)
  const href = `${url.origin}${url.path}`
  // The target's own headers (an API key, say) under the request's.
  const given = target.headers === undefined ? req.headers : { ...target.headers, ...req.headers }
  const secrets = given === undefined && req.secrets === undefined && !isSecret(req.body) ? [] : secretsOf([...Object.values(given ?? {}), ...(req.secrets ?? []), req.body])
  let revealed: Record<string, string> | undefined
  if (given !== undefined) {
    revealed = {}
    for (const k in given) revealed[k] = reveal(given[k] as Value)
  }
  return exchange(
    run,
    client,
    { origin: url.origin, path: url.path, method, headers: correlated(run, revealed), body: req.body === undefined ? undefined : reveal(req.body), timeoutMs: req.timeoutMs ?? target.timeoutMs ?? 5000, maxBody: req.maxBody ?? maxBodyDefault, signal: req.signal, tls: target.tls },
    (r) => {
      if (r instanceof Failure) return done(fail(new ProbeFailed({ probe: label ?? `${method} ${url.path}`, target: target.id, detail: redactText(`${method} ${href}: ${r.detail}`, secrets) })))
      if (isShiftupError(r)) return done(r)
      const x: Exchange = { url: href, method, ...r }
      done(secrets.length === 0 ? x : redact(x, secrets))
    },
  )
}

/**
 * Sends one request to `target` and reads the answer. `label` names the probe in errors.
 * Fails with `EgressDenied` (before any connection) or `ProbeFailed` (timeout, reset, TLS).
 */
export const request = (target: HttpTarget, req: Request, label?: string): Effect.Effect<Exchange, ShiftupError> =>
  asEffect<Exchange>((run, client, done) => sendTo(run, client, target, req, label, done))

/** Sends one request; `label` names the probe or fault in errors. Keeps the first 64 KiB of the body. */
export const send = (req: HttpRequest, label: { readonly probe: string; readonly target: string }): Effect.Effect<HttpResponse, ShiftupError> => {
  const method = req.method ?? "GET"
  let url: URL
  try {
    url = new URL(req.url)
  } catch {
    return Effect.fail(fail(new ProbeFailed({ ...label, detail: `"${req.url}" is not a valid URL` })))
  }
  return asEffect<HttpResponse>((run, client, done) =>
    exchange(run, client, { origin: url.origin, path: `${url.pathname}${url.search}`, method, headers: correlated(run, req.headers), body: req.body, timeoutMs: req.timeoutMs ?? 5000, maxBody: 64 * 1024, tls: req.tls }, (r) => {
      if (r instanceof Failure) return done(fail(new ProbeFailed({ ...label, detail: `${method} ${req.url}: ${r.detail}` })))
      if (isShiftupError(r)) return done(r)
      done({ status: r.status, headers: r.headers, body: r.body, ms: r.ms })
    }),
  )
}
