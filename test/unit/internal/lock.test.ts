/**
 * The per-host exclusive lock (src/internal/lock.ts) that keeps two recovers — or a recover and a
 * watchdog — from replaying the same undo twice: exclusive across real processes, stale locks of
 * dead (or reused) pids broken, a live holder's lock never broken or released by someone else.
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { acquire, holderAlive, startTime } from "../../../src/internal/lock.ts"

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "shiftup-lock-"))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid
const holderFile = (pid: number, start?: string) => `${JSON.stringify({ pid, ...(start === undefined ? {} : { start }), host: hostname(), purpose: "recover", at: "2025-01-01T00:00:00.000Z" })}\n`

describe("lock", () => {
  it("is exclusive; the holder is named; release frees it", () => {
    const path = join(dir, "a.lock")
    const first = acquire(path, "recover")
    expect(first._tag).toBe("acquired")
    const second = acquire(path, "watchdog")
    expect(second).toMatchObject({ _tag: "held", by: { pid: process.pid, purpose: "recover", host: hostname() } })
    if (first._tag === "acquired") first.release()
    expect(existsSync(path)).toBe(false)
    const third = acquire(path, "watchdog")
    expect(third._tag).toBe("acquired")
    if (third._tag === "acquired") third.release()
  })

  it("breaks the stale lock of a dead pid, and of a pid now used by a process started at another time", () => {
    const path = join(dir, "b.lock")
    writeFileSync(path, holderFile(deadPid()))
    const a = acquire(path, "recover")
    expect(a._tag).toBe("acquired")
    if (a._tag === "acquired") a.release()
    // The parent's pid is alive, but the lock says it belonged to a process started at tick 1.
    writeFileSync(path, holderFile(process.ppid, "1"))
    expect(holderAlive({ pid: process.ppid, start: "1", host: hostname(), purpose: "x", at: "" })).toBe(process.platform !== "linux")
    const b = acquire(path, "recover")
    expect(b._tag).toBe(process.platform === "linux" ? "acquired" : "held")
    if (b._tag === "acquired") b.release()
  })

  it("does not break a live holder's lock, nor one it cannot read", () => {
    const path = join(dir, "c.lock")
    const start = startTime(process.ppid)
    writeFileSync(path, holderFile(process.ppid, start))
    expect(acquire(path, "recover")).toMatchObject({ _tag: "held", by: { pid: process.ppid } })
    writeFileSync(path, "garbage")
    expect(acquire(path, "recover")).toMatchObject({ _tag: "held", by: { pid: 0, purpose: expect.stringContaining("unreadable lock file") } })
    expect(readFileSync(path, "utf8")).toBe("garbage")
  })

  it("release leaves a lock that is no longer this holder's alone", () => {
    const path = join(dir, "d.lock")
    const mine = acquire(path, "recover")
    rmSync(path)
    writeFileSync(path, holderFile(process.ppid, startTime(process.ppid)))
    if (mine._tag === "acquired") mine.release()
    expect(existsSync(path)).toBe(true)
  })

  it("excludes across processes: racing children never hold it at once", async () => {
    const path = join(dir, "e.lock")
    const counter = join(dir, "counter")
    writeFileSync(counter, "0")
    const lock = fileURLToPath(new URL("../../../src/internal/lock.ts", import.meta.url))
    // Each child increments the counter 25 times with a slow read-modify-write under the lock:
    // any overlap loses an increment.
    const script = `
      import { acquire } from ${JSON.stringify(lock)}
      import { readFileSync, writeFileSync } from "node:fs"
      let done = 0
      while (done < 25) {
        const l = acquire(${JSON.stringify(path)}, "race")
        if (l._tag !== "acquired") { await new Promise((r) => setTimeout(r, 1)); continue }
        const n = Number(readFileSync(${JSON.stringify(counter)}, "utf8"))
        await new Promise((r) => setTimeout(r, 1))
        writeFileSync(${JSON.stringify(counter)}, String(n + 1))
        l.release()
        done++
      }`
    const children = Array.from({ length: 4 }, () => spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "inherit", "inherit"] }))
    const codes = await Promise.all(children.map((c) => new Promise<number | null>((r) => c.once("close", r))))
    expect(codes).toEqual([0, 0, 0, 0])
    expect(readFileSync(counter, "utf8")).toBe("100")
    expect(existsSync(path)).toBe(false)
  }, 30_000)
})
