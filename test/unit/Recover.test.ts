import { spawnSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Ledger, Recover, type Compensation } from "shiftup"
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
})
