/** The journal matchers on real journals (test/fixtures/report/journals): pass, fail, and their messages. */
import { describe, expect, it } from "vitest"
import "shiftup/vitest"
import { aborted, byStatus } from "../unit/report/journals.ts"

const passed = byStatus("passed") // alerts.auth-outage-detected: detection in a few ms
const failed = byStatus("failed") // gateway.fails-closed.auth-slow: fails open
const refused = byStatus("refused")

describe("journal matchers", () => {
  it("toHoldHypothesis: before and after held; refused and aborted runs do not count", () => {
    expect(passed).toHoldHypothesis()
    expect(failed).toHoldHypothesis()
    expect(refused).not.toHoldHypothesis()
    expect(aborted).not.toHoldHypothesis()
    expect(() => expect(refused).toHoldHypothesis()).toThrowError(/expected the hypothesis to hold: examples\.refused-production \(run .*, refused\)/)
  })

  it("toFailClosed: a fault was injected and every check during it held", () => {
    expect(passed).toFailClosed()
    expect(failed).not.toFailClosed()
    expect(refused).not.toFailClosed()
    expect(() => expect(refused).toFailClosed()).toThrowError(/no fault was injected/)
    expect(() => expect(passed).not.toFailClosed()).toThrowError(/not to fail closed, but every check during the faults held/)
  })

  it("toDetectWithin: every detection held within the limit", () => {
    const ms = passed.steps.find((s) => s.metric?.name === "time-to-detect")?.metric?.ms ?? Number.NaN
    expect(passed).toDetectWithin(ms)
    expect(passed).toDetectWithin("2 seconds")
    expect(passed).not.toDetectWithin(ms - 1)
    expect(() => expect(passed).toDetectWithin(ms - 1)).toThrowError(new RegExp(`detected after ${ms} ms`))
    expect(() => expect(failed).toDetectWithin("1 second")).toThrowError(/has no detection check \(Expect\.detects\)/)
  })

  it("anything but a journal fails with a clear message", () => {
    expect(() => expect({ status: "passed" }).toHoldHypothesis()).toThrowError(/expected a shiftup journal/)
  })
})
