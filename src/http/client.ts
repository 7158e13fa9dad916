/**
 * The HTTP client of `shiftup/http`: the core's one client (`src/internal/http.ts`: undici
 * agents owned by the run, correlation headers, the egress allowlist checked in the connector
 * after DNS resolution, precise deadlines, the target's TLS settings) plus secrets redacted from
 * everything a request returns, and bursts.
 */
import { Context, Effect } from "effect"
import type { HttpTarget as SecurityTarget } from "../Http.ts"
import { HttpClient, sendTo, type Abortable, type Exchange, type Request } from "../internal/http.ts"
import { RunContext } from "../RunContext.ts"
import { fail, isShiftupError, ProbeFailed, type ShiftupError } from "../ShiftupError.ts"
import { isSecret, secret, type Secret, type Value } from "../Secret.ts"

export { closeRun, egressConnector, HttpClient, request, runOwned, type Exchange, type HttpClientService, type Request, type TlsSettings } from "../internal/http.ts"

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
          handle = sendTo(run, client, target, make(i), label, (r) => {
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

/**
 * A JSON request body whose values may be secrets (a login's password): spread it into a
 * request (or a probe's options). The body is sent with the secrets revealed and is itself a
 * secret, and each secret value is listed in `secrets`, so a server that echoes it (whole, or
 * one value) has it redacted from everything the request returns.
 *
 * @example
 * const password = Http.secret(process.env["PASSWORD"] ?? "")
 * Http.request(api, { method: "POST", path: "/login", ...Http.json({ user: "alice", password }) })
 */
export const json = (value: unknown): { readonly body: Value; readonly headers: Readonly<Record<string, string>>; readonly secrets: ReadonlyArray<Secret> } => {
  const secrets: Array<Secret> = []
  // A Secret's toJSON runs before the replacer sees it: the holder still has the Secret itself.
  const text = JSON.stringify(value, function (this: Readonly<Record<string, unknown>>, key: string, v: unknown) {
    const raw = this[key]
    if (!isSecret(raw)) return v
    secrets.push(raw)
    return raw.reveal()
  })
  if (text === undefined) throw new TypeError("Http.json: the value has no JSON form (undefined or a function)")
  return { body: secrets.length === 0 ? text : secret(text), headers: { "content-type": "application/json" }, secrets }
}

/** Paces a further request of the same observation under the probe rate. */
export const paced = <A>(target: SecurityTarget, effect: Effect.Effect<A, ShiftupError>): Effect.Effect<A, ShiftupError> =>
  Effect.flatMap(RunContext, (run) => Effect.andThen(run.throttle(target.id), effect))
