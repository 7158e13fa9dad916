/**
 * Sealed capabilities (issue 10, item 5): a Fault or a Probe is a description. Nothing reachable
 * from user code — a property, a symbol, a spread copy, a generator step — injects, releases or
 * observes it except the runner, so nothing skips the ledger, the floor or the budget.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Compensation, Experiment, Fault, Probe, run, Target } from "shiftup"
import { withWorld } from "../support/prop-world.ts"

const lab = Target.make("sealed-lab", { environment: "lab" })

describe("faults and probes are sealed descriptions", () => {
  it("type level: no inject, release, compensation effect or observe on the public types", () => {
    const f = Fault.make({ id: "f", target: lab, compensation: Compensation.ephemeral({ target: lab.id, description: "-" }), inject: () => {}, release: () => {} })
    const p = Probe.make({ id: "p", target: lab, observe: () => 1 })
    // @ts-expect-error a fault has no inject
    void f.inject
    // @ts-expect-error a fault has no release
    void f.release
    // @ts-expect-error a probe has no observe
    void p.observe
    expect(typeof f.compensation).toBe("string")
  })

  it("runtime: no own property or symbol of a fault or probe holds an Effect or a function", () => {
    let injected = 0
    const f = Fault.make({ id: "f", target: lab, compensation: Compensation.ephemeral({ target: lab.id, description: "-" }), inject: () => void injected++, release: () => {} })
    const p = Probe.make({ id: "p", target: lab, observe: () => 1 })
    for (const value of [f, p]) {
      const own = [...Object.getOwnPropertyNames(value), ...Object.getOwnPropertySymbols(value)].map((k) => (value as unknown as Record<PropertyKey, unknown>)[k])
      const reachable = own.flatMap((v) => (typeof v === "object" && v !== null && !("resolve" in v) ? [v, ...Object.values(v)] : [v]))
      expect(reachable.filter((v) => Effect.isEffect(v) || (typeof v === "function" && v.name !== "_A"))).toEqual([])
      expect(Object.isFrozen(value)).toBe(true)
    }
    expect(injected).toBe(0)
  })

  it("a generator that reaches for `fault.inject` gets nothing to run; only ctx.inject injects, through the ledger", async () =>
    withWorld(async (w) => {
      const f = w.fault("sneaky", lab)
      const e = Experiment.gen({ id: "sealed.gen", title: "t", targets: { lab }, mayInject: { lab: "disrupt" } }, function* () {
        const inject = (f as unknown as { readonly inject?: Effect.Effect<void> }).inject
        if (inject !== undefined) yield* inject
      })
      const j = await run(e, w.options())
      expect(w.contacts.filter((c) => c.kind === "inject")).toEqual([])
      expect(j.status).toBe("passed")
    }))

  it("a copied fault carries no capability: the runner refuses it and injects nothing", async () =>
    withWorld(async (w) => {
      const copy = { ...w.fault("copied", lab) } as Fault.Fault
      const j = await run(Experiment.make({ id: "sealed.copy", title: "t", targets: { lab }, method: [copy] }), w.options())
      expect(w.contacts).toEqual([])
      expect(j.exitCode).not.toBe(0)
      expect(j.summary).toMatch(/not a fault built by Fault.make/)
    }))
})
