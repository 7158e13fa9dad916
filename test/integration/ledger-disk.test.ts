/**
 * Write-ahead under a full disk (issue 11, item 1), through real `shiftup run` processes: the state
 * directory is a 64 KiB tmpfs filled to the page so that exactly one ledger write — the header, an
 * intent, an `applied`, a `rolled-back`, the `end` — runs out of space part-way (a short write,
 * then ENOSPC). Whatever the write point: a fault whose intent was not written whole is never
 * injected, everything injected is rolled back (the world equals its snapshot right after the
 * run), the run says what it could not record and exits with the documented code, and once space
 * is freed `shiftup recover` reconciles the ledger: nothing pending, the world still equal.
 *
 * The page a record straddles is chosen by sizing the files the faults back up (their contents
 * are in the intents), from the byte offsets of a calibration run's ledger.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { fixture, ledgerFiles, pendingIntents, readJournal, runCli, tempDir, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

const root = process.getuid?.() === 0
const page = 4096
const pages = 16
const experiment = fixture("files-destroy.ts")
const names = ["one.cfg", "two.cfg"]
/** The records of a complete run of two faults, in order. */
const points = ["run", "intent 1", "applied 1", "intent 2", "applied 2", "rolled-back 2", "rolled-back 1", "end"] as const
/**
 * Exit codes by write point: no header → 4 (no durable ledger, nothing injected); the first intent
 * → 3 (aborted before anything was injected); a later write → 5 (every fault was rolled back, but
 * the ledger could not record it and still lists it as pending: run recover); the end record → 0
 * (nothing is pending; the missing end record is journaled).
 */
const expectedCode: Readonly<Record<(typeof points)[number], number>> = {
  run: 4,
  "intent 1": 3,
  "applied 1": 5,
  "intent 2": 5,
  "applied 2": 5,
  "rolled-back 2": 5,
  "rolled-back 1": 5,
  end: 0,
}

let disk = ""
const worlds = () => tempDir("shiftup-diskworld-")

const makeWorld = (sizes: readonly [number, number]) => {
  const dir = worlds()
  const originals = names.map((n, i) => [n, randomBytes(sizes[i] ?? 0)] as const)
  for (const [n, b] of originals) writeFileSync(join(dir, n), b)
  return { dir, originals }
}
const expectWorld = (w: ReturnType<typeof makeWorld>, context: string) => {
  for (const [n, b] of w.originals) expect(readFileSync(join(w.dir, n)).equals(b), `${context}: ${n} must equal its snapshot`).toBe(true)
  expect(readdirSync(w.dir).sort(), context).toEqual([...names].sort())
}
const env = (w: ReturnType<typeof makeWorld>) => ({ SHIFTUP_FIXTURE_DIR: w.dir, SHIFTUP_FIXTURE_FILES: names.join(","), SHIFTUP_FIXTURE_WAIT: "5", SHIFTUP_FIXTURE_HOLD: "5" })

/** Byte offset where each record of a ledger ends (after its newline). */
const ends = (text: string) => {
  const out: Array<number> = []
  let at = 0
  for (const line of text.split("\n").slice(0, -1)) out.push((at += Buffer.byteLength(line) + 1))
  return out
}

/** Leaves exactly `free` pages free on the tmpfs (and nothing else on it). */
const fill = (free: number) => {
  for (const f of readdirSync(disk)) rmSync(join(disk, f), { recursive: true, force: true })
  writeFileSync(join(disk, "filler"), Buffer.alloc((pages - free) * page))
}

