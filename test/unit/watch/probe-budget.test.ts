/**
 * The probe budget a watcher's jobs share: whatever order and times bookings come in, no window
 * of `burst / rate` seconds holds more than `burst` of them, no two under one key are closer than
 * the per-key interval, and a booking that must wait for its key does not hold up other keys.
 * A run's pacer books there too: the later of its own slot and the shared one is used.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { pacer, probeBudget } from "../../../src/RunContext.ts"

const maxInWindow = (times: ReadonlyArray<number>, window: number) => {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] as number) - (sorted[j] as number) >= window) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

describe("probeBudget", () => {
  it("never books more than `burst` in any window of burst / rate seconds, nor two under one key closer than the interval", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 300 }),
        fc.array(fc.record({ key: fc.constantFrom("a", "b", "c"), at: fc.integer({ min: 0, max: 2000 }) }), { maxLength: 60 }),
        (rate, burst, perKeyMs, requests) => {
          const base = Date.now() + 10_000
          const budget = probeBudget({ perSecond: rate, burst, perKeyMs })
          const booked = requests.map((r) => ({ key: r.key, t: budget.book(r.key, base + r.at) }))
          for (const [i, b] of booked.entries()) expect(b.t).toBeGreaterThanOrEqual(base + (requests[i] as { at: number }).at)
          expect(maxInWindow(booked.map((b) => b.t), (burst * 1000) / rate - 0.01)).toBeLessThanOrEqual(burst)
          for (const key of ["a", "b", "c"]) if (perKeyMs > 0) expect(maxInWindow(booked.filter((b) => b.key === key).map((b) => b.t), perKeyMs - 0.01)).toBeLessThanOrEqual(1)
          expect(budget.booked()).toBe(requests.length)
        },
      ),
    )
  })

  it("a booking that waits for its host does not hold up another host", () => {
    const budget = probeBudget({ perSecond: 100, perKeyMs: 1000 })
    const t = Date.now() + 10_000
    expect(budget.book("a", t)).toBe(t)
    expect(budget.book("a", t)).toBe(t + 1000)
    // Host b goes right after a's first slot (10 ms spacing), not after a's second.
    expect(budget.book("b", t)).toBe(t + 10)
  })

  it("a run's pacer books in the shared budget: two runs together keep to its rate", () => {
    const budget = probeBudget({ perSecond: 10 })
    const one = pacer(Infinity, { budget, keyOf: (x) => x })
    const two = pacer(Infinity, { budget, keyOf: (x) => x })
    const waits = [one.reserve("api"), two.reserve("web"), one.reserve("api"), two.reserve("web")]
    expect(waits[0]).toBe(0)
    // 100 ms apart, whichever run asks.
    for (const [i, w] of waits.entries()) expect(w).toBeGreaterThanOrEqual(i * 100 - 5)
    // Without the shared budget, an unpaced run waits for nothing.
    expect(pacer(Infinity).reserve("api")).toBe(0)
  })
})
