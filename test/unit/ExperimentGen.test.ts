/**
 * Typed generator experiments (issue 14, item 2): a step's result type flows to the code after
 * it, and an Effect that could fail with something other than a ShiftupError (or that needs a
 * service) cannot be yielded — checked by the compiler (`npm run lint` runs tsc over the tests),
 * and the runner needs no cast to run the body.
 */
import { Data, Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Experiment, Probe, run, Target } from "shiftup"
import { withWorld } from "../support/prop-world.ts"

class Unrelated extends Data.TaggedError("Unrelated")<{}> {}

describe("Experiment.gen: typed data flow", () => {
  it("a probe's value comes back with its type; the next step uses it", async () =>
    withWorld(async (w) => {
      const t = Target.make("gen-typed", { environment: "lab" })
      const count = Probe.make({ id: "count", target: t, observe: () => 41 })
      const seen: Array<number> = []
      const plain = Experiment.gen({ id: "gen.plain", title: "t", targets: { t }, mayInject: {} }, function* (ctx) {
        const n: number = yield* ctx.observe(count)
        // @ts-expect-error the value is a number, not a string
        const wrong: string = yield* ctx.observe(count)
        void wrong
        seen.push(n + 1)
      })
      const j = await run(plain, w.options())
      expect(j.status, j.summary).toBe("passed")
      expect(seen).toEqual([42])
    }))

  it("type level: an Effect failing with a foreign error, or needing a service, is not a step", () => {
    const t = Target.make("gen-types", { environment: "lab" })
    // @ts-expect-error the error channel must be a ShiftupError
    Experiment.gen({ id: "gen.bad-error", title: "t", targets: { t }, mayInject: {} }, function* () {
      yield* Effect.fail(new Unrelated())
    })
    expect(true).toBe(true)
  })
})
