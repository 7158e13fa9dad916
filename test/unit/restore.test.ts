/**
 * Compensation.restore: recovery converges on the captured state instead of acting once. A record
 * that does not decode with its kind's schema is never run; an injection still in flight is given
 * its kind's settle time; apply + verify repeat until verify holds or the deadline passes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Compensation, CredentialsRefused, RollbackFailed, type ShiftupError } from "shiftup"

const c = (extra: Record<string, string | number | null> = {}): Compensation.Compensation => ({ kind: "test.k", description: "undo", ...extra })
const run = <A, E = ShiftupError>(e: Effect.Effect<A, E>) => Effect.runPromise(e)
const fileSchema = Compensation.builtins["file.restore"]?.schema

describe("Compensation.restore", () => {
  it("refuses a record that does not decode with its kind's schema, naming the ledger and seq, and never applies it", async () => {
    let applied = 0
    const spec: Compensation.CompensatorSpec = { ...(fileSchema === undefined ? {} : { schema: fileSchema }), apply: () => Effect.sync(() => void applied++) }
    const forged = { kind: "file.restore", description: "restore", target: "t", path: "relative/../etc/passwd", content: "not base64!" }
    const e = await run(Effect.flip(Compensation.restore(spec, forged, { source: { path: "/s/ledger/r.jsonl", seq: 4 } })))
    expect(e).toMatchObject({ _tag: "InvalidCompensation", path: "/s/ledger/r.jsonl", seq: 4, kind: "file.restore" })
    expect(e.message).toMatch(/path: .*content: /s)
    expect(applied).toBe(0)
  })

  it("built-in schemas: http.request needs a method and an http(s) URL; ephemeral a pid", async () => {
    const http = Compensation.builtins["http.request"]
    const e = await run(Effect.flip(Compensation.restore(http, { kind: "http.request", description: "d", target: "t", method: "FLIP", url: "file:///etc/passwd" })))
    expect(e._tag).toBe("InvalidCompensation")
    expect(e.message).toMatch(/method/)
    expect(e.message).toMatch(/url/)
    const eph = await run(Effect.flip(Compensation.restore(Compensation.builtins["ephemeral"], { kind: "ephemeral", description: "d", target: "t", pid: null })))
    expect(eph.message).toMatch(/pid/)
  })

  it("an unknown kind fails with UnknownCompensation", async () => {
    const e = await run(Effect.flip(Compensation.restore(undefined, c())))
    expect(e).toMatchObject({ _tag: "UnknownCompensation", kind: "test.k" })
  })

  it("lets an injection still in flight settle for settleMs before undoing it; not when it was applied long ago", async () => {
    const times: Array<number> = []
    const spec: Compensation.CompensatorSpec = { settleMs: 300, apply: () => Effect.sync(() => void times.push(Date.now())) }
    const t0 = Date.now()
    expect(await run(Compensation.restore(spec, c(), { inFlightSince: t0 }))).toEqual({ _tag: "restored", attempts: 1 })
    expect((times[0] ?? 0) - t0).toBeGreaterThanOrEqual(290)
    const t1 = Date.now()
    await run(Compensation.restore(spec, c(), { inFlightSince: t1 - 5000 }))
    expect((times[1] ?? 0) - t1).toBeLessThan(100)
  })

  it("stops settling once `settled` says nothing in flight can land, and not before (asked again while it says no)", async () => {
    let asked = 0
    let applied = 0
    const spec: Compensation.CompensatorSpec = {
      settleMs: 5000,
      settled: () => Effect.sync(() => ++asked >= 3),
      apply: () => Effect.sync(() => void (applied = asked)),
    }
    const t0 = Date.now()
    expect(await run(Compensation.restore(spec, c(), { inFlightSince: t0 }))).toEqual({ _tag: "restored", attempts: 1 })
    expect(applied).toBe(3)
    expect(Date.now() - t0).toBeLessThan(2000)
    // A `settled` that fails counts as "not yet": the whole settleMs is waited.
    const failing: Compensation.CompensatorSpec = { settleMs: 300, settled: () => Effect.fail(new RollbackFailed({ fault: "f", target: "t", detail: "no" })), apply: () => Effect.void }
    const t1 = Date.now()
    await run(Compensation.restore(failing, c(), { inFlightSince: t1 }))
    expect(Date.now() - t1).toBeGreaterThanOrEqual(290)
  })

  it("a credentials failure (a password unset or refused) is reported at once, not retried until the deadline", async () => {
    let attempts = 0
    const spec: Compensation.CompensatorSpec = {
      apply: () => Effect.suspend(() => (++attempts, Effect.fail(new CredentialsRefused({ fault: "f", target: "t", server: "app@127.0.0.1:5432", passwordEnv: "PW", problem: "unset" })))),
      verify: () => Effect.succeed(undefined),
    }
    const outcome = await run(Compensation.restore(spec, c(), { deadlineMs: 5000 }))
    expect(outcome).toMatchObject({ _tag: "incomplete", attempts: 1, detail: expect.stringContaining("set PW") })
    expect(attempts).toBe(1)
  })

  it("repeats apply + verify until the world equals the captured state (an in-flight call undid the first undo)", async () => {
    let world = "faulted"
    // The engine call the dead runner was waiting on lands 20 ms after recovery's first undo.
    setTimeout(() => (world = "faulted"), 20)
    const spec: Compensation.CompensatorSpec = {
      apply: () => Effect.sync(() => void (world = "ok")),
      verify: () => Effect.sleep(50).pipe(Effect.andThen(Effect.sync(() => (world === "ok" ? undefined : `the world is ${world}`)))),
    }
    const outcome = await run(Compensation.restore(spec, c(), { deadlineMs: 5000 }))
    expect(outcome).toEqual({ _tag: "restored", attempts: 2 })
    expect(world).toBe("ok")
  })

  it("gives up at the deadline: incomplete, saying what still differs", async () => {
    let attempts = 0
    const spec: Compensation.CompensatorSpec = { apply: () => Effect.sync(() => void attempts++), verify: () => Effect.succeed("the container is still exited") }
    const t0 = Date.now()
    const outcome = await run(Compensation.restore(spec, c(), { deadlineMs: 700 }))
    expect(outcome).toMatchObject({ _tag: "incomplete", differs: true, detail: expect.stringContaining("still differs after") })
    expect(outcome._tag === "incomplete" && outcome.detail).toContain("the container is still exited")
    expect(attempts).toBeGreaterThanOrEqual(3)
    expect(Date.now() - t0).toBeLessThan(1500)
  })

  it("a kind without verify is applied once; its failure is reported, not retried", async () => {
    let attempts = 0
    const failing = () => Effect.sync(() => void attempts++).pipe(Effect.andThen(Effect.fail(new RollbackFailed({ fault: "f", target: "t", detail: "the switch is jammed" }))))
    const outcome = await run(Compensation.restore({ apply: failing }, c(), { deadlineMs: 2000 }))
    expect(outcome).toMatchObject({ _tag: "incomplete", differs: false, attempts: 1, detail: expect.stringContaining("the switch is jammed") })
    expect(attempts).toBe(1)
    const hang = await run(Compensation.restore(() => Effect.never, c(), { deadlineMs: 100 }))
    expect(hang).toMatchObject({ _tag: "incomplete", detail: "timed out" })
  })

  it("file.restore verifies the bytes on disk (or the file's absence)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shiftup-restore-"))
    try {
      const path = join(dir, "f.txt")
      writeFileSync(path, "ORIGINAL")
      const saved = Compensation.fileRestore({ target: "t", path, content: Buffer.from("ORIGINAL").toString("base64"), description: "restore" })
      const file = Compensation.builtins["file.restore"]
      writeFileSync(path, "TAMPERED")
      expect(await run(file?.verify?.(saved) ?? Effect.succeed("no verify"))).toMatch(/differ/)
      expect(await run(Compensation.restore(file, saved))).toEqual({ _tag: "restored", attempts: 1 })
      expect(readFileSync(path, "utf8")).toBe("ORIGINAL")
      const absent = Compensation.fileRestore({ target: "t", path: join(dir, "new.txt"), content: null, description: "remove" })
      writeFileSync(join(dir, "new.txt"), "x")
      expect(await run(file?.verify?.(absent) ?? Effect.succeed(undefined))).toMatch(/exists/)
      expect(await run(Compensation.restore(file, absent))).toEqual({ _tag: "restored", attempts: 1 })
      // A relative path is made absolute when captured: recover may run in another directory.
      expect(Compensation.fileRestore({ target: "t", path: "rel.txt", content: null, description: "d" })["path"]).toBe(join(process.cwd(), "rel.txt"))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
