import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Compensation, Expect, Experiment, Fault, Journal, Resource, Runner, Step, Target, TargetUnresolved, plan, run } from "shiftup"
import { Ledger } from "shiftup/advanced"
import { compensationKind, labTarget, withWorld, type World } from "../support/prop-world.ts"

const t = labTarget("lab")

/** A probe that observes `values` in turn, then keeps observing the last one. */
const counter = (w: World, id: string, values: ReadonlyArray<number>) => {
  let i = 0
  return w.probe(id, t, () => values[Math.min(i++, values.length - 1)] ?? 0)
}

describe("Runner: outcomes, exit codes and the journal", () => {
  it("passes when every check holds, and rolls back: exit 0", async () =>
    withWorld(async (w) => {
      const e = Experiment.make({ id: "u.pass", title: "t", targets: { t }, hypothesis: [Expect.that(w.probe("ok", t), true)], method: [w.fault("a", t), w.fault("b", t)] })
      const j = await run(e, w.options())
      expect(j).toMatchObject({ schema: "shiftup.journal/v1", status: "passed", exitCode: 0, dryRun: false, findings: [], errors: [] })
      expect(j.steps.map((s) => `${s.phase}:${s.kind}:${s.id}:${s.outcome}`)).toEqual(["before:check:ok equals true:held", "method:fault:a:ok", "method:fault:b:ok", "after:check:ok equals true:held"])
      expect(j.rollbacks.map((r) => `${r.fault}:${r.outcome}:${r.compensation}`)).toEqual(["b:restored:undo b", "a:restored:undo a"])
      expect(j.summary).toContain("2/2 rollback(s) complete")
      expect(j.ledger).toBe(Ledger.list(w.stateDir)[0])
    }))

  it("a run that only observes has no ledger; one with a resource has one, with no fault", async () =>
    withWorld(async (w) => {
      const observes = Experiment.make({ id: "u.observe", title: "t", targets: { t }, hypothesis: [Expect.that(w.probe("ok", t), true)], method: [] })
      const j = await run(observes, w.options())
      expect(j).toMatchObject({ status: "passed", exitCode: 0 })
      expect(j.ledger).toBeUndefined()
      expect(Ledger.list(w.stateDir)).toEqual([])
      // A resource may leave labelled objects behind, which `reap` finds through the ledgers.
      const fixture = Resource.make({ id: "fixture", acquire: () => 1 })
      const withResource = Experiment.make({ id: "u.resource", title: "t", targets: { t }, resources: { fixture }, hypothesis: [Expect.that(w.probe("ok", t), true)], method: [] })
      const k = await run(withResource, w.options())
      expect(k).toMatchObject({ status: "passed", exitCode: 0 })
      expect(Ledger.list(w.stateDir)).toEqual([k.ledger])
      expect(Ledger.read(k.ledger ?? "").map((r) => r.type)).toEqual(["run", "end"])
    }))

  it("a dry run plans and touches nothing, and writes no ledger", async () =>
    withWorld(async (w) => {
      const e = Experiment.make({ id: "u.dry", title: "t", targets: { t }, hypothesis: [Expect.that(w.probe("ok", t), true)], method: [w.fault("a", t)] })
      const j = await plan(e, w.options())
      expect(j).toMatchObject({ status: "passed", dryRun: true, steps: [], rollbacks: [] })
      expect(j.plan?.faults).toEqual([{ id: "a", target: "lab", safety: "disrupt", compensation: "undo a" }])
      expect(j.plan?.targets.map((p) => [p.id, p.environment, p.effective])).toEqual([["lab", "lab", "lab"]])
      expect(w.contacts).toEqual([])
      expect(Ledger.list(w.stateDir)).toEqual([])
    }))

  it("every step has its own decision, each naming that step (one target, many checks)", async () =>
    withWorld(async (w) => {
      const e = Experiment.make({ id: "u.decisions", title: "t", targets: { t }, hypothesis: [Expect.that(w.probe("one", t), true), Expect.that(w.probe("two", t), true)], method: [w.fault("a", t)] })
      const j = await plan(e, w.options())
      expect(j.plan?.decisions.map((d) => [d.step, d.safety, d.allowed])).toEqual([
        ["one equals true", "observe", true],
        ["two equals true", "observe", true],
        ["a", "disrupt", true],
      ])
    }))

  it("a steady state that does not hold before the method injects nothing: failed, exit 1", async () =>
    withWorld(async (w) => {
      const e = Experiment.make({ id: "u.deviated", title: "t", targets: { t }, hypothesis: [Expect.that(w.probe("healthy", t, () => false), true, { severity: "critical" })], method: [w.fault("a", t)] })
      const j = await run(e, w.options())
      expect(j).toMatchObject({ status: "failed", exitCode: 1 })
      expect(j.findings).toEqual([{ id: "healthy equals true", severity: "critical", title: "healthy equals true", phase: "before", target: "lab", expected: "equals true", observed: false }])
      expect(w.injected).toEqual([])
      expect(j.summary).toContain("nothing was injected")
    }))

  it("during: samples × burst observations, the first violating value is the finding", async () =>
    withWorld(async (w) => {
      const p = counter(w, "status", [200, 200, 200, 500, 200, 200])
      const e = Experiment.make({ id: "u.during", title: "t", targets: { t }, method: [w.fault("a", t), Expect.during(p, Expect.never(500), { samples: 3, every: 1, burst: 2 })] })
      const j = await run(e, w.options())
      expect(w.of("observe")).toHaveLength(6)
      expect(j.status).toBe("failed")
      const step = j.steps.find((s) => s.kind === "check")
      expect(step).toMatchObject({ outcome: "violated", samples: 6, observed: 500, expected: "never 500" })
      expect(j.findings).toHaveLength(1)
      expect(j.rollbacks).toHaveLength(1)
    }))

  it("eventually: polls until the value holds and records time-to-recover; otherwise a finding", async () =>
    withWorld(async (w) => {
      const recovering = counter(w, "recovering", [503, 503, 200])
      const stuck = counter(w, "stuck", [503])
      const e = Experiment.make({
        id: "u.eventually",
        title: "t",
        targets: { t },
        method: [w.fault("a", t)],
        recovery: [Expect.eventually(recovering, 200, { within: "2 seconds", every: 1 }), Expect.eventually(stuck, 200, { within: 30, every: 5 })],
      })
      const j = await run(e, w.options())
      const [ok, bad] = j.steps.filter((s) => s.phase === "recovery")
      expect(ok).toMatchObject({ outcome: "held", samples: 3, metric: { name: "time-to-recover" } })
      expect(bad).toMatchObject({ outcome: "violated", observed: 503 })
      expect(bad?.message).toContain("did not hold within 30 ms; last observation: 503")
      expect(j.findings.map((f) => f.expected)).toEqual(["equals 200 within 30 ms"])
      expect(j.status).toBe("failed")
    }))

  it("a failing compensation is journaled and makes the run rollback-incomplete: exit 5; the others still run", async () =>
    withWorld(async (w) => {
      const compensators: Compensation.Compensators = {
        ...w.compensators,
        "test.broken": () => Effect.fail(new TargetUnresolved({ target: "lab", detail: "gone" })),
      }
      const broken = Fault.make({ id: "broken", target: t, compensation: { kind: "test.broken", description: "cannot undo" }, inject: () => {} })
      const e = Experiment.make({ id: "u.rbfail", title: "t", targets: { t }, method: [w.fault("a", t), broken, w.fault("c", t)] })
      const j = await run(e, { ...w.options(), compensators })
      expect(j).toMatchObject({ status: "rollback-incomplete", exitCode: 5 })
      expect(j.rollbacks.map((r) => `${r.fault}:${r.outcome}`)).toEqual(["c:restored", "broken:failed", "a:restored"])
      expect(j.rollbacks[1]?.error).toContain("gone")
      expect(j.summary).toContain("shiftup recover")
      expect(w.compensated).toEqual(["c", "a"])
      // The ledger keeps the failed one pending, for `recover`.
      expect(w.ledgerPending().map((p) => p.fault)).toEqual(["broken"])
      expect(w.ledgerRecords().some((r) => r.type === "rollback-failed" && r.seq === 2)).toBe(true)
    }))

  it("each rollback has its own timeout; a hung compensator does not hang the run", async () =>
    withWorld(async (w) => {
      const compensators = { ...w.compensators, "test.hang": () => Effect.never }
      const hang = Fault.make({ id: "hang", target: t, compensation: { kind: "test.hang", description: "hangs" }, inject: () => {} })
      const e = Experiment.make({ id: "u.rbtimeout", title: "t", targets: { t }, rollbackTimeout: 30, method: [w.fault("a", t), hang] })
      const started = Date.now()
      const j = await run(e, { ...w.options(), compensators })
      expect(Date.now() - started).toBeLessThan(5_000)
      expect(j.rollbacks.map((r) => `${r.fault}:${r.outcome}`)).toEqual(["hang:timeout", "a:restored"])
      expect(j.rollbacks[0]?.error).toBe("no answer within 30 ms")
      expect(j.exitCode).toBe(5)
    }))

  it("a fault whose compensation kind nobody registered is refused at plan time (nobody could undo it)", async () =>
    withWorld(async (w) => {
      let injected = false
      const odd = Fault.make({ id: "odd", target: t, compensation: { kind: "test.nobody", description: "?" }, inject: () => void (injected = true) })
      const j = await run(Experiment.make({ id: "u.unknownkind", title: "t", targets: { t }, method: [w.fault("a", t), odd] }), w.options())
      expect(injected).toBe(false)
      expect(w.contacts).toEqual([])
      expect(j).toMatchObject({ status: "refused", exitCode: 2, refusal: { rule: "compensation.not-recoverable", step: "odd" } })
      expect(j.refusal?.reason).toContain('no compensator is registered for kind "test.nobody"')
    }))

  it("a compensator given to `run` without a module a fresh process could load is refused at plan time", async () =>
    withWorld(async (w) => {
      const { compensatorModule: _module, ...inMemory } = w.options()
      const j = await run(Experiment.make({ id: "u.nomodule", title: "t", targets: { t }, method: [w.fault("a", t)] }), inMemory)
      expect(w.contacts).toEqual([])
      expect(j).toMatchObject({ status: "refused", exitCode: 2, refusal: { rule: "compensation.not-recoverable" } })
      expect(j.refusal?.reason).toContain("compensatorModule")
    }))

  it("an ephemeral (in-process) fault is released by its own `release`, in reverse order; without one it is never injected", async () =>
    withWorld(async (w) => {
      const log: Array<string> = []
      const local = (id: string, withRelease: boolean) =>
        Fault.make({
          id,
          target: t,
          compensation: Compensation.ephemeral({ target: t.id, description: `release ${id}` }),
          inject: () => void log.push(`inject ${id}`),
          ...(withRelease ? { release: () => void log.push(`release ${id}`) } : {}),
        })
      const ok = await run(Experiment.make({ id: "u.ephemeral", title: "t", targets: { t }, method: [local("a", true), w.fault("b", t), local("c", true)] }), w.options())
      expect(ok).toMatchObject({ status: "passed", exitCode: 0 })
      expect(log).toEqual(["inject a", "inject c", "release c", "release a"])
      expect(ok.rollbacks.map((r) => `${r.fault}:${r.outcome}`)).toEqual(["c:restored", "b:restored", "a:restored"])
      log.length = 0
      const bad = await run(Experiment.make({ id: "u.ephemeral-bad", title: "t", targets: { t }, method: [local("x", false)] }), w.options())
      expect(bad).toMatchObject({ status: "refused", exitCode: 2, refusal: { rule: "compensation.not-recoverable" } })
      expect(log).toEqual([])
    }))

  it("recover: an ephemeral fault of a dead process died with it; one of a live process is not recoverable from outside", async () => {
    const dead = { ...Compensation.ephemeral({ target: "t", description: "d" }), pid: 2 ** 22 + 12345 }
    await Effect.runPromise(Compensation.apply(Compensation.builtins, dead))
    const live = Compensation.ephemeral({ target: "t", description: "d" })
    const e = await Effect.runPromise(Effect.flip(Compensation.apply(Compensation.builtins, live)))
    expect(e._tag).toBe("RollbackFailed")
  })

  it("the rollback timeout comes from the experiment, else the config, else 10 s", async () =>
    withWorld(async (w) => {
      const compensators = { ...w.compensators, "test.hang": () => Effect.never }
      const hang = Fault.make({ id: "hang", target: t, compensation: { kind: "test.hang", description: "hangs" }, inject: () => {} })
      const e = Experiment.make({ id: "u.cfgtimeout", title: "t", targets: { t }, method: [hang] })
      const j = await run(e, { ...w.options({ rollbackTimeout: "20 millis" }), compensators })
      expect(j.rollbacks[0]?.error).toBe("no answer within 20 ms")
    }))

  it("a compensation computed before injection is ledgered as computed", async () =>
    withWorld(async (w) => {
      let saved = "original"
      const f = Fault.make({
        id: "computed",
        target: t,
        kind: compensationKind,
        compensation: async () => ({ kind: compensationKind, description: `restore ${saved}`, fault: "computed", target: "lab", saved }),
        inject: () => {
          saved = "changed"
        },
      })
      const j = await run(Experiment.make({ id: "u.computed", title: "t", targets: { t }, method: [f] }), w.options())
      expect(j.status).toBe("passed")
      expect(j.plan?.faults[0]?.compensation).toContain("computed at injection")
      const intent = w.ledgerRecords().find((r) => r.type === "intent")
      expect(intent?.type === "intent" ? intent.compensation : undefined).toMatchObject({ description: "restore original", saved: "original" })
      expect(w.compensated).toEqual(["computed"])
    }))

  it("a target that cannot be resolved makes the run invalid (exit 4) before any contact", async () =>
    withWorld(async (w) => {
      const ghost = Target.make("ghost", { environment: "lab", resolve: Effect.fail(new TargetUnresolved({ target: "ghost", detail: "no such container" })) })
      const none = Target.make("none", { environment: "lab", resolve: Effect.succeed({ members: [], population: 0 }) })
      for (const target of [ghost, none]) {
        const j = await run(Experiment.make({ id: "u.unresolved", title: "t", targets: { target, t }, method: [w.probe("p", t), w.probe("q", target)] }), w.options())
        expect(j).toMatchObject({ status: "invalid", exitCode: 4 })
        expect(j.errors.map((e) => e.tag)).toEqual(["TargetUnresolved"])
      }
      expect(w.contacts).toEqual([])
    }))

  it("an invalid budget.egress entry makes the run invalid", async () =>
    withWorld(async (w) => {
      const j = await run(Experiment.make({ id: "u.badegress", title: "t", targets: { t }, budget: { egress: ["example.com"] }, method: [w.probe("p", t)] }), w.options())
      expect(j).toMatchObject({ status: "invalid", exitCode: 4 })
      expect(j.errors[0]?.tag).toBe("InvalidConfig")
      expect(w.contacts).toEqual([])
    }))

  it("writes the journal atomically to <stateDir>/journals/<runId>.json, and reports events (a throwing reporter breaks nothing)", async () =>
    withWorld(async (w) => {
      const events: Array<string> = []
      const e = Experiment.make({ id: "u.journal", title: "t", targets: { t }, method: [w.fault("a", t), Step.wait(1)] })
      const j = await run(e, {
        ...w.options(),
        journal: join(w.stateDir, "journals", "fixed-run.json"),
        stateDir: w.stateDir,
        runId: "fixed-run",
        onEvent: (ev) => {
          events.push(ev._tag)
          throw new Error("reporter bug")
        },
      })
      const path = join(w.stateDir, "journals", "fixed-run.json")
      expect(existsSync(path)).toBe(true)
      expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(JSON.parse(JSON.stringify(j)))
      expect(j.status).toBe("passed")
      expect(events[0]).toBe("Planned")
      expect(events.at(-1)).toBe("Finished")
      expect(events).toEqual(expect.arrayContaining(["FaultActive", "RolledBack", "StepStarted", "StepEnded", "Phase"]))
      expect(Journal.defaultPath(w.stateDir, "fixed-run")).toBe(path)
    }))

  it("the exit codes are the CLI contract", () => {
    expect(Journal.exitCodes).toEqual({ passed: 0, failed: 1, refused: 2, aborted: 3, invalid: 4, "rollback-incomplete": 5 })
  })

  it("run ids are unique and sortable by time", () => {
    const ids = Array.from({ length: 50 }, () => Runner.newRunId())
    expect(new Set(ids).size).toBe(50)
    for (const id of ids) expect(id).toMatch(/^\d{8}T\d{6}-[0-9a-f]{6}$/)
  })
})
