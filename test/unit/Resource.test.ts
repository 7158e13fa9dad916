/**
 * Resources (issue 12, item 5): run-owned things — a proxy, an alert sink, a fixture — acquired
 * only after the plan is accepted, before the steady state, released after the rollback and the
 * final checks on every exit path, in reverse order; never counted as faults.
 */
import { describe, expect, it } from "vitest"
import { Expect, Experiment, Resource, run, Step, Target } from "shiftup"
import { labResource } from "shiftup/testing"
import { withWorld } from "../support/prop-world.ts"

const lab = Target.make("res-lab", { environment: "lab" })

/** A resource that logs its life into `log`. */
const logged = (id: string, log: Array<string>, options: { readonly failAcquire?: boolean; readonly failRelease?: boolean; readonly target?: Target.Target } = {}) =>
  Resource.make({
    id,
    ...(options.target === undefined ? {} : { target: options.target }),
    acquire: async () => {
      if (options.failAcquire === true) throw new Error("port in use")
      log.push(`acquire ${id}`)
      return id
    },
    release: async (value) => {
      log.push(`release ${value}`)
      if (options.failRelease === true) throw new Error("still listening")
    },
  })

describe("resources", () => {
  it("are acquired after the plan and before the steady state, released after rollback and the final checks, in reverse order", async () =>
    withWorld(async (w) => {
      const log: Array<string> = []
      const probe = w.probe("look", lab, () => (log.push("observe"), true))
      const fault = w.fault("poke", lab)
      const e = Experiment.make({
        id: "res.order",
        title: "t",
        targets: { lab },
        resources: { a: logged("a", log), b: logged("b", log) },
        hypothesis: [Expect.that(probe, true)],
        method: [fault, Step.wait(1)],
        budget: { maxConcurrentFaults: 1 },
      })
      const j = await run(e, w.options())
      expect(j.status, j.summary).toBe("passed")
      expect(log).toEqual(["acquire a", "acquire b", "observe", "observe", "release b", "release a"])
      // Released after the fault's rollback.
      const order = w.contacts.map((c) => `${c.kind} ${c.step}`)
      expect(order.at(-1)).toBe("observe look")
      expect(order).toContain("compensate poke")
      expect(j.steps.filter((s) => s.kind === "resource").map((s) => s.id)).toEqual(["resource a", "resource b"])
      // Not a fault: one fault allowed, one injected, and the resources did not count.
      expect(j.plan?.use.faults).toBe(1)
    }))

  it("a refused run acquires none: a resource in front of a production target is decided like an observation of it", async () =>
    withWorld(async (w) => {
      const log: Array<string> = []
      const prod = Target.make("res-prod", { environment: "production" })
      const e = Experiment.make({ id: "res.refused", title: "t", targets: { lab, prod }, resources: { r: logged("r", log, { target: prod }) }, method: [w.fault("poke", lab)] })
      const j = await run(e, w.options())
      expect(j).toMatchObject({ status: "refused", refusal: { rule: "floor.production-observe-opt-in", step: "resource r" } })
      expect(log).toEqual([])
      expect(w.contacts).toEqual([])
    }))

  it("a resource that cannot start aborts the run (exit 3) and releases the ones already started", async () =>
    withWorld(async (w) => {
      const log: Array<string> = []
      const e = Experiment.make({ id: "res.broken", title: "t", targets: { lab }, resources: { a: logged("a", log), b: logged("b", log, { failAcquire: true }) }, method: [w.fault("poke", lab)] })
      const j = await run(e, w.options())
      expect(j.status).toBe("aborted")
      expect(j.summary).toContain("port in use")
      expect(log).toEqual(["acquire a", "release a"])
      expect(w.contacts).toEqual([])
    }))

  it("a release that fails is a rollback failure: something may be left behind (exit 5)", async () =>
    withWorld(async (w) => {
      const log: Array<string> = []
      const e = Experiment.make({ id: "res.stuck", title: "t", targets: { lab }, resources: { a: logged("a", log, { failRelease: true }) }, method: [Step.wait(1)] })
      const j = await run(e, w.options())
      expect(j.status).toBe("rollback-incomplete")
      expect(j.rollbacks).toMatchObject([{ fault: "resource a", outcome: "failed" }])
    }))

  it("the demo lab as a resource answers during the run and is closed after it", async () =>
    withWorld(async (w) => {
      const base = 20_000 + 4 * Math.floor(Math.random() * 1500)
      let seenStatus = 0
      const gateway = Target.make("res-gateway", { environment: "staging" })
      // A second resource, acquired after the lab, looks at it from inside the run.
      const peek = Resource.make({ id: "peek", acquire: async () => void (seenStatus = (await fetch(`http://127.0.0.1:${base}/health`)).status) })
      const j = await run(Experiment.make({ id: "res.lab", title: "t", targets: { gateway }, resources: { lab: labResource({ base }), peek }, method: [Step.wait(1)] }), w.options())
      expect(j.status, j.summary).toBe("passed")
      expect(seenStatus).toBeGreaterThan(0)
      await expect(fetch(`http://127.0.0.1:${base}/health`)).rejects.toThrow()
    }))
})
