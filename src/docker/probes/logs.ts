/**
 * Log lines: the first line of a container's log (stdout and stderr) matching a pattern, since
 * the run began — the form for time-to-detect checks on a detector's own log.
 */
import { Duration, Effect } from "effect"
import * as Expect from "../../Expect.ts"
import * as Probe from "../../Probe.ts"
import { RunContext } from "../../RunContext.ts"
import { DockerEngine } from "../internal/client.ts"
import { engineError } from "../internal/errors.ts"
import { failedWith, observed } from "../internal/observe.ts"
import type { ContainerTarget } from "../targets.ts"
import type { ProbeOptions } from "./state.ts"

export interface LogLineOptions extends ProbeOptions {
  /**
   * Only lines logged since then: `"run"` (default) is the start of the current run —
   * outside a run, the whole log; or a moment.
   */
  readonly since?: "run" | Date
  /**
   * Keep looking until a line matches or this much time has passed (then the value is
   * `undefined`). Without it the probe looks once — the form for `Expect.eventually` and
   * `Expect.detects`, which do the polling and measure the time themselves.
   */
  readonly within?: Duration.Input
  /** Poll interval with `within`; default 100 ms. */
  readonly every?: Duration.Input
}

const matcherOf = (pattern: RegExp | string) =>
  typeof pattern === "string"
    ? (line: string) => line.includes(pattern)
    : (line: string) => {
        pattern.lastIndex = 0
        return pattern.test(line)
      }

/** A value of `logLine` that is a line: a matcher for `Expect.eventually` / `Expect.detects`. */
export const found: Expect.Matcher<string | undefined> = Expect.predicate("a matching line", (line: string | undefined) => line !== undefined)

/**
 * The first log line (stdout and stderr) of the target matching `pattern` — a RegExp, or a
 * string the line must contain — or `undefined` when none does yet. With several members, the
 * first member (in name order) that logged one. Lines of earlier incarnations of a restarted
 * container count too, when they are after `since`.
 *
 * @example
 * // time-to-detect: the IDS container logs an alert within 10 s of the injection
 * method: [Docker.pause(auth), Expect.detects(Docker.logLine(ids, /ALERT .*auth/), Docker.found, { within: "10 seconds" })]
 * // or one observation that waits by itself
 * Expect.that(Docker.logLine(ids, "ALERT", { within: "10 seconds" }), Docker.found)
 */
export const logLine = (target: ContainerTarget, pattern: RegExp | string, options: LogLineOptions = {}): Probe.Probe<string | undefined> => {
  const id = options.id ?? `${target.id} log line matching ${typeof pattern === "string" ? JSON.stringify(pattern) : String(pattern)}`
  const test = matcherOf(pattern)
  const withinMs = options.within === undefined ? undefined : Duration.toMillis(Duration.fromInputUnsafe(options.within))
  const everyMs = options.every === undefined ? 100 : Duration.toMillis(Duration.fromInputUnsafe(options.every))
  const once = (sinceMs: number | undefined) =>
    Effect.gen(function* () {
      const engine = yield* DockerEngine
      const list = yield* observed(target, id)
      for (const c of list) {
        const text = yield* engine.logs(c.id, sinceMs === undefined ? {} : { sinceS: sinceMs / 1000 }).pipe(Effect.mapError((e) => engineError(engine.address, e, failedWith(id, target.id))))
        const line = text.split("\n").map((l) => l.replace(/\r$/, "")).find(test)
        if (line !== undefined) return line
      }
      return undefined
    })
  return Probe.make({
    id,
    title: options.id ?? `a log line of ${target.id} matching ${String(pattern)}`,
    target,
    observe: Effect.gen(function* () {
      const sinceMs = options.since instanceof Date ? options.since.getTime() : (yield* RunContext).startedAt
      if (withinMs === undefined) return yield* once(sinceMs)
      const deadline = Date.now() + withinMs
      for (;;) {
        const line = yield* once(sinceMs)
        if (line !== undefined || Date.now() + everyMs > deadline) return line
        yield* Effect.sleep(everyMs)
      }
    }),
  })
}
