import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { ProbeFailed, type ShiftupError } from "shiftup"
import { LoadFailed } from "shiftup/advanced"
import { lift } from "../../../src/internal/lift.ts"

const onError = (detail: string) => new ProbeFailed({ probe: "p", target: "t", detail })
const error = async <A>(e: Effect.Effect<A, ShiftupError>) => Effect.runPromise(Effect.flip(e))

describe("lift: values, Promises and Effects become typed Effects", () => {
  it("lifts a value, a Promise, an Effect and a function returning an Effect", async () => {
    expect(await Effect.runPromise(lift(() => 1, onError))).toBe(1)
    expect(await Effect.runPromise(lift(async () => 2, onError))).toBe(2)
    expect(await Effect.runPromise(lift(Effect.succeed(3), onError))).toBe(3)
    expect(await Effect.runPromise(lift(() => Effect.succeed(4), onError))).toBe(4)
  })

  it("a throw, a rejection or a defect becomes the given typed error", async () => {
    expect(await error(lift(() => { throw new Error("boom") }, onError))).toMatchObject({ _tag: "ProbeFailed", detail: "boom" })
    expect(await error(lift(async () => Promise.reject(new TypeError("bad")), onError))).toMatchObject({ _tag: "ProbeFailed", detail: "TypeError: bad" })
    expect(await error(lift(Effect.die("defect"), onError))).toMatchObject({ _tag: "ProbeFailed", detail: "defect" })
  })

  it("what was thrown is kept as the error's cause", async () => {
    const thrown = new Error("boom")
    const onErrorWithCause = (detail: string, cause: unknown) => new ProbeFailed({ probe: "p", target: "t", detail, cause })
    expect((await error(lift(() => { throw thrown }, onErrorWithCause))).cause).toBe(thrown)
    expect((await error(lift(async () => Promise.reject(thrown), onErrorWithCause))).cause).toBe(thrown)
    expect((await error(lift(Effect.die(thrown), onErrorWithCause))).cause).toBe(thrown)
  })

  it("a ShiftupError passes through unchanged", async () => {
    const own = new LoadFailed({ file: "f", detail: "d" })
    expect(await error(lift(() => Effect.fail(own), onError))).toBe(own)
    expect(await error(lift(async () => { throw own }, onError))).toBe(own)
  })

  it("the thunk runs on each execution, not when lifted", async () => {
    let calls = 0
    const e = lift(() => ++calls, onError)
    expect(calls).toBe(0)
    await Effect.runPromise(e)
    await Effect.runPromise(e)
    expect(calls).toBe(2)
  })

  it("interruption stays interruption", async () => {
    const exit = await Effect.runPromiseExit(lift(Effect.interrupt, onError))
    expect(Exit.isFailure(exit) && Exit.hasInterrupts(exit)).toBe(true)
  })
})