describe.skipIf(!root)("a full disk at every ledger write point (tmpfs, real runs)", () => {
  // The mount point is not a scope's temp dir: those are removed after each test, before unmounting.
  beforeAll(() => {
    disk = mkdtempSync(join(tmpdir(), "shiftup-disk-"))
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${pages * page},mode=0700`, "tmpfs", disk])
  })
  afterAll(() => {
    if (disk === "") return
    execFileSync("umount", [disk])
    rmSync(disk, { recursive: true, force: true })
  })

  it("never injects without a whole intent, rolls back what it did inject, says what it could not record, and recover reconciles", async () => {
    // Calibration: where each record ends when both backed-up files hold 3000 bytes.
    const base = 3000
    const calib = makeWorld([base, base])
    fill(pages)
    const c = await runCli(["run", experiment, "--state-dir", disk, "--journal", join(worlds(), "j.json")], { env: env(calib) })
    expect(c.code, c.output).toBe(0)
    const E = ends(readFileSync(ledgerFiles(disk)[0] ?? "", "utf8"))
    expect(E, "the calibration ledger has every record").toHaveLength(points.length)
    const summary: Array<string> = []

    for (const [k, point] of points.entries()) {
      // Place a page boundary inside record k: big intents straddle one anyway; before a small
      // record, grow the file backed up by the last intent before it (4 bytes of base64 per 3).
      let sizes: [number, number] = [base, base]
      let free = 0
      if (k > 0) {
        const before = E[k - 1] ?? 0
        const length = (E[k] ?? 0) - before
        if (point.startsWith("intent")) free = Math.floor(before / page) + 1
        else {
          free = Math.ceil((before + length / 2) / page)
          let shift = free * page - Math.floor(length / 2) - before
          shift -= shift % 4
          sizes = k < 3 ? [base + (shift / 4) * 3, base] : [base, base + (shift / 4) * 3]
        }
      }
      const w = makeWorld(sizes)
      fill(free)
      const journal = join(worlds(), "journal.json")
      const r = await runCli(["run", experiment, "--state-dir", disk, "--journal", journal], { env: env(w) })
      const context = `write point "${point}" (${free} page(s) free, files ${sizes.join("+")} bytes)\n${r.output}`
      const ledger = ledgerFiles(disk)[0]
      const text = ledger === undefined ? "" : readFileSync(ledger, "utf8")
      const complete = text.split("\n").slice(0, -1).length
      summary.push(`${point}: exit ${r.code}, ${complete} complete record(s), ${text.endsWith("\n") || text === "" ? "no torn line" : "a torn last line"}`)
      // The failure struck exactly this write, part-way (a short write) where the record was big.
      expect(complete, context).toBe(k)
      expect(r.code, context).toBe(expectedCode[point])
      // Right after the run, before any recover: everything it injected was rolled back.
      expectWorld(w, `${context}\nright after the run`)
      const j = readJournal(journal)
      if (k > 0) expect(j.errors.map((e) => e.message).join("\n"), context).toMatch(/ENOSPC/)
      if (k === 1) expect(j.rollbacks, "the first fault was never injected: nothing to roll back").toEqual([])
      if (expectedCode[point] === 5) expect(r.stdout, context).toMatch(/ROLLBACK NOT RECORDED: every rollback ran, but the ledger .* still lists them as pending/)

      // The operator frees space and runs recover: the ledger is reconciled, the world unchanged.
      rmSync(join(disk, "filler"))
      const rec = await runCli(["recover", "--state-dir", disk])
      expect(rec.code, `${context}\nrecover:\n${rec.output}`).toBe(0)
      if (text !== "" && !text.endsWith("\n")) expect(rec.stdout, rec.output).toMatch(/line \d+ is torn/)
      expect(pendingIntents(disk), rec.output).toEqual([])
      expectWorld(w, `${context}\nafter recover`)
      const again = await runCli(["recover", "--state-dir", disk])
      expect(again.stdout, again.output).toMatch(/nothing to recover/)
      if (ledger !== undefined && existsSync(ledger)) rmSync(ledger)
    }
    console.log(`full-disk write points:\n${summary.join("\n")}`)
  }, 300_000)
})

describe.skipIf(!root)("recover on a full disk", () => {
  it("replays, but cannot record the outcome: says so, exits 5, and the ledger still lists it as pending", async () => {
    const mount = mkdtempSync(join(tmpdir(), "shiftup-disk2-"))
    // Two pages: the ledger fills one to the byte, recover's lock file takes the other.
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${2 * page},mode=0700`, "tmpfs", mount])
    try {
      const world = worlds()
      const file = join(world, "f.txt")
      writeFileSync(file, "TAMPERED")
      const header = `${JSON.stringify({ v: 1, type: "run", runId: "full", experiment: "e", pid: spawnSync(process.execPath, ["-e", ""]).pid, at: "2025-01-01T00:00:00.000Z" })}\n`
      const intent = (pad: string) => `${JSON.stringify({ v: 1, type: "intent", seq: 1, fault: "f", target: "t", module: "shiftup", compensation: { kind: "file.restore", description: `restore${pad}`, target: "t", path: file, content: Buffer.from("ORIGINAL").toString("base64") }, at: "2025-01-01T00:00:00.000Z" })}\n`
      const text = header + intent(" ".repeat(page - Buffer.byteLength(header + intent(""))))
      expect(Buffer.byteLength(text)).toBe(page)
      execFileSync("mkdir", ["-m", "700", join(mount, "ledger")])
      writeFileSync(join(mount, "ledger", "full.jsonl"), text, { mode: 0o600 })
      const r = await runCli(["recover", "--state-dir", mount])
      expect(r.code, r.output).toBe(5)
      expect(r.stdout).toMatch(/^restored f on t \(run full\)/m)
      expect(r.stderr).toMatch(/cannot record the outcome of intent 1 in .*full\.jsonl: .*ENOSPC.*still lists it as pending/)
      expect(r.output).not.toMatch(/nothing to recover/)
      expect(readFileSync(file, "utf8")).toBe("ORIGINAL")
      expect(readFileSync(join(mount, "ledger", "full.jsonl"), "utf8")).toBe(text)
    } finally {
      execFileSync("umount", [mount])
      rmSync(mount, { recursive: true, force: true })
    }
  })
})
