/**
 * HTTP faults as undici interceptors (`dispatch => dispatch`), for client-side fault injection
 * inside a test suite: added latency, injected status codes, dropped or altered headers (strip
 * `Authorization`, tamper a cookie, replay a stale token), corrupted or truncated bodies,
 * aborted responses. They compose with the user's own interceptors: in undici's
 * `dispatcher.compose(a, b)` the LAST one is outermost — it sees the request first and the
 * response last. `compose(retry, fault)`: the client sees the fault, retry never does;
 * `compose(fault, retry)`: retry sees the fault and may hide it.
 */
import type { Dispatcher } from "undici"

export type Interceptor = Dispatcher.DispatcherComposeInterceptor
type Dispatch = Dispatcher.Dispatch
type Handler = Dispatcher.DispatchHandler
type Options = Dispatcher.DispatchOptions
type Controller = Dispatcher.DispatchController

/** Which requests a fault applies to. Every field narrows; none means every request. */
export interface Match {
  readonly method?: string
  /** Path prefix (a string) or pattern, matched against the request path with its query. */
  readonly path?: string | RegExp
  /** Origin such as `http://127.0.0.1:8080`. */
  readonly origin?: string
  /** Only the first `times` matching requests (e.g. one failure a retry should hide). */
  readonly times?: number
  /** Probability that a matching request is affected; default 1. */
  readonly probability?: number
  /** Randomness for `probability`; default `Math.random`. */
  readonly random?: () => number
}

const matcher = (m: Match = {}) => {
  let hits = 0
  return (opts: Options): boolean => {
    if (m.method !== undefined && opts.method.toUpperCase() !== m.method.toUpperCase()) return false
    if (m.path !== undefined && (typeof m.path === "string" ? !opts.path.startsWith(m.path) : !m.path.test(opts.path))) return false
    if (m.origin !== undefined && opts.origin !== undefined && new URL(String(opts.origin)).origin !== new URL(m.origin).origin) return false
    if (m.times !== undefined && hits >= m.times) return false
    if (m.probability !== undefined && m.probability < 1 && (m.random ?? Math.random)() >= m.probability) return false
    hits++
    return true
  }
}

/** An interceptor that applies `wrap` to matching requests only. */
const when = (m: Match | undefined, wrap: (dispatch: Dispatch, opts: Options, handler: Handler) => boolean): Interceptor => {
  const matches = matcher(m)
  return (dispatch) => (opts, handler) => (matches(opts) ? wrap(dispatch, opts, handler) : dispatch(opts, handler))
}

/** Request headers as a plain record, whatever form the caller used. */
const headersOf = (opts: Options): Record<string, string> => {
  const out: Record<string, string> = {}
  const h = opts.headers as unknown
  if (h == null) return out
  const put = (k: unknown, v: unknown) => {
    if (v !== undefined && v !== null) out[String(k).toLowerCase()] = Array.isArray(v) ? v.map(String).join(", ") : String(v)
  }
  if (Array.isArray(h)) {
    if (h.length > 0 && Array.isArray(h[0])) for (const [k, v] of h as Array<[unknown, unknown]>) put(k, v)
    else for (let i = 0; i + 1 < h.length; i += 2) put(h[i], h[i + 1])
  } else if (typeof (h as Iterable<unknown>)[Symbol.iterator] === "function") for (const [k, v] of h as Iterable<[unknown, unknown]>) put(k, v)
  else for (const [k, v] of Object.entries(h as Record<string, unknown>)) put(k, v)
  return out
}

/** Delays matching requests by `ms` before they are sent. */
export const delay = (options: Match & { readonly ms: number }): Interceptor =>
  when(options, (dispatch, opts, handler) => {
    setTimeout(() => dispatch(opts, handler), options.ms)
    return true
  })

/** A controller for a response that never touched the network. */
const syntheticController = (): Controller & { readonly state: { aborted: boolean; reason: Error | null } } => {
  const state = { aborted: false, paused: false, reason: null as Error | null }
  return {
    state,
    get aborted() {
      return state.aborted
    },
    get paused() {
      return state.paused
    },
    get reason() {
      return state.reason
    },
    abort: (reason) => {
      state.aborted = true
      state.reason = reason
    },
    pause: () => (state.paused = true),
    resume: () => (state.paused = false),
  }
}

