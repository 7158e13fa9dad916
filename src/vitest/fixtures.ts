/**
 * Test fixtures (`test.extend`): `lab` starts the embedded demo lab on free loopback ports for one
 * test and closes it when the test ends — passed, failed or timed out — and `run` is
 * `runExperiment` bound to the test (abort and rollback on a timeout, waited for before the test
 * ends). While a test holds `lab`, `SHIFTUP_LAB_PORT` points at it, so experiments built in the
 * test with `DemoLab` target it: do not share one process's env between concurrent tests.
 */
import { test as base, type TestContext } from "vitest"
import type { Experiment } from "../Experiment.ts"
import type { Journal } from "../Journal.ts"
import { startLab, type Lab } from "../testing/lab.ts"
import { runExperiment, type TestRunOptions } from "./run.ts"

export interface ShiftupFixtures {
  /** The demo lab on four consecutive free ports of 127.0.0.1, for this test only. */
  readonly lab: Lab & { readonly base: number }
  /** Runs an experiment tied to this test (see `runExperiment`). */
  readonly run: (experiment: Experiment, options?: Omit<TestRunOptions, "context">) => Promise<Journal>
}

const startOnFreePorts = async (): Promise<Lab & { readonly base: number }> => {
  let last: unknown
  for (let attempt = 0; attempt < 20; attempt++) {
    // Below the ephemeral range and clear of the data store ports the classifier knows.
    const base = 20_000 + 4 * Math.floor(Math.random() * 1500)
    try {
      return Object.assign(await startLab({ base }), { base })
    } catch (e) {
      last = e
    }
  }
  throw new Error(`no free base port for the demo lab: ${String(last)}`)
}

/** Runs still going, per test: a fixture's teardown aborts them and waits for their rollback. */
const active = new WeakMap<object, Set<{ readonly abort: () => void; readonly done: Promise<unknown> }>>()
const settle = async (task: object) => {
  const runs = [...(active.get(task) ?? [])]
  for (const r of runs) r.abort()
  await Promise.all(runs.map((r) => r.done))
}

/**
 * The fixture definitions, for `test.extend(shiftupFixtures)` next to fixtures of your own.
 */
export const shiftupFixtures = {
  lab: async ({ task }: { readonly task: object }, use: (lab: ShiftupFixtures["lab"]) => Promise<void>) => {
    const lab = await startOnFreePorts()
    const before = process.env["SHIFTUP_LAB_PORT"]
    process.env["SHIFTUP_LAB_PORT"] = String(lab.base)
    try {
      await use(lab)
    } finally {
      // Fixtures are torn down before onTestFinished hooks run: roll back the test's runs while
      // the lab they target still answers.
      await settle(task)
      if (before === undefined) delete process.env["SHIFTUP_LAB_PORT"]
      else process.env["SHIFTUP_LAB_PORT"] = before
      await lab.close()
    }
  },
  run: async ({ task, signal, onTestFinished }: Pick<TestContext, "task" | "signal" | "onTestFinished">, use: (run: ShiftupFixtures["run"]) => Promise<void>) => {
    const runs = active.get(task) ?? new Set()
    active.set(task, runs)
    try {
      await use((experiment, options = {}) => {
        const controller = new AbortController()
        const fromCaller = () => controller.abort(options.signal?.reason)
        if (options.signal?.aborted === true) fromCaller()
        options.signal?.addEventListener("abort", fromCaller, { once: true })
        const running = runExperiment(experiment, { ...options, signal: controller.signal, context: { task, signal, onTestFinished } })
        const entry = { abort: () => controller.abort("the test ended"), done: running.catch(() => undefined) }
        runs.add(entry)
        void entry.done.then(() => {
          runs.delete(entry)
          options.signal?.removeEventListener("abort", fromCaller)
        })
        return running
      })
    } finally {
      await settle(task)
    }
  },
}

const extend = () => base.extend<ShiftupFixtures>(shiftupFixtures)
let extended: ReturnType<typeof extend> | undefined
// Created on first use: `test.extend` needs a running vitest, and this module is also imported
// by vitest config files (for the reporter).
const get = () => (extended ??= extend())

/**
 * `test` with the `lab` and `run` fixtures.
 *
 * @example
 * import { test } from "shiftup/vitest"
 * test("fails closed", async ({ lab, run, expect }) => {
 *   const journal = await run(buildExperiment())
 *   expect(journal).toFailClosed()
 *   expect(lab.authMode()).toBe("ok")
 * })
 */
export const test: ReturnType<typeof extend> = new Proxy(function shiftupTest() {} as unknown as ReturnType<typeof extend>, {
  apply: (_target, thisArg, args: Array<unknown>) => Reflect.apply(get() as unknown as (...a: Array<unknown>) => unknown, thisArg, args),
  get: (_target, prop) => Reflect.get(get(), prop),
})
