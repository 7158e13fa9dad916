import { spawnSync } from "node:child_process"
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { Ledger, ShiftupError } from "shiftup"

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "shiftup-ledger-"))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const compensation = (n: number) => ({ kind: "test.k", description: `undo ${n}`, n })
const at = "2025-01-01T00:00:00.000Z"

describe("Ledger", () => {
  it("open writes a durable run header; append adds versioned JSON lines", async () => {
    const writer = await Effect.runPromise(Ledger.open(dir, "run-1", "exp.id"))
    expect(writer.path).toBe(join(dir, "ledger", "run-1.jsonl"))
    await Effect.runPromise(writer.append({ type: "intent", seq: 1, fault: "f", target: "t", compensation: compensation(1), at }))
    const lines = readFileSync(writer.path, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({ v: 1, type: "run", runId: "run-1", experiment: "exp.id", pid: process.pid })
    expect(lines[1]).toEqual({ v: 1, type: "intent", seq: 1, fault: "f", target: "t", compensation: compensation(1), at })
    expect(Ledger.read(writer.path)).toHaveLength(2)
  })

  it("pending: intents not rolled back, newest first, with whether they were applied", () => {
    const records: ReadonlyArray<Ledger.Record> = [
      { type: "run", runId: "r", experiment: "e", pid: 1, at },
      { type: "intent", seq: 1, fault: "a", target: "t", compensation: compensation(1), at },
      { type: "applied", seq: 1, at },
      { type: "intent", seq: 2, fault: "b", target: "t", compensation: compensation(2), at },
      { type: "applied", seq: 2, at },
      { type: "intent", seq: 3, fault: "c", target: "t", compensation: compensation(3), at },
      { type: "rolled-back", seq: 2, by: "runner", at },
      { type: "intent", seq: 4, fault: "d", target: "t", compensation: compensation(4), at },
      { type: "rollback-failed", seq: 4, by: "runner", error: "timeout", at },
    ]
    expect(Ledger.pending(records)).toEqual([
      { seq: 4, fault: "d", target: "t", compensation: compensation(4), applied: false },
      { seq: 3, fault: "c", target: "t", compensation: compensation(3), applied: false },
      { seq: 1, fault: "a", target: "t", compensation: compensation(1), applied: true },
    ])
  })

  it("a torn last line (a crash mid-write) is ignored; a corrupt line before the end is an error", () => {
    const path = join(dir, "torn.jsonl")
    writeFileSync(path, `${JSON.stringify({ v: 1, type: "run", runId: "r", experiment: "e", pid: 1, at })}\n${JSON.stringify({ v: 1, type: "intent", seq: 1, fault: "a", target: "t", compensation: compensation(1), at })}\n{"v":1,"type":"inte`)
    const records = Ledger.read(path)
    expect(records.map((r) => r.type)).toEqual(["run", "intent"])
    expect(Ledger.pending(records).map((p) => p.fault)).toEqual(["a"])

    appendFileSync(path, `\n${JSON.stringify({ v: 1, type: "end", status: "finished", at })}\n`)
    expect(() => Ledger.read(path)).toThrow(/line 3 is not JSON/)
  })

  it("list: the .jsonl ledgers of a state directory, sorted; none when the directory is missing", () => {
    mkdirSync(join(dir, "ledger"))
    for (const f of ["b.jsonl", "a.jsonl", "notes.txt"]) writeFileSync(join(dir, "ledger", f), "")
    expect(Ledger.list(dir)).toEqual([join(dir, "ledger", "a.jsonl"), join(dir, "ledger", "b.jsonl")])
    expect(Ledger.list(join(dir, "missing"))).toEqual([])
  })

  it("owner: a live process (this one included) is alive; a dead one or an ended run is not", () => {
    const head = (pid: number): Ledger.Record => ({ type: "run", runId: "r", experiment: "e", pid, at })
    // The process that started this test worker is alive.
    expect(Ledger.owner([head(process.ppid)])).toEqual({ runId: "r", pid: process.ppid, alive: true, ended: false })
    const dead = spawnSync(process.execPath, ["-e", ""]).pid
    expect(Ledger.owner([head(dead)])?.alive).toBe(false)
    expect(Ledger.owner([head(process.ppid), { type: "end", status: "finished", at }])).toMatchObject({ alive: false, ended: true })
    // A run of this very process that has not ended is in progress: recover must leave it alone.
    expect(Ledger.owner([head(process.pid)])?.alive).toBe(true)
    expect(Ledger.owner([])).toBeUndefined()
  })

  it("a ledger that cannot be written is a LedgerError, not a throw", async () => {
    const file = join(dir, "file")
    writeFileSync(file, "")
    // The state directory is a file: the ledger directory cannot be created.
    const opened = await Effect.runPromise(Effect.flip(Ledger.open(file, "r", "e")))
    expect(opened.reason._tag).toBe("LedgerError")
    const e = await Effect.runPromise(Effect.flip(Ledger.appendRecord(join(dir, "no", "such", "dir.jsonl"), { type: "end", status: "x", at })))
    expect(e).toBeInstanceOf(ShiftupError)
    expect(e.reason._tag).toBe("LedgerError")
    expect(e.message).toContain("cannot append")
  })
})
