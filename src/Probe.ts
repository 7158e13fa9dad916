/**
 * Probes: read-only observations (safety class `observe`) returning a typed value. Adapters
 * build them; users can write their own with `Probe.make` from an Effect or an async function.
 */
import { Effect } from "effect"
import { send, type HttpResponse } from "./internal/http.ts"
import { observeOf, sealProbe } from "./internal/capability.ts"
import { lift, type Thunk } from "./internal/lift.ts"
import { fail, ProbeFailed } from "./ShiftupError.ts"
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

export interface ProbeOptions<A> {
  readonly id: string
  readonly title?: string
  readonly target: Target
  /** An Effect, or a function returning a value or a Promise. A throw becomes `ProbeFailed`. */
  readonly observe: Thunk<A>
}

/**
 * A custom probe.
 *
 * @example
 * const queueDepth = Probe.make({ id: "queue-depth", target: queue, observe: async () => (await stats()).depth })
 */
export const make = <A>(options: ProbeOptions<A>): Probe<A> =>
  sealProbe({ [ProbeTypeId]: variance, _tag: "Probe", id: options.id, title: options.title ?? options.id, target: options.target } as Probe<A>, {
    observe: lift(options.observe, (detail) => fail(new ProbeFailed({ probe: options.id, target: options.target.id, detail }))),
  })

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
    observe: send(
      {
        url: new URL(path, target.url).toString(),
        ...(options.method === undefined ? {} : { method: options.method }),
        ...(options.headers === undefined ? {} : { headers: options.headers }),
        ...(options.body === undefined ? {} : { body: options.body }),
        timeoutMs: options.timeout ?? 2000,
      },
      { probe: id, target: target.id },
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