/** Answers matching requests with `status` (and optional headers and body) without sending them. */
export const respond = (options: Match & { readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body?: string }): Interceptor =>
  when(options, (_dispatch, _opts, handler) => {
    const body = Buffer.from(options.body ?? "")
    const headers = { "content-length": String(body.length), "x-shiftup-fault": "respond", ...options.headers }
    const controller = syntheticController()
    // As undici's own core does: a handler that throws (retry does, to ask for a retry) or
    // aborts gets the error through onResponseError, and no further callback.
    const step = (f: () => void): boolean => {
      try {
        f()
      } catch (e) {
        handler.onResponseError?.(controller, e instanceof Error ? e : new Error(String(e)))
        return false
      }
      if (!controller.state.aborted) return true
      handler.onResponseError?.(controller, controller.state.reason ?? new Error("aborted"))
      return false
    }
    setImmediate(() => {
      if (!step(() => handler.onRequestStart?.(controller, {}))) return
      if (!step(() => handler.onResponseStart?.(controller, options.status, headers, ""))) return
      if (body.length > 0 && !step(() => handler.onResponseData?.(controller, body))) return
      step(() => handler.onResponseEnd?.(controller, {}))
    })
    return true
  })

/** Answers matching requests with a 5xx (default 503). */
export const serverError = (options: Match & { readonly status?: number } = {}): Interceptor =>
  respond({ ...options, status: options.status ?? 503, body: options.status === undefined ? "Service Unavailable (injected by shiftup)" : "injected by shiftup" })

/** Rewrites the request headers of matching requests. */
export const requestHeaders = (options: Match & { readonly edit: (headers: Record<string, string>) => Record<string, string> }): Interceptor =>
  when(options, (dispatch, opts, handler) => dispatch({ ...opts, headers: options.edit(headersOf(opts)) }, handler))

/** Drops request headers (default `authorization`) — does the server then refuse? */
export const stripHeaders = (options: Match & { readonly names?: ReadonlyArray<string> } = {}): Interceptor => {
  const names = new Set((options.names ?? ["authorization"]).map((n) => n.toLowerCase()))
  return requestHeaders({ ...options, edit: (h) => Object.fromEntries(Object.entries(h).filter(([k]) => !names.has(k))) })
}

/** Sends a stale or revoked token instead of the real one: `Authorization: <scheme> <token>`. */
export const replayToken = (options: Match & { readonly token: string; readonly scheme?: string }): Interceptor =>
  requestHeaders({ ...options, edit: (h) => ({ ...h, authorization: `${options.scheme ?? "Bearer"} ${options.token}` }) })

/** Sets one cookie of the request to `value` (added if absent). */
export const tamperCookie = (options: Match & { readonly name: string; readonly value: string }): Interceptor =>
  requestHeaders({
    ...options,
    edit: (h) => {
      const pairs = (h["cookie"] ?? "").split(/;\s*/).filter((p) => p !== "" && p.split("=")[0] !== options.name)
      return { ...h, cookie: [...pairs, `${options.name}=${options.value}`].join("; ") }
    },
  })

/** A handler that forwards to `inner`, overriding some callbacks. */
const decorate = (inner: Handler, overrides: Partial<Handler>): Handler => ({
  onRequestStart: (c, ctx) => inner.onRequestStart?.(c, ctx),
  onRequestUpgrade: (c, s, h, sock) => inner.onRequestUpgrade?.(c, s, h, sock),
  onResponseStart: (c, s, h, m) => inner.onResponseStart?.(c, s, h, m),
  onResponseData: (c, chunk) => inner.onResponseData?.(c, chunk),
  onResponseEnd: (c, t) => inner.onResponseEnd?.(c, t),
  onResponseError: (c, e) => inner.onResponseError?.(c, e),
  ...overrides,
})

/** Drops or sets response headers (e.g. remove `strict-transport-security`, or forge `set-cookie`). */
export const responseHeaders = (options: Match & { readonly drop?: ReadonlyArray<string>; readonly set?: Readonly<Record<string, string>> }): Interceptor => {
  const drop = new Set((options.drop ?? []).map((n) => n.toLowerCase()))
  return when(options, (dispatch, opts, handler) =>
    dispatch(
      opts,
      decorate(handler, {
        onResponseStart: (c, status, headers, message) => {
          const kept = Object.fromEntries(Object.entries(headers).filter(([k]) => !drop.has(k.toLowerCase())))
          handler.onResponseStart?.(c, status, { ...kept, ...options.set }, message)
        },
      }),
    ),
  )
}

