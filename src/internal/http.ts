/**
 * The minimal HTTP client of the core: enough for the demo lab's probes and switch faults. It
 * checks the egress allowlist after resolution, connects to the checked address, carries the
 * correlation headers and honours a precise deadline. (The probe rate is the runner's job.) The full probe library is `shiftup/http`.
 */
import * as http from "node:http"
import * as https from "node:https"
import { Effect } from "effect"
import { RunContext } from "../RunContext.ts"
import { checkEgress } from "./egress.ts"
import { describeUnknown, fail, ProbeFailed, type ShiftupError } from "../ShiftupError.ts"

export interface HttpRequest {
  readonly method?: string
  readonly url: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
  readonly timeoutMs?: number
}

export interface HttpResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly ms: number
}

const maxBody = 64 * 1024

/** Sends one request; `label` names the probe or fault in errors. */
export const send = (req: HttpRequest, label: { readonly probe: string; readonly target: string }): Effect.Effect<HttpResponse, ShiftupError> =>
  Effect.gen(function* () {
    const ctx = yield* RunContext
    const url = yield* Effect.try({
      try: () => new URL(req.url),
      catch: () => fail(new ProbeFailed({ ...label, detail: `"${req.url}" is not a valid URL` })),
    })
    const { address, family } = yield* checkEgress(ctx.egress, url.hostname)
    const timeoutMs = req.timeoutMs ?? 5000
    return yield* Effect.callback<HttpResponse, ShiftupError>((resume, signal) => {
      const started = performance.now()
      const client = url.protocol === "https:" ? https : http
      const request = client.request(
        {
          method: req.method ?? "GET",
          protocol: url.protocol,
          host: url.hostname,
          port: url.port,
          path: `${url.pathname}${url.search}`,
          headers: { ...req.headers, ...ctx.headers },
          // Node's connect asks with `all: true` (happy eyeballs) and then wants a list.
          lookup: (_host, opts, cb) =>
            (opts as { readonly all?: boolean }).all === true
              ? (cb as (e: null, a: ReadonlyArray<{ readonly address: string; readonly family: number }>) => void)(null, [{ address, family }])
              : (cb as (e: null, a: string, f: number) => void)(null, address, family),
          signal,
          agent: false,
        },
        (res) => {
          const chunks: Array<Buffer> = []
          let size = 0
          res.on("data", (c: Buffer) => {
            if (size < maxBody) chunks.push(c)
            size += c.length
          })
          res.on("end", () => {
            clearTimeout(timer)
            const headers: Record<string, string> = {}
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v
            resume(Effect.succeed({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString("utf8").slice(0, maxBody), ms: performance.now() - started }))
          })
          res.on("error", (e) => resume(Effect.fail(fail(new ProbeFailed({ ...label, detail: describeUnknown(e) })))))
        },
      )
      const timer = setTimeout(() => {
        request.destroy(new Error(`no response within ${timeoutMs} ms`))
      }, timeoutMs)
      request.on("error", (e) => {
        clearTimeout(timer)
        resume(Effect.fail(fail(new ProbeFailed({ ...label, detail: `${req.method ?? "GET"} ${req.url}: ${describeUnknown(e)}` }))))
      })
      request.end(req.body)
    })
  })
