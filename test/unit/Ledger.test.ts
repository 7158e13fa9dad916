import { spawnSync } from "node:child_process"
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { isShiftupError, type ShiftupError } from "shiftup"
import { Ledger } from "shiftup/advanced"

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
      { type: "intent", seq: 1, fault: "a", target: "t", module: "shiftup", compensation: compensation(1), at },
      { type: "applied", seq: 1, at },
      { type: "intent", seq: 2, fault: "b", target: "t", compensation: compensation(2), at },
      { type: "applied", seq: 2, at },
      { type: "intent", seq: 3, fault: "c", target: "t", compensation: compensation(3), at },
      { type: "rolled-back", seq: 2, by: "runner", at },
      { type: "intent", seq: 4, fault: "d", target: "t", compensation: compensation(4), at },
      { type: "rollback-failed", seq: 4, by: "runner", error: "timeout", at },
    ]
    expect(Ledger.pending(records)).toEqual([
      { seq: 4, fault: "d", target: "t", compensation: compensation(4), applied: false, at },
      { seq: 3, fault: "c", target: "t", compensation: compensation(3), applied: false, at },
      { seq: 1, fault: "a", target: "t", compensation: compensation(1), applied: true, at, module: "shiftup" },
    ])
  })

  const line = (r: object) => JSON.stringify({ v: 1, ...r })
  const header = line({ type: "run", runId: "r", experiment: "e", pid: 1, at })
  const intent = (seq: number) => line({ type: "intent", seq, fault: `f${seq}`, target: "t", compensation: compensation(seq), at })

  it("a torn final line is skipped as torn; the next append ends it with a `torn` marker, and every record after it reads normally", async () => {
    const path = join(dir, "torn.jsonl")
    writeFileSync(path, `${header}\n${intent(1)}\n{"v":1,"type":"rolled-ba`)
    const before = Ledger.inspect(path)
    expect(before.records.map((r) => r.type)).toEqual(["run", "intent"])
    expect(before.torn).toEqual({ line: 3, bytes: 24 })
    expect(Ledger.pending(before.records).map((p) => p.fault)).toEqual(["f1"])

    // The append must not be glued onto the torn line (its record would be lost).
    await Effect.runPromise(Ledger.appendRecord(path, { type: "rolled-back", seq: 1, by: "recover", at }))
    const text = readFileSync(path, "utf8")
    expect(text.split("\n")[2]).toBe('{"v":1,"type":"rolled-ba')
    expect(JSON.parse(text.split("\n")[3] ?? "")).toMatchObject({ type: "torn", line: 3 })
    const after = Ledger.inspect(path)
    expect(after.torn).toBeUndefined()
    expect(after.records.map((r) => r.type)).toEqual(["run", "intent", "torn", "rolled-back"])
    expect(Ledger.pending(after.records)).toEqual([])
    // And again: nothing is lost or re-read as pending.
    await Effect.runPromise(Ledger.appendRecord(path, { type: "end", status: "finished", at }))
    expect(Ledger.read(path).map((r) => r.type)).toEqual(["run", "intent", "torn", "rolled-back", "end"])
  })

  it("a complete last record without its newline is read, and the next append starts a new line", async () => {
    const path = join(dir, "unterminated.jsonl")
    writeFileSync(path, `${header}\n${intent(1)}`)
    expect(Ledger.read(path).map((r) => r.type)).toEqual(["run", "intent"])
    await Effect.runPromise(Ledger.appendRecord(path, { type: "applied", seq: 1, at }))
    expect(Ledger.read(path).map((r) => r.type)).toEqual(["run", "intent", "applied"])
  })

  it("a broken line in the middle is corruption: a LedgerError with the line, unless forced (then skipped and reported)", () => {
    const path = join(dir, "middle.jsonl")
    writeFileSync(path, `${header}\n${intent(1)}\n{"v":1,"type":"inte\n${intent(2)}\n`)
    const e = (() => {
      try {
        Ledger.read(path)
      } catch (x) {
        return x
      }
    })()
    expect(isShiftupError(e)).toBe(true)
    expect(e as ShiftupError).toMatchObject({ _tag: "LedgerError", path, line: 3 })
    expect((e as ShiftupError).message).toMatch(/line 3: not JSON .* the ledger is corrupt; nothing after it is replayed unless you pass --force/)
    const forced = Ledger.inspect(path, { force: true })
    expect(forced.records.map((r) => r.type)).toEqual(["run", "intent", "intent"])
    expect(forced.skipped).toEqual([{ line: 3, reason: expect.stringContaining("not JSON") }])
  })

  const badCases: ReadonlyArray<readonly [string, string, number, RegExp]> = [
    ["a null line", `${header}\nnull\n${intent(1)}\n`, 2, /line 2: it is null, not a ledger record/],
    ["an intent whose compensation is null", `${header}\n${line({ type: "intent", seq: 1, fault: "f", target: "t", compensation: null, at })}\n`, 2, /line 2: not a valid "intent" record: compensation/],
    ["a compensation with no kind", `${header}\n${line({ type: "intent", seq: 1, fault: "f", target: "t", compensation: { description: "x" }, at })}\n`, 2, /compensation\.kind/],
    ["garbage", "hello world\nthis is not a ledger\n", 1, /line 1: not JSON/],
    ["binary", "\u0000\u0001\u00ff\u0010binary", 1, /line 1: an incomplete line that is not the start of a ledger record/],
    ["another program's JSONL", '{"level":"info","msg":"hi"}\n', 1, /line 1: unknown record type undefined/],
    ["records before the header", `${intent(1)}\n${header}\n`, 1, /not a shiftup ledger: its first record is "intent"/],
    ["an undo of an intent that does not exist", `${header}\n${line({ type: "rolled-back", seq: 7, by: "runner", at })}\n`, 2, /for seq 7, which no earlier intent declares/],
    ["a second header", `${header}\n${header}\n`, 2, /a second run header/],
    ["an unknown version", `${header}\n${JSON.stringify({ v: 2, type: "applied", seq: 1, at })}\n`, 2, /not a valid "applied" record: v/],
  ]
  it.each(badCases)("%s: a LedgerError naming the line and the reason", (_, text, lineNo, message) => {
    const path = join(dir, "bad.jsonl")
    writeFileSync(path, text)
    let error: unknown
    try {
      Ledger.read(path)
    } catch (e) {
      error = e
    }
    expect(isShiftupError(error), "it must throw").toBe(true)
    const reason = error as ShiftupError
    expect(reason).toMatchObject({ _tag: "LedgerError", path, line: lineNo })
    expect(reason.message).toMatch(message)
  })

  it("an empty ledger (a run that died before its header) and a torn header have nothing pending", () => {
    const empty = join(dir, "empty.jsonl")
    writeFileSync(empty, "")
    expect(Ledger.read(empty)).toEqual([])
    const torn = join(dir, "torn-header.jsonl")
    writeFileSync(torn, header.slice(0, 30))
    expect(Ledger.inspect(torn)).toMatchObject({ records: [], torn: { line: 1 } })
  })

  it("list: the .jsonl ledgers of a state directory, sorted; none without a ledger folder; an error when it cannot be listed", () => {
    mkdirSync(join(dir, "ledger"))
    for (const f of ["b.jsonl", "a.jsonl", "notes.txt", "a.jsonl.lock"]) writeFileSync(join(dir, "ledger", f), "")
    expect(Ledger.list(dir)).toEqual([join(dir, "ledger", "a.jsonl"), join(dir, "ledger", "b.jsonl")])
    expect(Ledger.list(join(dir, "missing"))).toEqual([])
    // ENOTDIR (the ledger "folder" is a file) is not "no ledgers".
    const odd = join(dir, "odd")
    mkdirSync(odd)
    writeFileSync(join(odd, "ledger"), "")
    expect(() => Ledger.list(odd)).toThrow(/cannot list the ledgers: .*ENOTDIR/)
  })

  it("open creates the ledger folder and file owner-only; distrust refuses a ledger others could have written", async () => {
    const state = join(dir, "fresh", "state")
    const writer = await Effect.runPromise(Ledger.open(state, "run-1", "exp.id"))
    expect(statSync(state).mode & 0o777).toBe(0o700)
    expect(statSync(Ledger.ledgerDir(state)).mode & 0o777).toBe(0o700)
    expect(statSync(writer.path).mode & 0o777).toBe(0o600)
    expect(Ledger.distrust(writer.path)).toBeUndefined()
    chmodSync(writer.path, 0o620)
    expect(Ledger.distrust(writer.path)).toMatch(/writable by its group \(mode 620\).*chmod 600/)
    chmodSync(writer.path, 0o606)
    expect(Ledger.distrust(writer.path)).toMatch(/writable by everyone/)
    chmodSync(writer.path, 0o600)
    symlinkSync(writer.path, join(dir, "link.jsonl"))
    expect(Ledger.distrust(join(dir, "link.jsonl"))).toMatch(/not a regular file \(a symbolic link\)/)
    if (process.getuid?.() === 0) {
      chownSync(writer.path, 65534, 65534)
      expect(Ledger.distrust(writer.path)).toMatch(/belongs to uid 65534, not to you \(uid 0\).*chown 0/)
    }
  })

  it("open under a path the kernel will never create (/proc/x) fails at once instead of looping", async () => {
    const t0 = Date.now()
    const e = await Effect.runPromise(Effect.flip(Ledger.open("/proc/shiftup-no-such/state", "r", "e")))
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(e).toMatchObject({ _tag: "LedgerError", errno: "ENOENT" })
    expect(e.message).toContain("cannot create its folder /proc/shiftup-no-such/state/ledger")
    const empty = await Effect.runPromise(Effect.flip(Ledger.open("", "r", "e")))
    expect(empty.message).toContain("the state directory is an empty string")
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
    expect(opened._tag).toBe("LedgerError")
    const e = await Effect.runPromise(Effect.flip(Ledger.appendRecord(join(dir, "no", "such", "dir.jsonl"), { type: "end", status: "x", at })))
    expect(isShiftupError(e)).toBe(true)
    expect(e._tag).toBe("LedgerError")
    expect(e.message).toContain('cannot append a "end" record')
  })
})
