import { spawnSync } from "node:child_process"
import { appendFileSync, chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { Compensation } from "shiftup"
import { Ledger, Recover } from "shiftup/advanced"
import { acquire } from "../../src/internal/lock.ts"
import { withTempDir } from "../support/prop-world.ts"

const at = "2025-01-01T00:00:00.000Z"
const c = (n: number, kind = "test.k"): Compensation.Compensation => ({ kind, description: `undo ${n}`, n })

/** Writes a ledger as a crashed run (whose process is gone) would have left it. */
const crashed = (stateDir: string, runId: string, records: ReadonlyArray<Ledger.Record>, pid = spawnSync(process.execPath, ["-e", ""]).pid) => {
  mkdirSync(Ledger.ledgerDir(stateDir), { recursive: true })
  const path = join(Ledger.ledgerDir(stateDir), `${runId}.jsonl`)
  writeFileSync(path, [{ type: "run", runId, experiment: "e", pid, at }, ...records].map((r) => JSON.stringify({ v: 1, ...r })).join("\n") + "\n")
  return path
}

describe("Recover.recover", () => {
  it("replays pending compensations newest first, appends what it restored, and is idempotent", async () =>
    withTempDir("recover", async (stateDir) => {
      const replayed: Array<unknown> = []
      const compensators: Compensation.Compensators = { "test.k": (x) => Effect.sync(() => void replayed.push(x["n"])) }
      const path = crashed(stateDir, "r1", [
        { type: "intent", seq: 1, fault: "a", target: "t", compensation: c(1), at },
        { type: "applied", seq: 1, at },
        { type: "intent", seq: 2, fault: "b", target: "t", compensation: c(2), at },
        { type: "rolled-back", seq: 2, by: "runner", at },
        { type: "intent", seq: 3, fault: "c", target: "t", compensation: c(3), at },
      ])
      const report = await Effect.runPromise(Recover.recover({ stateDir, compensators }))
      expect(replayed).toEqual([3, 1])
      expect(report.items.map((i) => `${i.fault}:${i.outcome}:${i.runId}`)).toEqual(["c:restored:r1", "a:restored:r1"])
      expect(Ledger.pending(Ledger.read(path))).toEqual([])
      expect(Ledger.read(path).filter((r) => r.type === "rolled-back" && r.by === "recover").length).toBe(2)

      const again = await Effect.runPromise(Recover.recover({ stateDir, compensators }))
      expect(again.items).toEqual([])
      expect(replayed).toEqual([3, 1])
    }))

  it("leaves a ledger whose runner is alive alone, unless forced", async () =>
    withTempDir("recover", async (stateDir) => {
      const replayed: Array<unknown> = []
      const compensators: Compensation.Compensators = { "test.k": (x) => Effect.sync(() => void replayed.push(x["n"])) }
      crashed(stateDir, "alive", [{ type: "intent", seq: 1, fault: "a", target: "t", compensation: c(1), at }], process.ppid)
      const report = await Effect.runPromise(Recover.recover({ stateDir, compensators }))
      expect(report.skipped).toEqual([{ ledger: expect.stringContaining("alive.jsonl"), runId: "alive", pid: process.ppid }])
      expect(replayed).toEqual([])
      await Effect.runPromise(Recover.recover({ stateDir, compensators, force: true }))
      expect(replayed).toEqual([1])
    }))

  it("a failed or unknown compensation stays pending and is reported; an unreadable ledger too", async () =>
    withTempDir("recover", async (stateDir) => {
      const path = crashed(stateDir, "r2", [
        { type: "intent", seq: 1, fault: "a", target: "t", compensation: c(1, "test.nobody"), at },
        { type: "intent", seq: 2, fault: "b", target: "t", compensation: c(2, "test.hang"), at },
      ])
      writeFileSync(join(Ledger.ledgerDir(stateDir), "broken.jsonl"), 'not json\n{"v":1}\n')
      const report = await Effect.runPromise(Recover.recover({ stateDir, compensators: { "test.hang": () => Effect.never }, timeoutMs: 20 }))
      expect(report.items.map((i) => `${i.fault}:${i.outcome}`)).toEqual(["b:failed", "a:failed"])
      expect(report.items[0]?.error).toBe("timed out")
      expect(report.items[1]?.error).toContain('no compensator registered for kind "test.nobody"')
      expect(Ledger.pending(Ledger.read(path)).map((p) => p.fault)).toEqual(["b", "a"])
      expect(report.bad.map((u) => u.ledger)).toEqual([expect.stringContaining("broken.jsonl")])
    }))

  it("recovers each ledger on its own: a null line, a null compensation, garbage and binary are reported with path and line; the good ones are replayed", async () =>
    withTempDir("recover", async (stateDir) => {
      const replayed: Array<unknown> = []
      const compensators: Compensation.Compensators = { "test.k": (x) => Effect.sync(() => void replayed.push(x["n"])) }
      const good1 = crashed(stateDir, "a-good", [{ type: "intent", seq: 1, fault: "a", target: "t", compensation: c(1), at }])
      const nullLine = crashed(stateDir, "b-null", [{ type: "intent", seq: 1, fault: "b", target: "t", compensation: c(2), at }])
      appendFileSync(nullLine, "null\n")
      const nullComp = crashed(stateDir, "c-nullcomp", [{ type: "intent", seq: 1, fault: "c", target: "t", compensation: null as never, at }])
      writeFileSync(join(Ledger.ledgerDir(stateDir), "d-garbage.jsonl"), "garbage\n")
      writeFileSync(join(Ledger.ledgerDir(stateDir), "e-binary.jsonl"), Buffer.from([0, 1, 2, 255, 10, 0]))
      const good2 = crashed(stateDir, "f-good", [{ type: "intent", seq: 1, fault: "f", target: "t", compensation: c(6), at }])
      const report = await Effect.runPromise(Recover.recover({ stateDir, compensators }))
      expect(replayed.sort()).toEqual([1, 6])
      expect(report.items.map((i) => `${i.fault}:${i.outcome}`).sort()).toEqual(["a:restored", "f:restored"])
      expect(report.bad.map((b) => [b.ledger.replace(/.*\//, ""), b.line])).toEqual([
        ["b-null.jsonl", 3],
        ["c-nullcomp.jsonl", 2],
        ["d-garbage.jsonl", 1],
        ["e-binary.jsonl", 1],
      ])
      expect(report.bad[0]?.error).toContain(`${nullLine} line 3: it is null, not a ledger record`)
      expect(report.bad[1]?.error).toContain(`${nullComp} line 2: not a valid "intent" record: compensation`)
      expect(Recover.incomplete(report)).toBe(true)
      expect(Ledger.pending(Ledger.read(good1))).toEqual([])
      expect(Ledger.pending(Ledger.read(good2))).toEqual([])
    }))

  it("a torn final line: replayed once, its record ends the torn line, and later recovers find nothing (no double replay, no lost record)", async () =>
    withTempDir("recover", async (stateDir) => {
      const replayed: Array<unknown> = []
      const compensators: Compensation.Compensators = { "test.k": (x) => Effect.sync(() => void replayed.push(x["n"])) }
      // The runner died while appending the `rolled-back` of intent 2: that undo counts as not done.
      const path = crashed(stateDir, "torn", [
        { type: "intent", seq: 1, fault: "a", target: "t", compensation: c(1), at },
        { type: "applied", seq: 1, at },
        { type: "rolled-back", seq: 1, by: "runner", at },
        { type: "intent", seq: 2, fault: "b", target: "t", compensation: c(2), at },
        { type: "applied", seq: 2, at },
      ])
      appendFileSync(path, '{"v":1,"type":"rolled-back","seq":2,"by":"run')
      const first = await Effect.runPromise(Recover.recover({ stateDir, compensators }))
      expect(first.torn).toEqual([{ ledger: path, line: 7 }])
      expect(first.items.map((i) => `${i.fault}:${i.outcome}`)).toEqual(["b:restored"])
      expect(Recover.incomplete(first)).toBe(false)
      for (let i = 0; i < 2; i++) {
        const again = await Effect.runPromise(Recover.recover({ stateDir, compensators }))
        expect(again.items).toEqual([])
        expect(again.bad).toEqual([])
        expect(again.torn).toEqual([])
      }
      expect(replayed).toEqual([2])
      const lines = readFileSync(path, "utf8").trimEnd().split("\n")
      expect(lines.slice(-2).map((l) => JSON.parse(l) as { type: string })).toMatchObject([{ type: "torn", line: 7 }, { type: "rolled-back", seq: 2, by: "recover" }])
    }))

  it("refuses a ledger others could have written, and a compensation that does not decode with its kind's schema", async () =>
    withTempDir("recover", async (stateDir) => {
      const replayed: Array<unknown> = []
      const compensators: Compensation.Compensators = { "test.k": (x) => Effect.sync(() => void replayed.push(x["n"])) }
      const shared = crashed(stateDir, "shared", [{ type: "intent", seq: 1, fault: "a", target: "t", compensation: c(1), at }])
      chmodSync(shared, 0o664)
      const forged = crashed(stateDir, "forged", [{ type: "intent", seq: 1, fault: "b", target: "t", compensation: { kind: "file.restore", description: "restore", target: "t", path: "etc/passwd", content: "x" }, at }])
      const report = await Effect.runPromise(Recover.recover({ stateDir, compensators }))
      expect(replayed).toEqual([])
      expect(report.bad).toEqual([{ ledger: shared, error: expect.stringMatching(/writable by its group \(mode 664\).*chmod 600/) }])
      expect(report.items).toEqual([expect.objectContaining({ fault: "b", outcome: "failed", error: expect.stringMatching(new RegExp(`ledger ${forged}, intent 1: the "file.restore" compensation does not match`)) })])
      expect(Ledger.pending(Ledger.read(forged))).toHaveLength(1)
    }))

  it("loads each compensator from the module its intent names; an operator's compensator replaces a module's kind, never a built-in one", async () =>
    withTempDir("recover", async (stateDir) => {
      const calls: Array<string> = []
      const file = join(stateDir, "world.txt")
      writeFileSync(file, "TAMPERED")
      crashed(stateDir, "mods", [
        { type: "intent", seq: 1, fault: "a", target: "t", module: "/team/compensators.ts", compensation: c(1, "team.undo"), at },
        { type: "intent", seq: 2, fault: "b", target: "t", module: "/team/compensators.ts", compensation: c(2, "team.fixed"), at },
        { type: "intent", seq: 3, fault: "c", target: "t", module: "shiftup", compensation: { kind: "file.restore", description: "restore", target: "t", path: file, content: Buffer.from("ORIGINAL").toString("base64") }, at },
      ])
      const load = (ref: string) => {
        calls.push(ref)
        return Promise.resolve<Compensation.Compensators>({ "team.undo": () => Effect.sync(() => void calls.push("team.undo from module")), "team.fixed": () => Effect.sync(() => void calls.push("team.fixed from module")) })
      }
      const report = await Effect.runPromise(
        Recover.recover({
          stateDir,
          load,
          compensators: { "team.fixed": () => Effect.sync(() => void calls.push("team.fixed from --config")), "file.restore": () => Effect.sync(() => void calls.push("a replaced file.restore")) },
        }),
      )
      expect(report.items.map((i) => `${i.fault}:${i.outcome}`)).toEqual(["c:restored", "b:restored", "a:restored"])
      expect(calls).toEqual(["team.fixed from --config", "/team/compensators.ts", "team.undo from module"])
      expect(readFileSync(file, "utf8")).toBe("ORIGINAL")
    }))

  it("a ledger another recover holds is not replayed twice: this one waits, then finds nothing pending; or gives up and says so", async () =>
    withTempDir("recover", async (stateDir) => {
      const replayed: Array<unknown> = []
      const compensators: Compensation.Compensators = { "test.k": (x) => Effect.sync(() => void replayed.push(x["n"])) }
      const path = crashed(stateDir, "busy", [{ type: "intent", seq: 1, fault: "a", target: "t", compensation: c(1), at }])
      const other = acquire(`${path}.lock`, "recover")
      if (other._tag !== "acquired") throw new Error("could not take the lock")
      const gaveUp = await Effect.runPromise(Recover.recover({ stateDir, compensators, lockWaitMs: 150 }))
      expect(gaveUp.locked).toEqual([{ ledger: path, by: expect.objectContaining({ pid: process.pid, purpose: "recover" }) }])
      expect(Recover.incomplete(gaveUp)).toBe(true)
      expect(replayed).toEqual([])
      // The other recover replays it and releases the lock while this one waits.
      setTimeout(() => {
        appendFileSync(path, `${JSON.stringify({ v: 1, type: "rolled-back", seq: 1, by: "recover", at })}\n`)
        other.release()
      }, 150)
      const waited = await Effect.runPromise(Recover.recover({ stateDir, compensators, lockWaitMs: 5000 }))
      expect(waited.waited).toEqual([{ ledger: path, by: expect.objectContaining({ pid: process.pid }) }])
      expect(waited.items).toEqual([])
      expect(Recover.incomplete(waited)).toBe(false)
      expect(replayed).toEqual([])
    }))
})
