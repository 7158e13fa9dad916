/**
 * Injection payloads generated with fast-check (SQL injection, XSS, path traversal, command
 * injection, header/CRLF injection): no 5xx, no unescaped reflection, no sign the payload ran,
 * blocked where a WAF is expected. A failure is shrunk to a minimal payload, and the report
 * carries the seed and path that replay exactly that case (`{ seed, path }` options).
 *
 * fast-check is loaded only when a fuzz probe runs (it is a peer of this module).
 */
import { Cause, Effect, Exit } from "effect"
import type * as FC from "fast-check"
import * as Probe from "../../Probe.ts"
import { RunContext } from "../../RunContext.ts"
import { describeUnknown, fail, ProbeFailed } from "../../ShiftupError.ts"
import { HttpClient, request, type Exchange } from "../client.ts"
import type { SecurityTarget } from "../targets.ts"
import { finding, type Report, type RuleId, type SecurityFinding } from "../findings.ts"
import type { Value } from "../../Secret.ts"

export type Family = "sqli" | "xss" | "traversal" | "command" | "crlf"

export const families: ReadonlyArray<Family> = ["sqli", "xss", "traversal", "command", "crlf"]

/** The cores of each family, simplest first: shrinking moves towards the first. */
export const cores: Readonly<Record<Family, ReadonlyArray<string>>> = {
  sqli: ["'", "' OR '1'='1", "1' --", "\" OR 1=1 --", "' UNION SELECT NULL--", "1;SELECT pg_sleep(0)--"],
  xss: ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=alert(1)>", "<iframe src=javascript:alert(1)>"],
  traversal: ["../../../../etc/passwd", "..%2f..%2f..%2f..%2fetc%2fpasswd", "....//....//....//etc/passwd", "..\\..\\..\\windows\\win.ini"],
  command: [";id", "|id", "$(id)", "`id`", "&& id"],
  crlf: ["\r\nX-Shiftup-Injected: 1", "\nX-Shiftup-Injected: 1", "\r\n\r\n<h1>injected</h1>"],
}

export interface Payload {
  readonly family: Family
  readonly payload: string
}

export interface FuzzOptions {
  /** Request path with a `{payload}` placeholder (URL-encoded into it), e.g. `/search?q={payload}`. */
  readonly path: string
  readonly families?: ReadonlyArray<Family>
  /** Payloads tried; default 50. */
  readonly runs?: number
  /** Fixed seed (for CI), or a failure's seed to replay it (with `path`). */
  readonly seed?: number
  /** fast-check's replay path of a failure (`replay.path` of a report). */
  readonly replayPath?: string
  /** Expect a WAF: every payload must be answered 403, 406 or 429. */
  readonly waf?: boolean
  readonly method?: string
  readonly headers?: Readonly<Record<string, Value>>
  readonly id?: string
}

export interface FuzzObservation {
  readonly seed: number
  readonly runs: number
  readonly failed: boolean
  /** The minimal failing payload after shrinking. */
  readonly counterexample: (Payload & { readonly rule: RuleId; readonly status: number }) | null
  readonly shrinks: number
  /** Give these back as `{ seed, replayPath }` to replay exactly the failing case. */
  readonly replay: { readonly seed: number; readonly path: string } | null
}

const sqlError = /SQL syntax|SQLITE_ERROR|unterminated quoted string|syntax error at or near|ORA-\d{5}|mysql_fetch|pg_query|ODBC SQL Server/i
const blockedStatuses = new Set([403, 406, 429])

/** Pure: what a response to a payload shows, or `null` when it held. */
export const judge = (p: Payload, r: Exchange, waf: boolean): RuleId | null => {
  if (r.status >= 500) return "inject.server-error"
  if (waf && !blockedStatuses.has(r.status)) return "inject.not-blocked"
  const core = cores[p.family].find((c) => p.payload.includes(c))
  if (p.family === "xss" && core !== undefined && r.body.includes(core)) return "inject.reflected-unescaped"
  if (p.family === "sqli" && sqlError.test(r.body)) return "inject.sql-error"
  if (p.family === "traversal" && /root:x:0:0:|\[fonts\]|\[extensions\]/.test(r.body)) return "inject.traversal"
  if (p.family === "command" && /uid=\d+\(\w+\) gid=\d+/.test(r.body)) return "inject.command"
  if (p.family === "crlf" && (r.headers["x-shiftup-injected"] !== undefined || r.body.includes("<h1>injected</h1>"))) return "inject.header-injection"
  return null
}

