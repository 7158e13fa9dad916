/**
 * The `http` and `process` providers, as Chaos Toolkit runs them, through shiftup's own means:
 * HTTP through the run's client (correlation headers, egress allowlist after DNS, a precise
 * deadline), a process through `execFile` (no shell, ever) with a timeout. An activity fails
 * with one line saying why (no answer in time, refused, an unexpected status); what it returns
 * is Chaos Toolkit's value: `{ status, headers, body }` (the body parsed when the answer's
 * Content-Type is `application/json`) or `{ status, stdout, stderr }`.
 */
import { execFile } from "node:child_process"
import { Effect } from "effect"
import { send } from "../internal/http.ts"
import type { Json, HttpProvider, ProcessProvider, Provider } from "./model.ts"

export interface HttpOutput {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
}

export interface ProcessOutput {
  readonly status: number
  readonly stdout: string
  readonly stderr: string
}

export type Output = HttpOutput | ProcessOutput

const isObj = (u: unknown): u is Readonly<Record<string, Json>> => typeof u === "object" && u !== null && !Array.isArray(u)
const text = (v: Json): string => (typeof v === "string" ? v : JSON.stringify(v))

/** Seconds of a provider's timeout as milliseconds (a `[connect, read]` pair: their sum). */
export const timeoutMs = (p: Provider): number => {
  const t = p.timeout
  return Math.round((t === undefined ? (p.type === "http" ? 30 : 60) : typeof t === "number" ? t : t[0] + t[1]) * 1000)
}

const isJsonType = (headers: Readonly<Record<string, string>>): boolean =>
  Object.entries(headers).some(([k, v]) => k.toLowerCase() === "content-type" && /^application\/([\w.+-]+\+)?json\b/i.test(v.trim()))

/** The request an http provider sends: arguments in the query string for GET, else a JSON body (JSON Content-Type) or a form. */
export const httpRequest = (p: HttpProvider): { readonly method: string; readonly url: string; readonly headers: Readonly<Record<string, string>>; readonly body?: string } => {
  const method = (p.method ?? "GET").toUpperCase()
  const headers = { ...p.headers }
  const args = p.arguments
  if (args === undefined || args === null || (isObj(args) && Object.keys(args).length === 0)) return { method, url: p.url, headers }
  if (method === "GET") {
    const url = new URL(p.url)
    if (isObj(args)) for (const [k, v] of Object.entries(args)) for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, text(one as Json))
    return { method, url: url.toString(), headers }
  }
  if (isJsonType(headers)) return { method, url: p.url, headers, body: JSON.stringify(args) }
  if (typeof args === "string") return { method, url: p.url, headers, body: args }
  const form = new URLSearchParams()
  if (isObj(args)) for (const [k, v] of Object.entries(args)) for (const one of Array.isArray(v) ? v : [v]) form.append(k, text(one as Json))
  const hasType = Object.keys(headers).some((k) => k.toLowerCase() === "content-type")
  return { method, url: p.url, headers: hasType ? headers : { ...headers, "content-type": "application/x-www-form-urlencoded" }, body: form.toString() }
}

const runHttp = (p: HttpProvider, label: string): Effect.Effect<HttpOutput, string> => {
  let req: ReturnType<typeof httpRequest>
  try {
    req = httpRequest(p)
  } catch (e) {
    return Effect.fail(`${p.url}: ${(e as Error).message}`)
  }
  return send({ ...req, timeoutMs: timeoutMs(p) }, { probe: label, target: new URL(req.url).host }).pipe(
    Effect.mapError((e) => (e._tag === "ProbeFailed" ? e.detail : e.message)),
    Effect.flatMap((r) => {
      if (p.expected_status !== undefined && r.status !== p.expected_status) return Effect.fail(`${req.method} ${req.url} answered ${r.status}, expected ${p.expected_status}`)
      let body: unknown = r.body
      if ((r.headers["content-type"] ?? "").trim().toLowerCase() === "application/json")
        try {
          body = JSON.parse(r.body)
        } catch {
          // Chaos Toolkit would fail here; the text is kept so a regex can still look at it.
        }
      return Effect.succeed({ status: r.status, headers: r.headers, body })
    }),
  )
}

