/**
 * Probes: read-only observations (safety class `observe`) returning a typed value. Adapters
 * build them; users can write their own with `Probe.make` from an Effect or an async function.
 */
import { Context, Effect } from "effect"
import { request, type Exchange, type HttpResponse, type Request } from "./internal/http.ts"
import { RunContext } from "./RunContext.ts"
import { observeOf, sealProbe } from "./internal/capability.ts"
import { lift } from "./internal/lift.ts"
import { causedBy, ProbeFailed, type ShiftupError } from "./ShiftupError.ts"
import type { HttpTarget } from "./Http.ts"
import type { Target } from "./Target.ts"

export const ProbeTypeId: unique symbol = Symbol.for("shiftup/Probe") as never

/** A read-only observation of `target` yielding an `A`. A description: only the runner observes it. */
export interface Probe<A> {
  readonly [ProbeTypeId]: { readonly _A: (_: never) => A }
  readonly _tag: "Probe"
  readonly id: string
  readonly title: string
  readonly target: Target
}

const variance = { _A: (_: never) => _ }

/** What a probe written as a function gets: the run, an abort signal, and a Promise HTTP client. */
export interface ProbeContext {
  readonly runId: string
  /** Fires when the run no longer waits for this observation (abort, halt, deadline): pass it on. */
  readonly signal: AbortSignal
  /**
   * One HTTP request through the run's client — its correlation headers, egress allowlist and
   * probe pacing budget, the target's TLS settings and default headers — aborted with the
   * observation. Secrets in the request are redacted from the answer. For multi-request probes
   * without Effect: log in, then call /admin with the session.
   */
  readonly request: (target: HttpTarget, request: Request) => Promise<Exchange>
}

export interface ProbeOptions<A> {
  readonly id: string
  readonly title?: string
  readonly target: Target
  /**
   * An Effect, or a function (given a `ProbeContext`) returning a value, a Promise or an Effect.
   * A throw or a rejection becomes `ProbeFailed`.
   */
  readonly observe: Effect.Effect<A, ShiftupError> | ((ctx: ProbeContext) => A | Promise<A> | Effect.Effect<A, ShiftupError>)
}

/**
 * A custom probe.
 *
 * @example
 * const queueDepth = Probe.make({ id: "queue-depth", target: queue, observe: async () => (await stats()).depth })
 */
export const make = <A>(options: ProbeOptions<A>): Probe<A> => {
  const onError = (detail: string, cause: unknown) => new ProbeFailed({ probe: options.id, target: options.target.id, detail, ...causedBy(cause) })
  const observe = options.observe
  return sealProbe({ [ProbeTypeId]: variance, _tag: "Probe", id: options.id, title: options.title ?? options.id, target: options.target } as Probe<A>, {
    observe: Effect.isEffect(observe)
      ? lift(observe, onError)
      : Effect.contextWith((context: Context.Context<never>) => {
          const run = Context.get(context as Context.Context<RunContext>, RunContext)
          const send = Effect.runPromiseWith(context)
          return lift(
            (signal) =>
              observe({
                runId: run.runId,
                signal,
                request: (target, req) => send(Effect.andThen(run.throttle(target.id), request(target, { ...req, signal: req.signal ?? signal }, options.id))),
              }),
            onError,
          )
        }),
  })
}

export const isProbe = (u: unknown): u is Probe<unknown> => typeof u === "object" && u !== null && ProbeTypeId in u

export interface HttpProbeOptions {
  readonly id?: string
  readonly method?: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
  /** Deadline for the whole exchange; default 2 seconds. */
  readonly timeout?: number
}

/** An HTTP exchange with an HTTP target: status, headers, body (first 64 KiB) and latency. */
export const http = (target: HttpTarget, path: string, options: HttpProbeOptions = {}): Probe<HttpResponse> => {
  const id = options.id ?? `${target.id} ${options.method ?? "GET"} ${path}`
  return make({
    id,
    target,
    // Through the target: its TLS settings, client certificate, SNI and default headers apply.
    observe: Effect.map(
      request(
        target,
        {
          path,
          ...(options.method === undefined ? {} : { method: options.method }),
          ...(options.headers === undefined ? {} : { headers: options.headers }),
          ...(options.body === undefined ? {} : { body: options.body }),
          timeoutMs: options.timeout ?? target.timeoutMs ?? 2000,
        },
        id,
      ),
      (x): HttpResponse => ({ status: x.status, headers: x.headers, body: x.body, ms: x.ms }),
    ),
  })
}

/** The status code of an HTTP request to `path`. */
export const status = (target: HttpTarget, path: string, options: HttpProbeOptions = {}): Probe<number> => {
  const base = http(target, path, options)
  const id = options.id ?? `${target.id} status ${path}`
  return make({ id, title: options.id ?? `status of ${options.method ?? "GET"} ${path} on ${target.id}`, target, observe: Effect.map(observeOf<HttpResponse>(base), (r) => r.status) })
}

/** Maps a probe's value: `Probe.map(Probe.http(api, "/"), r => r.headers["server"])`. */
export const map = <A, B>(probe: Probe<A>, f: (a: A) => B, id?: string): Probe<B> =>
  make({ id: id ?? probe.id, title: id ?? probe.title, target: probe.target, observe: Effect.map(observeOf<A>(probe), f) })
