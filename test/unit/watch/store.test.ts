/**
 * The finding store's contract on a real SQLite file: fingerprints from stable fields only, the
 * lifecycle (new → open → resolved → regressed → open; accepted-risk until its expiry, then
 * reopened), time to detect and to resolve, scopes, WAL mode, and migrations of an old file.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterEach, describe, expect, it } from "vitest"
import { fingerprint, FindingStoreError, fromJournal, migrate, migrations, openSqlite, schemaVersion, type FindingStore, type Observation } from "shiftup/watch"
import type { Journal } from "../../../src/Journal.ts"

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
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const t0 = new Date("2026-12-01T10:00:00.000Z")
const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000)
const anon: Observation = { rule: "gateway.auth/anonymous-denied", asset: "http://127.0.0.1:20000", location: "before", severity: "critical", title: "anonymous denied", detail: "observed 200" }
const cors: Observation = { rule: "http/cors.any-origin", asset: "http://127.0.0.1:20000", location: "/admin", severity: "medium", title: "CORS trusts any origin" }

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
  it("two runs' identical findings get one fingerprint: run ids, times, counters and evidence are not in it", () => {
    const a = fromJournal(journalOf("run-2026-12-01-aaaa", "2026-12-01T10:00:00.000Z", 7)) ?? []
    const b = fromJournal(journalOf("run-2026-12-02-bbbb", "2026-12-02T11:30:00.000Z", 9)) ?? []
    expect(a).toHaveLength(1)
    expect(a[0]?.detail).not.toBe(b[0]?.detail)
    expect(fingerprint(a[0] as Observation)).toBe(fingerprint(b[0] as Observation))
    const store = open()
    store.record("gateway", a, at(0))
    store.record("gateway", b, at(1))
    expect(store.open()).toHaveLength(1)
    expect(store.open()[0]).toMatchObject({ occurrences: 2, state: "open" })
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

describe("the lifecycle", () => {
  it("new → open → resolved → regressed → open, with first/last seen, occurrences, time to detect and to resolve", () => {
    const store = open()
    expect(store.record("gateway", [], at(0))).toEqual([])
    const fp = fingerprint(anon)
    const found = store.record("gateway", [anon], at(5))
    expect(found.map((t) => [t.from, t.to])).toEqual([[undefined, "new"]])
    expect(found[0]?.finding).toEqual(store.get(fp))
    expect(store.get(fp)).toMatchObject({ state: "new", firstSeen: at(5).toISOString(), occurrences: 1, timeToDetectMs: 5 * 60_000 })
    expect(store.record("gateway", [anon], at(6)).map((t) => [t.from, t.to])).toEqual([["new", "open"]])
    expect(store.record("gateway", [anon], at(7))).toEqual([])
    expect(store.get(fp)).toMatchObject({ state: "open", occurrences: 3, lastSeen: at(7).toISOString(), firstSeen: at(5).toISOString() })
    expect(store.record("gateway", [], at(20)).map((t) => [t.from, t.to])).toEqual([["open", "resolved"]])
    expect(store.get(fp)).toMatchObject({ state: "resolved", resolvedAt: at(20).toISOString(), timeToResolveMs: 15 * 60_000 })
    expect(store.open()).toEqual([])
    const regressed = store.record("gateway", [anon], at(30))
    expect(regressed.map((t) => [t.from, t.to])).toEqual([["resolved", "regressed"]])
    expect(regressed[0]?.finding, "a transition carries the finding as stored").toEqual(store.get(fp))
    expect(store.get(fp)).toMatchObject({ state: "regressed", openedAt: at(30).toISOString(), firstSeen: at(5).toISOString(), occurrences: 4 })
    expect(store.get(fp)?.resolvedAt).toBeUndefined()
    expect(store.record("gateway", [anon], at(31)).map((t) => [t.from, t.to])).toEqual([["regressed", "open"]])
    store.record("gateway", [], at(40))
    expect(store.get(fp)).toMatchObject({ state: "resolved", timeToResolveMs: 10 * 60_000 })
  })

  it("a job's first scan has no time to detect (nothing says how long it was there)", () => {
    const store = open()
    store.record("gateway", [anon], at(0))
    expect(store.get(fingerprint(anon))?.timeToDetectMs).toBeUndefined()
  })

  it("only the scope that owns a finding resolves it", () => {
    const store = open()
    store.record("gateway", [anon], at(0))
    expect(store.record("inventory", [cors], at(1)).map((t) => t.to)).toEqual(["new"])
    expect(store.open().map((f) => f.rule).sort()).toEqual([anon.rule, cors.rule].sort())
  })

  it("accepted-risk: kept while seen and until its expiry; an expired acceptance reopens the finding", () => {
    const store = open()
    const fp = fingerprint(anon)
    store.record("gateway", [anon], at(0))
    expect(store.accept(fp, "compensating WAF rule, OPS-7", at(60), at(1))).toMatchObject({ from: "new", to: "accepted-risk" })
    expect(store.record("gateway", [anon], at(2))).toEqual([])
    expect(store.get(fp)).toMatchObject({ state: "accepted-risk", acceptedReason: "compensating WAF rule, OPS-7", acceptedUntil: at(60).toISOString(), occurrences: 2 })
    expect(store.countOpen()).toEqual([{ severity: "critical", rule: anon.rule, count: 1 }])
    expect(store.expire(at(59))).toEqual([])
    expect(store.record("gateway", [anon], at(61)).map((t) => [t.from, t.to])).toEqual([["accepted-risk", "open"]])
    expect(store.get(fp)).toMatchObject({ state: "open" })
    expect(store.get(fp)?.acceptedUntil).toBeUndefined()
  })

  it("expire reopens without a scan", () => {
    const store = open()
    const fp = fingerprint(anon)
    store.record("gateway", [anon], at(0))
    store.accept(fp, "until the fix ships", at(10), at(1))
    expect(store.expire(at(10)).map((t) => [t.fingerprint, t.to])).toEqual([[fp, "open"]])
  })

  it("accepting needs a known finding, a reason and a future expiry", () => {
    const store = open()
    store.record("gateway", [anon], at(0))
    expect(() => store.accept("nope", "r", at(10), at(1))).toThrow(FindingStoreError)
    expect(() => store.accept(fingerprint(anon), " ", at(10), at(1))).toThrow(/needs a reason/)
    expect(() => store.accept(fingerprint(anon), "r", at(1), at(1))).toThrow(/must expire after now/)
  })

  it("open(): most severe first", () => {
    const store = open()
    store.record("gateway", [cors, anon, { ...cors, asset: "b", severity: "low" }], at(0))
    expect(store.open().map((f) => f.severity)).toEqual(["critical", "medium", "low"])
  })
})

describe("the SQLite file", () => {
  it("is in WAL mode and survives a reopen", () => {
    const file = fresh()
    const store = openSqlite(file)
    store.record("gateway", [anon], at(0))
    const peek = new DatabaseSync(file, { readOnly: true })
    expect(peek.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" })
    // A reader sees the committed finding while the writer holds the file open (WAL).
    expect(peek.prepare("SELECT state FROM findings").all()).toEqual([{ state: "new" }])
    peek.close()
    store.close()
    expect(open(file).get(fingerprint(anon))).toMatchObject({ state: "new" })
  })

  it("migrates a file of schema version 1 forward, keeping its findings", () => {
    const file = fresh()
    const old = new DatabaseSync(file)
    migrate(old, file, 1)
    old
      .prepare(`INSERT INTO findings VALUES (?, ?, ?, ?, 'high', 't', '', 'gateway', 'open', ?, ?, 3, ?, NULL, NULL, NULL)`)
      .run(fingerprint(anon), anon.rule, anon.asset, anon.location, at(0).toISOString(), at(2).toISOString(), at(0).toISOString())
    expect(old.prepare("SELECT version FROM schema_version").get()).toEqual({ version: 1 })
    old.close()
    const store = open(file)
    expect(store.get(fingerprint(anon))).toMatchObject({ state: "open", occurrences: 3 })
    store.record("gateway", [], at(5))
    expect(store.get(fingerprint(anon))).toMatchObject({ state: "resolved", timeToResolveMs: 5 * 60_000 })
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
})