/** A string of arguments as words: quotes group, a backslash escapes, nothing is expanded. */
export const words = (line: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  let cur: string | undefined
  let quote: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string
    if (quote !== undefined) {
      if (c === quote) quote = undefined
      else if (c === "\\" && quote === '"' && i + 1 < line.length) cur = (cur ?? "") + line[++i]
      else cur = (cur ?? "") + c
    } else if (c === "'" || c === '"') {
      quote = c
      cur ??= ""
    } else if (c === "\\" && i + 1 < line.length) cur = (cur ?? "") + line[++i]
    else if (/\s/.test(c)) {
      if (cur !== undefined) out.push(cur)
      cur = undefined
    } else cur = (cur ?? "") + c
  }
  if (quote !== undefined) throw new Error(`the arguments ${JSON.stringify(line)} have an unclosed ${quote}`)
  if (cur !== undefined) out.push(cur)
  return out
}

/** The argument vector: a string split into words, a list as it is, `{ name: value }` as name, value pairs (empty ones left out). */
export const argv = (p: ProcessProvider): ReadonlyArray<string> => {
  const a = p.arguments
  if (a === undefined) return []
  if (typeof a === "string") return words(a)
  if (Array.isArray(a)) return a.map(String)
  return Object.entries(a as Readonly<Record<string, Json>>)
    .flatMap(([k, v]) => [k, v === null ? "" : text(v)])
    .filter((x) => x !== "")
}

const runProcess = (p: ProcessProvider): Effect.Effect<ProcessOutput, string> =>
  Effect.callback<ProcessOutput, string>((resume) => {
    let args: ReadonlyArray<string>
    try {
      args = argv(p)
    } catch (e) {
      resume(Effect.fail((e as Error).message))
      return
    }
    const controller = new AbortController()
    const ms = timeoutMs(p)
    execFile(p.path, [...args], { timeout: ms, killSignal: "SIGKILL", shell: false, maxBuffer: 16 * 1024 * 1024, signal: controller.signal, encoding: "utf8" }, (error, stdout, stderr) => {
      const e = error as (NodeJS.ErrnoException & { killed?: boolean; signal?: string; code?: number | string }) | null
      if (e === null) return resume(Effect.succeed({ status: 0, stdout, stderr }))
      if (typeof e.code === "number") return resume(Effect.succeed({ status: e.code, stdout, stderr }))
      if (e.killed === true && e.signal === "SIGKILL" && !controller.signal.aborted) return resume(Effect.fail(`${p.path} took longer than ${ms / 1000} s and was killed`))
      if (e.code === "ENOENT") return resume(Effect.fail(`${p.path}: no such executable`))
      if (e.code === "EACCES") return resume(Effect.fail(`${p.path}: not executable by this user`))
      if (e.signal !== undefined && e.signal !== null) return resume(Effect.succeed({ status: 128 + (signalNumbers[e.signal] ?? 0), stdout, stderr }))
      resume(Effect.fail(`${p.path}: ${e.message}`))
    })
    return Effect.sync(() => controller.abort())
  })

const signalNumbers: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 }

/** Runs a provider whose configuration and secrets are already substituted. */
export const run = (p: Provider, label: string): Effect.Effect<Output, string> => (p.type === "http" ? runHttp(p, label) : runProcess(p))

/** Whether a tolerance probe succeeded: a process that exited 0, an HTTP answer with its expected status (default: below 400). */
export const succeeded = (p: Provider, out: Output): boolean => (p.type === "process" ? out.status === 0 : p.expected_status !== undefined ? out.status === p.expected_status : out.status < 400)

/** The provider with `value` added to its arguments (a probe tolerance's input). */
export const withValue = (p: Provider, value: unknown): Provider => {
  const v = JSON.parse(JSON.stringify(value ?? null)) as Json
  if (p.type === "http") return { ...p, arguments: { ...(isObj(p.arguments) ? p.arguments : {}), value: v } }
  const a = p.arguments
  if (a === undefined || isObj(a)) return { ...p, arguments: { ...a, value: typeof v === "string" ? v : JSON.stringify(v) } }
  return { ...p, arguments: [...(typeof a === "string" ? words(a) : a), typeof v === "string" ? v : JSON.stringify(v)] }
}