/** Flips bits in the response body (every `every`-th byte, default every 64th) — does the client verify integrity? */
export const corruptBody = (options: Match & { readonly every?: number } = {}): Interceptor => {
  const every = Math.max(1, options.every ?? 64)
  return when(options, (dispatch, opts, handler) => {
    let offset = 0
    return dispatch(
      opts,
      decorate(handler, {
        onResponseData: (c, chunk) => {
          const out = Buffer.from(chunk)
          for (let i = (every - (offset % every)) % every; i < out.length; i += every) out[i] = (out[i] as number) ^ 0xff
          offset += chunk.length
          handler.onResponseData?.(c, out)
        },
      }),
    )
  })
}

/** Ends the response body after `bytes` bytes, as if it were complete (a silent truncation). */
export const truncateBody = (options: Match & { readonly bytes: number }): Interceptor =>
  when(options, (dispatch, opts, handler) => {
    let seen = 0
    let ended = false
    const finish = (c: Controller) => {
      if (ended) return
      ended = true
      handler.onResponseEnd?.(c, {})
    }
    return dispatch(
      opts,
      decorate(handler, {
        onResponseStart: (c, status, headers, message) => {
          const { "content-length": _length, ...rest } = headers
          handler.onResponseStart?.(c, status, rest, message)
          if (options.bytes === 0) finish(c)
        },
        onResponseData: (c, chunk) => {
          if (ended) return
          const room = options.bytes - seen
          seen += chunk.length
          if (chunk.length < room) return handler.onResponseData?.(c, chunk)
          if (room > 0) handler.onResponseData?.(c, chunk.subarray(0, room))
          finish(c)
        },
        onResponseEnd: (c) => finish(c),
        onResponseError: (c, e) => {
          if (!ended) handler.onResponseError?.(c, e)
        },
      }),
    )
  })

/** The error an aborted response fails with (`code: "UND_ERR_SOCKET"`, like a dropped connection). */
export class ResponseAborted extends Error {
  readonly code = "UND_ERR_SOCKET"
  override readonly name = "SocketError"
}

/** Aborts the response after `afterBytes` body bytes (default 0: right after the headers). */
export const abortResponse = (options: Match & { readonly afterBytes?: number } = {}): Interceptor =>
  when(options, (dispatch, opts, handler) => {
    const after = options.afterBytes ?? 0
    let seen = 0
    let failed = false
    const abort = (c: Controller) => {
      if (failed) return
      failed = true
      const error = new ResponseAborted(`response aborted by shiftup after ${seen} body bytes`)
      c.abort(error)
      handler.onResponseError?.(c, error)
    }
    return dispatch(
      opts,
      decorate(handler, {
        onResponseStart: (c, status, headers, message) => {
          handler.onResponseStart?.(c, status, headers, message)
          if (after === 0) abort(c)
        },
        onResponseData: (c, chunk) => {
          if (failed) return
          const room = after - seen
          if (chunk.length < room) {
            seen += chunk.length
            return handler.onResponseData?.(c, chunk)
          }
          if (room > 0) handler.onResponseData?.(c, chunk.subarray(0, room))
          seen += room
          abort(c)
        },
        onResponseEnd: (c, t) => {
          if (!failed) handler.onResponseEnd?.(c, t)
        },
        onResponseError: (c, e) => {
          if (!failed) handler.onResponseError?.(c, e)
        },
      }),
    )
  })

/**
 * A switch: an interceptor whose behaviour is the faults active now (none: a plain pass-through).
 * Compose it once where the faults belong, then let faults turn on and off at run time.
 *
 * @example
 * const faults = Net.http.faultSwitch()
 * const client = new Agent().compose(interceptors.retry(), faults.interceptor) // faults outermost
 */
export interface FaultSwitch {
  readonly interceptor: Interceptor
  /** Activates an interceptor — outermost of the active ones, as if composed last — and returns its removal. */
  readonly add: (interceptor: Interceptor) => () => void
  readonly active: () => number
}

export const faultSwitch = (): FaultSwitch => {
  let active: ReadonlyArray<Interceptor> = []
  return {
    interceptor: (dispatch) => (opts, handler) => {
      if (active.length === 0) return dispatch(opts, handler)
      let d = dispatch
      for (const i of active) d = i(d)
      return d(opts, handler)
    },
    add: (interceptor) => {
      active = [...active, interceptor]
      return () => {
        active = active.filter((i) => i !== interceptor)
      }
    },
    active: () => active.length,
  }
}
