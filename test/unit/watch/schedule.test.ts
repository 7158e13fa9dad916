/**
 * The schedule: an interval ticks at start and then every interval; a cron expression (croner,
 * 6 fields here: every second) ticks on its seconds; jitter delays each tick by random × jitter;
 * a bad cron expression is named before anything starts; stop() stops every pending tick.
 */
import { describe, expect, it } from "vitest"
import { cronProblem, schedule } from "../../../src/watch/schedule.ts"

const ticks = (n: number, start: (tick: () => void) => () => void): Promise<ReadonlyArray<number>> =>
  new Promise((resolve) => {
    const at: Array<number> = []
    const stop = start(() => {
      at.push(Date.now())
      if (at.length === n) {
        stop()
        resolve(at)
      }
    })
  })

describe("schedule", () => {
  it("an interval ticks at start, then every interval", async () => {
    const t0 = Date.now()
    const at = await ticks(3, (tick) => schedule({ name: "a", experiment: "x.ts", every: 100 }, tick).stop)
    expect((at[0] as number) - t0).toBeLessThan(50)
    // The interval counts from the start, not from the first tick (which a loaded machine may run late).
    expect((at[2] as number) - t0).toBeGreaterThanOrEqual(195)
  })

  it("jitter delays each tick by random × jitter", async () => {
    const t0 = Date.now()
    const at = await ticks(1, (tick) => schedule({ name: "a", experiment: "x.ts", every: 10_000, jitter: 400 }, tick, () => 0.5).stop)
    expect((at[0] as number) - t0).toBeGreaterThanOrEqual(195)
    expect((at[0] as number) - t0).toBeLessThan(400)
  })

  it("a cron expression ticks on its seconds", async () => {
    const at = await ticks(2, (tick) => schedule({ name: "c", inventory: true, cron: "* * * * * *" }, tick).stop)
    expect(new Date(at[1] as number).getMilliseconds()).toBeLessThan(200)
    expect(Math.round(((at[1] as number) - (at[0] as number)) / 1000)).toBe(1)
  })

  it("names a bad cron expression", () => {
    expect(cronProblem("*/5 * * * *")).toBeUndefined()
    expect(cronProblem("every monday")).toMatch(/^cron expression "every monday": /)
  })

  it("stop() cancels a pending jittered tick", async () => {
    let fired = 0
    const s = schedule({ name: "a", experiment: "x.ts", every: 10_000, jitter: 100 }, () => fired++, () => 0.9)
    await new Promise((r) => setImmediate(r))
    s.stop()
    // The jittered tick was due 90 ms after start; a timer past it shows it never came.
    await new Promise((r) => setTimeout(r, 150))
    expect(fired).toBe(0)
  })
})
