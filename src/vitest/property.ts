/**
 * A property (`Property.make`) as one vitest test: fast-check draws fault schedules, each a real
 * run; on a counterexample the test fails with the minimal schedule, its findings, the seed and
 * the line that replays it in this test. Schedules stop (and roll back) when the test's timeout
 * nears.
 */
import { it } from "vitest"
import * as Property from "../Property.ts"
import type { RunOptions } from "../Runner.ts"

export interface PropertyTestOptions {
  /** Test name; default `<id> — <title>`. */
  readonly name?: string
  readonly seed?: number
  /** Replays one counterexample exactly: the `<seed>:<path>` a failure printed. */
  readonly replay?: string
  /** Overrides the property's `runs`. */
  readonly runs?: number
  /** The test's timeout in ms; the property's time limit is kept 5 s under it. Default 180 000. */
  readonly timeout?: number
  /** Options of every run (config, stateDir…). Its signal is managed by the test. */
  readonly run?: Omit<RunOptions, "signal">
}

/** The error a failed property test throws: the verdict, as a person reads it. */
export class CounterexampleError extends Error {
  override readonly name = "CounterexampleError"
}

/**
 * Registers a property as one test.
 *
 * @example
 * testProperty(gatewayOrdering, { seed: 7 })
 * // a failure prints: replay in this test with testProperty(property, { replay: "7:0:1:3" })
 */
export const testProperty = (property: Property.Property, options: PropertyTestOptions = {}): void => {
  const timeout = options.timeout ?? 180_000
  const replay = options.replay === undefined ? undefined : Property.parseReplay(options.replay)
  it(options.name ?? `${property.id} — ${property.title}`, async () => {
    if (options.replay !== undefined && replay === undefined) throw new Error(`replay "${options.replay}": expected <seed>:<path> as a failure printed it`)
    const controller = new AbortController()
    const result = await Property.check(property, {
      run: { journal: false, ...options.run, signal: controller.signal },
      timeLimit: Math.min(property.timeLimitMs, Math.max(1000, timeout - 5000)),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.runs === undefined ? {} : { runs: options.runs }),
      ...(replay === undefined ? {} : { replay }),
    })
    if (result.status === "passed") return
    const replayLine = result.replay === undefined ? [] : [`  replay in this test: testProperty(property, { replay: "${result.replay.replace("--replay ", "")}" })`]
    throw new CounterexampleError([Property.describe(result).trimEnd(), ...replayLine].join("\n"))
  }, timeout)
}
