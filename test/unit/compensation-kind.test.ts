/**
 * `Compensation.declare`: one declaration gives the fault side its typed records and the
 * compensator side a decoder, so a compensator never acts on a record its schema refuses — even
 * when called directly, outside `restore` — and `registry` refuses a kind declared twice.
 */
import { Effect, Exit, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as Compensation from "../../src/Compensation.ts"
import { isShiftupError } from "../../src/ShiftupError.ts"

const applied: Array<unknown> = []
const Resume = Compensation.declare({
  kind: "test.resume",
  fields: { queue: Schema.String, depth: Schema.Number.check(Schema.isInt()) },
  check: Schema.makeFilter((r: { readonly queue: string; readonly depth: number }) => (r.queue === "" && r.depth > 0 ? { path: ["queue"], issue: "a queue with messages has a name" } : undefined)),
  apply: (r) => Effect.sync(() => void applied.push(r)),
  verify: (r) => Effect.succeed(r.depth === 0 ? undefined : `${r.queue} still holds ${r.depth}`),
  settleMs: 500,
})

describe("Compensation.declare", () => {
  it("builds records of its kind, and replays them decoded (unknown keys dropped)", async () => {
    const c = Resume.make({ description: "resume orders", target: "q", queue: "orders", depth: 0 })
    expect(c).toEqual({ kind: "test.resume", description: "resume orders", target: "q", queue: "orders", depth: 0 })
    applied.length = 0
    await Effect.runPromise(Resume.compensator.apply({ ...c, extra: "ignored" }))
    expect(applied).toEqual([{ kind: "test.resume", description: "resume orders", target: "q", queue: "orders", depth: 0 }])
    expect(await Effect.runPromise(Resume.compensator.verify!(c))).toBeUndefined()
    expect(Resume.compensator.settleMs).toBe(500)
  })

  it("never applies a record its schema refuses: a RollbackFailed naming the kind instead", async () => {
    applied.length = 0
    for (const bad of [
      { kind: "test.resume", description: "x", target: "q", queue: "orders", depth: 1.5 },
      { kind: "test.resume", description: "x", target: "q", depth: 1 },
      { kind: "test.other", description: "x", target: "q", queue: "orders", depth: 1 },
      { kind: "test.resume", description: "x", target: "q", queue: "", depth: 3 },
    ]) {
      const exit = await Effect.runPromiseExit(Resume.compensator.apply(bad))
      expect(Exit.isFailure(exit), JSON.stringify(bad)).toBe(true)
      const e = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      const error = e !== undefined && "error" in e ? e.error : undefined
      expect(isShiftupError(error) && error._tag).toBe("RollbackFailed")
      expect(String(isShiftupError(error) ? error.message : "")).toContain("does not decode as test.resume")
    }
    expect(applied).toEqual([])
    // `restore` refuses it before it starts, with every issue.
    const refused = await Effect.runPromiseExit(Compensation.restore(Resume.compensator, { kind: "test.resume", description: "x", target: "q", queue: "", depth: 3 }))
    expect(String(Exit.isFailure(refused) ? refused.cause : "")).toContain("a queue with messages has a name")
  })

  it("registry: compensators by kind; a kind declared twice, or a built-in one, is refused", () => {
    expect(Object.keys(Compensation.registry([Resume]))).toEqual(["test.resume"])
    expect(() => Compensation.registry([Resume, Resume])).toThrow(/declared twice/)
    const shadow = Compensation.declare({ kind: "file.restore", fields: {}, apply: () => Effect.void })
    expect(() => Compensation.registry([shadow])).toThrow(/is built in/)
  })
})
