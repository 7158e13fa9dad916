/**
 * The HTTP client of `shiftup/http`: the core's one client (`src/internal/http.ts`: undici
 * agents owned by the run, correlation headers, the egress allowlist checked in the connector
 * after DNS resolution, precise deadlines) plus targets with TLS settings, secrets redacted from
 * everything a request returns, and bursts.
 */
import { Context, Effect } from "effect"
import type { HttpTarget } from "../Http.ts"
import { asEffect, correlated, exchange, Failure, HttpClient, type Abortable, type HttpClientService, type TlsSettings } from "../internal/http.ts"
import { RunContext } from "../RunContext.ts"
import { fail, isShiftupError, ProbeFailed, type ShiftupError } from "../ShiftupError.ts"
import * as Http from "../Http.ts"
import { isSecret, redact, redactText, reveal, secretsOf, type Secret, type Value } from "./Secret.ts"

export { closeRun, egressConnector, HttpClient, runOwned, type HttpClientService, type TlsSettings } from "../internal/http.ts"

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

const maxBodyDefault = 64 * 1024

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
 * Sends one request outside Effect (a burst's hot path) and calls `done` exactly once — possibly
 * before it returns — with the exchange or the error. Returns what ends the exchange early.
 */
const send = (run: RunContext, client: HttpClientService, target: SecurityTarget, req: Request, label: string | undefined, done: (result: Exchange | ShiftupError) => void): Abortable => {
  const method = req.method ?? "GET"
  const url = locate(target, req.path)
  const href = `${url.origin}${url.path}`
  const given = req.headers
  const secrets = given === undefined && req.secrets === undefined && !isSecret(req.body) ? [] : secretsOf([...Object.values(given ?? {}), ...(req.secrets ?? []), req.body])
  let revealed: Record<string, string> | undefined
  if (given !== undefined) {
    revealed = {}
    for (const k in given) revealed[k] = reveal(given[k] as Value)
  }
  return exchange(
    run,
    client,
    { origin: url.origin, path: url.path, method, headers: correlated(run, revealed), body: req.body === undefined ? undefined : reveal(req.body), timeoutMs: req.timeoutMs ?? 5000, maxBody: req.maxBody ?? maxBodyDefault, signal: req.signal, tls: target.tls },
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
export const request = (target: SecurityTarget, req: Request, label?: string): Effect.Effect<Exchange, ShiftupError> =>
  asEffect<Exchange>((run, client, done) => send(run, client, target, req, label, done))

/** Node's timers take at most 2^31 − 1 ms; a longer wait is made of several. */
const maxTimer = 2 ** 31 - 1

/**
 * `n` requests, at most `concurrency` in flight, each waiting for its slot under the budget's
 * probe rate (`maxProbeRate`, per target) — except the first, whose slot the runner already took
 * for the observation. Answers keep the order of `make(i)`. The first request that fails fails
 * the burst and aborts the others; so does interrupting it. Pacing uses real timers (not
 * Effect's clock).
 *
 * The loop runs in plain callbacks inside one Effect: per request it costs about what a raw
 * undici loop costs, where an Effect per request would add a tenth.
 */
export const burst = (target: SecurityTarget, n: number, concurrency: number, make: (i: number) => Request, label?: string): Effect.Effect<ReadonlyArray<Exchange>, ShiftupError> => {
  if (!Number.isInteger(n) || n < 0 || !(concurrency >= 1))
    return Effect.fail(fail(new ProbeFailed({ probe: label ?? "burst", target: target.id, detail: `a burst needs a whole number of requests ≥ 0 and a concurrency ≥ 1 (got ${n} and ${concurrency})` })))
  return Effect.contextWith((context) =>
    Effect.callback<ReadonlyArray<Exchange>, ShiftupError>((resume) => {
      const run = Context.get(context, RunContext)
      const client = Context.get(context, HttpClient)
      const answers: Array<Exchange> = []
      const inFlight = new Set<Abortable>()
      const waiting = new Set<NodeJS.Timeout>()
      let next = 0
      let answered = 0
      let over = false
      const stop = (reason: Error) => {
        over = true
        for (const t of waiting) clearTimeout(t)
        waiting.clear()
        for (const x of inFlight) x.abort(reason)
      }
      const start = (i: number) => {
        if (over) return
        let handle: Abortable | undefined
        let settled = false
        try {
          handle = send(run, client, target, make(i), label, (r) => {
            // May run before `send` returns (an aborted signal, a closed agent).
            settled = true
            if (handle !== undefined) inFlight.delete(handle)
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
        } catch (e) {
          // `make` or the request itself threw (a path that is no URL, say): a defect.
          stop(new Error("the burst stopped"))
          return resume(Effect.die(e))
        }
        if (!settled) inFlight.add(handle)
      }
      /** Starts request `i` at `due` (a `performance.now()` time). */
      const startAt = (i: number, due: number) => {
        const left = due - performance.now()
        if (left < 0.5) return start(i)
        const t = setTimeout(() => {
          waiting.delete(t)
          if (!over) startAt(i, due)
        }, Math.min(left, maxTimer))
        waiting.add(t)
      }
      const launch = () => {
        if (over || next >= n) return
        const i = next++
        const wait = i === 0 ? 0 : run.reserve(target.id)
        // Unpaced (the common case) starts at once, without reading the clock.
        if (wait === 0) return start(i)
        startAt(i, performance.now() + wait)
      }
      if (n === 0) return resume(Effect.succeed(answers))
      for (let k = Math.min(concurrency, n); k > 0; k--) launch()
      return Effect.sync(() => stop(new Error("interrupted")))
    }),
  )
}

/** Paces a further request of the same observation under the probe rate. */
export const paced = <A>(target: SecurityTarget, effect: Effect.Effect<A, ShiftupError>): Effect.Effect<A, ShiftupError> =>
  Effect.flatMap(RunContext, (run) => Effect.andThen(run.throttle(target.id), effect))
