/**
 * Engine-call failures are tagged errors that keep their cause, and join the family at the
 * adapter's boundary as the cause of the reason a person acts on. The unreachable engine is a
 * socket that does not exist (no Docker needed); the 404 is the real engine's answer.
 */
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { isShiftupError, ProbeFailed } from "shiftup"
import * as Docker from "shiftup/docker"
import { eachOf, gone } from "../../../src/docker/internal/fault.ts"

const nowhere = { socketPath: "/nonexistent/shiftup-test/docker.sock", timeoutMs: 2000 }

const failure = async <A, E>(e: Effect.Effect<A, E>): Promise<E> => {
  const exit = await Effect.runPromiseExit(e)
  if (Exit.isSuccess(exit)) return expect.fail("expected a failure")
  return Effect.runPromise(Effect.flip(Effect.failCause(exit.cause)))
}

describe("EngineCallError", () => {
  it("an engine that cannot be reached: unreachable, no status, the client's error as the cause; catchTag works", async () => {
    const engine = Docker.Engine.make(nowhere)
    try {
      const e = await failure(engine.ping)
      expect(e).toBeInstanceOf(Docker.Engine.EngineCallError)
      expect(e).toMatchObject({ _tag: "EngineCallError", unreachable: true })
      expect(e.status).toBeUndefined()
      expect("status" in e).toBe(false)
      expect(e.cause).toMatchObject({ code: "ENOENT" })
      expect(e.message).toBe(`${e.op}: ${e.detail}`)
      expect(isShiftupError(e)).toBe(false)
      expect(await Effect.runPromise(engine.ping.pipe(Effect.as("up"), Effect.catchTag("EngineCallError", (x) => Effect.succeed(x.unreachable ? "down" : "other"))))).toBe("down")
    } finally {
      engine.close()
    }
  })

  it("an answer of the engine: its status, and the client's error as the cause", async () => {
    const engine = Docker.Engine.make({ timeoutMs: 5000 })
    try {
      const e = await failure(engine.inspect("shiftup-test-no-such-container"))
      expect(e).toMatchObject({ _tag: "EngineCallError", status: 404, unreachable: false })
      expect(e.cause).toMatchObject({ statusCode: 404 })
    } finally {
      engine.close()
    }
  })

  it("joins the family at the boundary: resolving a container target without an engine is EngineUnavailable, caused by the call's error", async () => {
    const resolved = Docker.container("auth", { environment: "lab" }).resolve.pipe(Effect.provide(Docker.Engine.layer(nowhere)))
    const e = await failure(resolved)
    expect(isShiftupError(e)).toBe(true)
    expect(e).toMatchObject({ _tag: "EngineUnavailable", engine: "Docker", address: `unix://${nowhere.socketPath}` })
    const call = (e as { readonly cause?: unknown }).cause
    expect(call).toBeInstanceOf(Docker.Engine.EngineCallError)
    expect((call as Docker.Engine.EngineCallError).cause).toMatchObject({ code: "ENOENT" })
  })
})

describe("eachOf: several failed calls", () => {
  const notFound = (id: string) => new Docker.Engine.EngineCallError({ op: `unpause ${id}`, status: 404, detail: "404 no such container", unreachable: false })

  it("one failure is passed on as it is", async () => {
    const only = notFound("a")
    expect(await failure(eachOf(["a", "b"], (id) => (id === "a" ? Effect.fail(only) : Effect.void)))).toBe(only)
    // …so a container removed since is nothing to undo.
    expect(Exit.isSuccess(await Effect.runPromiseExit(gone(eachOf(["a", "b"], (id) => (id === "a" ? Effect.fail(only) : Effect.void)))))).toBe(true)
  })

  it("several failures: one error with every failure as its cause, and no status made up for them", async () => {
    const probe = new ProbeFailed({ probe: "p", target: "t", detail: "d" })
    const all = eachOf(["a", "b", "c"], (id) => (id === "a" ? Effect.fail(notFound("a")) : id === "b" ? Effect.fail(probe) : Effect.void))
    const e = await failure(all)
    expect(e).toBeInstanceOf(Docker.Engine.EngineCallError)
    if (e._tag !== "EngineCallError") return
    expect(e.op).toBe("2 of 3 calls")
    expect(e.detail).toBe(`unpause a: 404 no such container; ${probe.message}`)
    expect("status" in e).toBe(false)
    expect(e.unreachable).toBe(false)
    expect(e.cause).toEqual([notFound("a"), probe])
    // Not every call failed with 404: the whole is not "gone".
    expect(Exit.isFailure(await Effect.runPromiseExit(gone(all)))).toBe(true)
  })
})
