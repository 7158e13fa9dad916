/**
 * The finding store on a real SQLite file: fingerprints from stable fields only, the store
 * contract (test/support/store-contract.ts, the PostgreSQL store passes the same), WAL mode,
 * migrations of an old file, and the one-watcher lock.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterEach, describe, expect, it } from "vitest"
import { fingerprint, fromJournal, migrate, migrations, openSqlite, schemaVersion, type FindingStore, type Observation } from "shiftup/watch"
import type { Journal } from "../../../src/Journal.ts"
import { openWatcherStore } from "../../../src/watch/store/open.ts"
import { anon, at, storeContract } from "../../support/store-contract.ts"

const dirs: Array<string> = []
const stores: Array<FindingStore> = []
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), "shiftup-store-"))
  dirs.push(dir)
  return join(dir, "watch.sqlite")
}
const open = (file = fresh()) => {
  const s = openSqlite(file)
  stores.push(s)
  return s
}
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})


/** A journal of one run that found `anon`: everything but the stable fields differs per run. */
const journalOf = (runId: string, startedAt: string, observed: number): Journal =>
  ({
    schema: "shiftup.journal/v1",
    runId,
    experiment: { id: "gateway.auth", title: "t", description: "", tags: [] },
    startedAt,
    endedAt: startedAt,
    durationMs: observed,
    status: "failed",
    exitCode: 1,
    summary: "s",
    dryRun: false,
    steps: [],
    findings: [{ id: "anonymous-denied", severity: "critical", title: "anonymous denied", phase: "before", target: "http://127.0.0.1:20000", expected: "one of 401, 403", observed, evidence: `${observed} of 15 samples, first at +${observed * 3} ms` }],
    rollbacks: [],
    errors: [],
  }) as Journal

describe("fingerprints", () => {
  it("two runs' identical findings get one fingerprint: run ids, times, counters and evidence are not in it", async () => {
    const a = fromJournal(journalOf("run-2026-12-01-aaaa", "2026-12-01T10:00:00.000Z", 7)) ?? []
    const b = fromJournal(journalOf("run-2026-12-02-bbbb", "2026-12-02T11:30:00.000Z", 9)) ?? []
    expect(a).toHaveLength(1)
    expect(a[0]?.detail).not.toBe(b[0]?.detail)
    expect(fingerprint(a[0] as Observation)).toBe(fingerprint(b[0] as Observation))
    const store = open()
    await store.record("gateway", a, at(0))
    await store.record("gateway", b, at(1))
    expect(await store.open()).toHaveLength(1)
    expect((await store.open())[0]).toMatchObject({ occurrences: 2, state: "open" })
  })

  it("rule, asset and location each make a different finding", () => {
    const base = fingerprint(anon)
    expect(new Set([base, fingerprint({ ...anon, rule: "x" }), fingerprint({ ...anon, asset: "y" }), fingerprint({ ...anon, location: "method" })]).size).toBe(4)
    const reworded: Observation = { ...anon, severity: "low", title: "other", detail: "other" }
    expect(fingerprint(reworded)).toBe(base)
  })

  it("a run that is not a complete scan (refused, aborted, invalid) records nothing", () => {
    for (const status of ["refused", "aborted", "invalid"] as const) expect(fromJournal({ ...journalOf("r", "2026-12-01T10:00:00.000Z", 1), status })).toBeUndefined()
  })
})

describe("the SQLite store", () => {
  storeContract({
    fresh: async () => {
      const file = fresh()
      return { store: openSqlite(file), reopen: async () => openSqlite(file) }
    },
  })
})

describe("the SQLite file", () => {
  it("is in WAL mode and survives a reopen", async () => {
    const file = fresh()
    const store = openSqlite(file)
    await store.record("gateway", [anon], at(0))
    const peek = new DatabaseSync(file, { readOnly: true })
    expect(peek.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" })
    // A reader sees the committed finding while the writer holds the file open (WAL).
    expect(peek.prepare("SELECT state FROM findings").all()).toEqual([{ state: "new" }])
    peek.close()
    await store.close()
    expect(await open(file).get(fingerprint(anon))).toMatchObject({ state: "new" })
  })

  it("migrates a file of schema version 1 forward, keeping its findings", async () => {
    const file = fresh()
    const old = new DatabaseSync(file)
    migrate(old, file, 1)
    old
      .prepare(`INSERT INTO findings VALUES (?, ?, ?, ?, 'high', 't', '', 'gateway', 'open', ?, ?, 3, ?, NULL, NULL, NULL)`)
      .run(fingerprint(anon), anon.rule, anon.asset, anon.location, at(0).toISOString(), at(2).toISOString(), at(0).toISOString())
    expect(old.prepare("SELECT version FROM schema_version").get()).toEqual({ version: 1 })
    old.close()
    const store = open(file)
    expect(await store.get(fingerprint(anon))).toMatchObject({ state: "open", occurrences: 3 })
    await store.record("gateway", [], at(5))
    expect(await store.get(fingerprint(anon))).toMatchObject({ state: "resolved", timeToResolveMs: 5 * 60_000 })
    const peek = new DatabaseSync(file, { readOnly: true })
    expect(peek.prepare("SELECT version FROM schema_version").get()).toEqual({ version: schemaVersion })
    peek.close()
    expect(schemaVersion).toBe(migrations.length)
  })

  it("refuses a file from a newer shiftup", () => {
    const file = fresh()
    const newer = new DatabaseSync(file)
    newer.exec("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (99)")
    newer.close()
    expect(() => openSqlite(file)).toThrow(/schema version is 99, newer than this shiftup knows/)
  })

  it("takes one watcher: a second watcher on the same file is refused while the first lives; a dead one's lock is taken over", async () => {
    const file = fresh()
    const first = await openWatcherStore(file, "unused")
    const second = openWatcherStore(file, "unused")
    await expect(second).rejects.toThrow(/another shiftup watch \(pid \d+\) uses it: a SQLite store takes one watcher/)
    await first.close()
    writeFileSync(`${file}.watcher.lock`, "2147483646\n")
    const third = await openWatcherStore(file, "unused")
    expect(readFileSync(`${file}.watcher.lock`, "utf8")).toBe(`${process.pid}\n`)
    await third.close()
    // Left by an earlier process with this very pid (a container's watcher is pid 1 at every start).
    writeFileSync(`${file}.watcher.lock`, `${process.pid}\n`)
    const fourth = await openWatcherStore(file, "unused")
    await fourth.close()
  })
})
