/** Game-day gates without a terminal: what `--approve` accepts, and a pause that the run itself ends. */
import { describe, expect, it } from "vitest"
import { Experiment, Fault, type ShiftupError, Step, Target } from "shiftup"
import { checkApprovals, makeGate } from "../../../src/cli/gameday.ts"
import { closest } from "../../../src/internal/suggest.ts"

const lab = Target.make("lab", { environment: "lab" })
const fault = (id: string) => Fault.make({ id, target: lab, compensation: { kind: "k", description: "d" }, inject: () => {} })
const steps = { experiment: Experiment.make({ id: "x", title: "t", targets: { lab }, method: [fault("auth-down"), Step.wait(1, "hold")] }) }
const gen = { experiment: Experiment.gen({ id: "g", title: "t", targets: { lab }, mayInject: { lab: "disrupt" } }, function* () {}) }

const refusal = (run: () => void): string => {
  try {
    run()
  } catch (e) {
    expect((e as ShiftupError)._tag).toBe("InvalidArguments")
    return (e as ShiftupError).message
  }
  return expect.fail("accepted")
}

describe("checkApprovals", () => {
  it("accepts faults, all and the method step ids of the selected experiments", () => {
    expect(() => checkApprovals([steps], ["faults", "all", "auth-down", "hold"])).not.toThrow()
    expect(() => checkApprovals([steps, gen], ["faults"])).not.toThrow()
  })

  it("refuses anything else, with the closest valid value", () => {
    expect(refusal(() => checkApprovals([steps], ["fualts"]))).toBe('--approve "fualts" (did you mean faults?): no such step; use `faults`, `all` or a method step id: "auth-down", "hold"; see `shiftup --help`')
    expect(refusal(() => checkApprovals([steps], ["auth-dwon", "ALL ", "zzzzzzzz"]))).toContain('"auth-dwon" (did you mean auth-down?), "ALL " (did you mean all?), "zzzzzzzz": no such step')
  })

  it("a generator's steps exist only at run time: gate them with faults or all", () => {
    expect(refusal(() => checkApprovals([gen], ["inject-auth"]))).toContain('(the steps of generator experiment "g" exist only at run time: gate them with `faults` or `all`)')
  })
})

describe("closest", () => {
  it("suggests only what is near", () => {
    expect(closest("fualts", ["faults", "all"])).toBe("faults")
    expect(closest("al", ["faults", "all"])).toBe("all")
    expect(closest("rollback", ["faults", "all"])).toBeUndefined()
    expect(closest("x", [])).toBeUndefined()
  })
})

describe("makeGate", () => {
  it("a paused gate stops waiting when the run's own step signal aborts (e.g. its fault time ran out)", async () => {
    const err: Array<string> = []
    const gate = makeGate({ approve: [], yes: false, signal: new AbortController().signal, io: { out: () => {}, err: (t) => err.push(t) }, paused: () => true })
    const step = new AbortController()
    const waiting = gate({ runId: "r", id: "next", phase: "method", kind: "fault" }, step.signal)
    step.abort()
    await waiting
    expect(err.join("")).toContain('PAUSED before "next"')
    expect(err.join("")).not.toContain("resumed")
  })
})
