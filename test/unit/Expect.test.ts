import { describe, expect, it } from "vitest"
import { Expect, Probe, Target } from "shiftup"

const t = Target.make("t", { environment: "lab" })
const probe = Probe.make({ id: "p", title: "the probe", target: t, observe: () => 1 })

describe("matchers", () => {
  it("equals compares JSON-like values deeply", () => {
    expect(Expect.equals(200).test(200)).toBe(true)
    expect(Expect.equals(200).test(201)).toBe(false)
    expect(Expect.equals({ a: [1, 2] }).test({ a: [1, 2] })).toBe(true)
    expect(Expect.equals({ a: [1, 2] }).test({ a: [2, 1] })).toBe(false)
    expect(Expect.equals<unknown>("200").test(200)).toBe(false)
    expect(Expect.equals(null).test(null)).toBe(true)
    expect(Expect.equals("ok").describe).toBe('equals "ok"')
  })

  it("oneOf accepts any listed value", () => {
    const m = Expect.oneOf(401, 403)
    expect([401, 403].map(m.test)).toEqual([true, true])
    expect([200, 500].map(m.test)).toEqual([false, false])
    expect(m.describe).toBe("one of 401, 403")
  })

  it("range is inclusive", () => {
    const m = Expect.range(10, 20)
    expect([9, 10, 15, 20, 21].map(m.test)).toEqual([false, true, true, true, false])
    expect(m.describe).toBe("in [10, 20]")
  })

  it("regex matches, even with a global flag on repeated tests", () => {
    const m = Expect.regex(/denied/g)
    expect(m.test("access denied")).toBe(true)
    expect(m.test("access denied")).toBe(true)
    expect(m.test("welcome")).toBe(false)
    expect(m.describe).toBe("matches /denied/g")
  })

  it("predicate, not and never", () => {
    const even = Expect.predicate<number>("even", (n) => n % 2 === 0)
    expect([2, 3].map(even.test)).toEqual([true, false])
    expect([2, 3].map(Expect.not(even).test)).toEqual([false, true])
    expect(Expect.not(even).describe).toBe("not (even)")
    expect([200, 401].map(Expect.never(200).test)).toEqual([false, true])
    expect(Expect.never(200).describe).toBe("never 200")
    expect([2, 3].map(Expect.never(even).test)).toEqual([false, true])
  })

  it("a plain value is an equals matcher; a matcher stays itself", () => {
    expect(Expect.toMatcher(5).test(5)).toBe(true)
    const even = Expect.predicate<number>("even", (n) => n % 2 === 0)
    expect(Expect.toMatcher(even)).toBe(even)
    expect(Expect.isMatcher(even)).toBe(true)
    expect(Expect.isMatcher(5)).toBe(false)
  })
})

describe("checks and guards", () => {
  it("that: one observation; ids and titles come from the probe and the matcher", () => {
    const c = Expect.that(probe, Expect.oneOf(1, 2))
    expect(c).toMatchObject({ _tag: "Check", id: "p one of 1, 2", title: "the probe one of 1, 2", mode: { _tag: "once" }, severity: "high" })
    expect(c.probe).toBe(probe)
    expect(Expect.isCheck(c)).toBe(true)
    expect(Expect.isCheck(probe)).toBe(false)
  })

  it("options: id, title, severity, remediation", () => {
    const c = Expect.that(probe, 1, { id: "custom", title: "Custom", severity: "critical", remediation: "fix it" })
    expect(c).toMatchObject({ id: "custom", title: "Custom", severity: "critical", remediation: "fix it" })
    expect("remediation" in Expect.that(probe, 1)).toBe(false)
  })

  it("during: defaults 10 samples every 100 ms, burst 1; durations are converted", () => {
    expect(Expect.during(probe, Expect.never(0)).mode).toEqual({ _tag: "during", samples: 10, everyMs: 100, burst: 1 })
    expect(Expect.during(probe, 1, { samples: 3, every: "2 seconds", burst: 20 }).mode).toEqual({ _tag: "during", samples: 3, everyMs: 2000, burst: 20 })
    expect(Expect.during(probe, 1).id).toBe("p during faults: equals 1")
  })

  it("eventually / recovers measure time-to-recover from the check; detects measures time-to-detect from the last fault", () => {
    expect(Expect.eventually(probe, 1, { within: "30 seconds" }).mode).toEqual({ _tag: "eventually", withinMs: 30_000, everyMs: 100, since: "check", metric: "time-to-recover" })
    expect(Expect.recovers).toBe(Expect.eventually)
    expect(Expect.detects(probe, 1, { within: 500, every: 10 }).mode).toEqual({ _tag: "eventually", withinMs: 500, everyMs: 10, since: "last-fault", metric: "time-to-detect" })
  })

  it("guard: a stop condition with a default interval of 250 ms", () => {
    const g = Expect.guard(probe, 1)
    expect(g).toMatchObject({ _tag: "Guard", id: "guard: p equals 1", everyMs: 250 })
    expect(Expect.guard(probe, 1, { every: "5 millis", id: "g" })).toMatchObject({ id: "g", everyMs: 5 })
    expect(Expect.isGuard(g)).toBe(true)
    expect(Expect.isGuard(Expect.that(probe, 1))).toBe(false)
  })
})
