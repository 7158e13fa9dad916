import { describe, expect, it } from "vitest"
import { Experiment, Target, Fault, run } from "shiftup"

describe("smoke", () => {
  it("refuses a fault on an unknown environment", async () => {
    const t = Target.make("u")
    const e = Experiment.make({ id: "u", title: "u", targets: { t }, method: [Fault.make({ id: "x", target: t, compensation: { kind: "k", description: "d" }, inject: () => {} })] })
    const j = await run(e, { journal: false })
    expect(j.status).toBe("refused")
    expect(j.refusal?.rule).toBe("floor.unknown-is-production")
  })
})