const filler = (fc: typeof FC) => fc.string({ unit: fc.constantFrom(..."abcxyz019 _-".split("")), maxLength: 6 })

/** The payload arbitrary: filler + a core of the family + filler; shrinks to the simplest core alone. */
export const payloads = (fc: typeof FC, fams: ReadonlyArray<Family>): FC.Arbitrary<Payload> =>
  fc.constantFrom(...fams).chain((family) =>
    fc.tuple(filler(fc), fc.constantFrom(...cores[family]), filler(fc)).map(([a, core, b]) => ({ family, payload: `${a}${core}${b}` })),
  )

export const probe = (target: SecurityTarget, options: FuzzOptions): Probe.Probe<Report<FuzzObservation>> => {
  if (!options.path.includes("{payload}")) throw new Error(`Fuzz.probe: path "${options.path}" has no {payload} placeholder`)
  const id = options.id ?? `${target.id} fuzz ${options.path}`
  return Probe.make({
    id,
    target,
    observe: Effect.gen(function* () {
      const run = yield* RunContext
      const client = yield* HttpClient
      const fc = yield* Effect.tryPromise({ try: () => import("fast-check"), catch: (e) => fail(new ProbeFailed({ probe: id, target: target.id, detail: `fast-check is needed for fuzzing: ${describeUnknown(e)}` })) })
      const seen = new Map<string, { rule: RuleId; status: number }>()
      let first = true
      // Interrupting the probe aborts `signal`: the request in flight is aborted with it, and
      // the property then interrupts fast-check's loop (no further run, no shrinking).
      const attempt = async (p: Payload, signal: AbortSignal): Promise<boolean> => {
        if (signal.aborted) throw new fc.PreconditionFailure(true)
        const path = options.path.replace("{payload}", encodeURIComponent(p.payload))
        const send = request(target, { path, method: options.method ?? "GET", ...(options.headers === undefined ? {} : { headers: options.headers }), maxBody: 16_384 })
        const paced = first ? send : Effect.andThen(run.throttle(target.id), send)
        first = false
        const exit = await Effect.runPromiseExit(paced.pipe(Effect.provideService(RunContext, run), Effect.provideService(HttpClient, client)), { signal })
        if (signal.aborted) throw new fc.PreconditionFailure(true)
        if (Exit.isFailure(exit)) throw Cause.squash(exit.cause)
        const r = exit.value
        const rule = judge(p, r, options.waf === true)
        if (rule !== null) seen.set(`${p.family}\u0000${p.payload}`, { rule, status: r.status })
        return rule === null
      }
      const details = yield* Effect.tryPromise({
        try: (signal) =>
          fc.check(
            fc.asyncProperty(payloads(fc, options.families ?? families), (p) => attempt(p, signal)),
            {
              numRuns: options.runs ?? 50,
              ...(options.seed === undefined ? {} : { seed: options.seed }),
              ...(options.replayPath === undefined ? {} : { path: options.replayPath }),
            },
          ),
        catch: (e) => fail(new ProbeFailed({ probe: id, target: target.id, detail: describeUnknown(e) })),
      })
      const ce = details.counterexample?.[0]
      const verdict = ce === undefined ? undefined : seen.get(`${ce.family}\u0000${ce.payload}`)
      // A failure without a verdict is a request that failed (a reset, a timeout): the probe could not observe.
      if (details.failed && verdict === undefined) return yield* Effect.fail(fail(new ProbeFailed({ probe: id, target: target.id, detail: details.errorInstance === null ? "the fuzz run failed" : describeUnknown(details.errorInstance) })))
      const counterexample = ce === undefined || verdict === undefined ? null : { ...ce, ...verdict }
      const replay = details.failed && details.counterexamplePath !== null ? { seed: details.seed, path: details.counterexamplePath } : null
      const findings: Array<SecurityFinding> =
        counterexample === null
          ? []
          : [finding(counterexample.rule, `${options.method ?? "GET"} ${options.path} with ${counterexample.family} payload ${JSON.stringify(counterexample.payload)} answered ${counterexample.status} (shrunk ${details.numShrinks} time(s); replay with { seed: ${details.seed}, replayPath: "${replay?.path ?? ""}" })`)]
      return { observation: { seed: details.seed, runs: details.numRuns, failed: details.failed, counterexample, shrinks: details.numShrinks, replay }, findings }
    }),
  })
}

export const ruleIds = ["inject.server-error", "inject.reflected-unescaped", "inject.sql-error", "inject.traversal", "inject.command", "inject.header-injection", "inject.not-blocked"] as const
