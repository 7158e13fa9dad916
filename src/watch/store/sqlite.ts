/**
 * The embedded finding store: one SQLite file (Node's built-in `node:sqlite`) in the state dir,
 * in WAL mode (readers — `shiftup findings`, a backup — never block the watcher), with schema
 * migrations recorded in a `schema_version` table: a file written by an older shiftup is moved
 * forward, step by step, inside a transaction, when opened.
 */
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { FindingStoreError } from "../../ShiftupError.ts"
import { fingerprint } from "./fingerprint.ts"
import type { FeedbackLink, FindingStore, Severity, State, StoredFinding, Transition } from "./Store.ts"

/** Each entry moves the schema from version i to i + 1. Append only: never edit a shipped one. */
export const migrations: ReadonlyArray<string> = [
  `CREATE TABLE findings (
     fingerprint TEXT PRIMARY KEY, rule TEXT NOT NULL, asset TEXT NOT NULL, location TEXT NOT NULL,
     severity TEXT NOT NULL, title TEXT NOT NULL, detail TEXT NOT NULL, scope TEXT NOT NULL,
     state TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, occurrences INTEGER NOT NULL,
     opened_at TEXT NOT NULL, resolved_at TEXT, accepted_until TEXT, accepted_reason TEXT);
   CREATE INDEX findings_scope_state ON findings (scope, state);`,
  `CREATE TABLE scans (scope TEXT PRIMARY KEY, last_at TEXT NOT NULL);
   ALTER TABLE findings ADD COLUMN time_to_detect_ms INTEGER;
   ALTER TABLE findings ADD COLUMN time_to_resolve_ms INTEGER;
   CREATE INDEX findings_state_severity ON findings (state, severity);`,
  // The feedback loop: a finding ↔ the regression experiments `shiftup feedback` wrote for it.
  `CREATE TABLE feedback (fingerprint TEXT NOT NULL, experiment TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (fingerprint, experiment));`,
]

export const schemaVersion = migrations.length

const severityOrder: Readonly<Record<Severity, number>> = { critical: 0, high: 1, medium: 2, low: 3 }

/** Brings the file to the current schema; returns the version it had. */
export const migrate = (db: DatabaseSync, file: string, upTo = migrations.length): number => {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
  const row = db.prepare("SELECT version FROM schema_version").get() as { version: number } | undefined
  const from = row?.version ?? 0
  if (from > migrations.length) throw new FindingStoreError({ store: file, detail: `its schema version is ${from}, newer than this shiftup knows (${migrations.length}): upgrade shiftup` })
  for (let v = from; v < upTo; v++) {
    db.exec("BEGIN IMMEDIATE")
    try {
      db.exec(migrations[v] as string)
      db.exec("DELETE FROM schema_version")
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(v + 1)
      db.exec("COMMIT")
    } catch (e) {
      db.exec("ROLLBACK")
      throw e
    }
  }
  return from
}

type Row = Record<string, string | number | null>

const toFinding = (r: Row): StoredFinding => ({
  fingerprint: r["fingerprint"] as string,
  rule: r["rule"] as string,
  asset: r["asset"] as string,
  location: r["location"] as string,
  severity: r["severity"] as Severity,
  title: r["title"] as string,
  detail: r["detail"] as string,
  scope: r["scope"] as string,
  state: r["state"] as State,
  firstSeen: r["first_seen"] as string,
  lastSeen: r["last_seen"] as string,
  occurrences: r["occurrences"] as number,
  openedAt: r["opened_at"] as string,
  ...(r["resolved_at"] === null ? {} : { resolvedAt: r["resolved_at"] as string }),
  ...(r["accepted_until"] === null ? {} : { acceptedUntil: r["accepted_until"] as string }),
  ...(r["accepted_reason"] === null ? {} : { acceptedReason: r["accepted_reason"] as string }),
  ...(r["time_to_detect_ms"] === null || r["time_to_detect_ms"] === undefined ? {} : { timeToDetectMs: r["time_to_detect_ms"] as number }),
  ...(r["time_to_resolve_ms"] === null || r["time_to_resolve_ms"] === undefined ? {} : { timeToResolveMs: r["time_to_resolve_ms"] as number }),
})

/** Opens (creating and migrating as needed) the store at `file`. */
export const openSqlite = (file: string): FindingStore => {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true })
  let db: DatabaseSync
  try {
    db = new DatabaseSync(file)
    db.exec("PRAGMA busy_timeout = 5000")
    db.exec("PRAGMA journal_mode = WAL")
    db.exec("PRAGMA synchronous = NORMAL")
  } catch (e) {
    throw new FindingStoreError({ store: file, detail: `cannot open it: ${(e as Error).message}` })
  }
  try {
    migrate(db, file)
  } catch (e) {
    db.close()
    throw e
  }
  const byFp = db.prepare("SELECT * FROM findings WHERE fingerprint = ?")
  const insert = db.prepare(
    `INSERT INTO findings (fingerprint, rule, asset, location, severity, title, detail, scope, state, first_seen, last_seen, occurrences, opened_at, time_to_detect_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, 1, ?, ?)`,
  )
  const seenAgain = db.prepare(
    `UPDATE findings SET severity = ?, title = ?, detail = ?, scope = ?, state = ?, last_seen = ?, occurrences = occurrences + 1, opened_at = ?, resolved_at = ? WHERE fingerprint = ?`,
  )
  const resolve = db.prepare(`UPDATE findings SET state = 'resolved', resolved_at = ?, time_to_resolve_ms = ?, accepted_until = NULL, accepted_reason = NULL WHERE fingerprint = ?`)
  const inScope = db.prepare(`SELECT * FROM findings WHERE scope = ? AND state != 'resolved'`)
  const lastScan = db.prepare(`SELECT last_at FROM scans WHERE scope = ?`)
  const setScan = db.prepare(`INSERT INTO scans (scope, last_at) VALUES (?, ?) ON CONFLICT (scope) DO UPDATE SET last_at = excluded.last_at`)
  const expired = db.prepare(`SELECT * FROM findings WHERE state = 'accepted-risk' AND accepted_until <= ?`)
  const reopen = db.prepare(`UPDATE findings SET state = 'open', accepted_until = NULL, accepted_reason = NULL WHERE fingerprint = ?`)
  const get = (fp: string) => {
    const r = byFp.get(fp) as Row | undefined
    return r === undefined ? undefined : toFinding(r)
  }
  const transaction = <A>(f: () => A): A => {
    db.exec("BEGIN IMMEDIATE")
    try {
      const a = f()
      db.exec("COMMIT")
      return a
    } catch (e) {
      db.exec("ROLLBACK")
      throw e
    }
  }
  const expireNow = (at: Date): Array<Transition> => {
    const now = at.toISOString()
    return (expired.all(now) as Array<Row>).map((r) => {
      reopen.run(r["fingerprint"] as string)
      const fp = r["fingerprint"] as string
      return { fingerprint: fp, from: "accepted-risk" as const, to: "open" as const, finding: get(fp) as StoredFinding }
    })
  }
  const store: FindingStore = {
    record: (scope, seen, at) =>
      transaction(() => {
        const now = at.toISOString()
        const out = expireNow(at)
        const previous = lastScan.get(scope) as { last_at: string } | undefined
        const observed = new Set<string>()
        for (const o of seen) {
          const fp = fingerprint(o)
          if (observed.has(fp)) continue
          observed.add(fp)
          const was = get(fp)
          if (was === undefined) {
            const ttd = previous === undefined ? null : at.getTime() - Date.parse(previous.last_at)
            insert.run(fp, o.rule, o.asset, o.location, o.severity, o.title, o.detail ?? "", scope, now, now, now, ttd)
            const finding: StoredFinding = { fingerprint: fp, rule: o.rule, asset: o.asset, location: o.location, severity: o.severity, title: o.title, detail: o.detail ?? "", scope, state: "new", firstSeen: now, lastSeen: now, occurrences: 1, openedAt: now, ...(ttd === null ? {} : { timeToDetectMs: ttd }) }
            out.push({ fingerprint: fp, from: undefined, to: "new", finding })
            continue
          }
          const to: State = was.state === "resolved" ? "regressed" : was.state === "accepted-risk" ? "accepted-risk" : "open"
          const openedAt = was.state === "resolved" ? now : was.openedAt
          seenAgain.run(o.severity, o.title, o.detail ?? "", scope, to, now, openedAt, was.state === "resolved" ? null : (was.resolvedAt ?? null), fp)
          if (to !== was.state) {
            const { resolvedAt: _, ...rest } = was
            const finding: StoredFinding = { ...(was.state === "resolved" ? rest : was), severity: o.severity, title: o.title, detail: o.detail ?? "", scope, state: to, lastSeen: now, occurrences: was.occurrences + 1, openedAt }
            out.push({ fingerprint: fp, from: was.state, to, finding })
          }
        }
        for (const r of inScope.all(scope) as Array<Row>) {
          const fp = r["fingerprint"] as string
          if (observed.has(fp)) continue
          const was = toFinding(r)
          resolve.run(now, at.getTime() - Date.parse(was.openedAt), fp)
          out.push({ fingerprint: fp, from: was.state, to: "resolved", finding: get(fp) as StoredFinding })
        }
        setScan.run(scope, now)
        return out
      }),
    accept: (fp, reason, until, at) =>
      transaction(() => {
        const was = get(fp)
        if (was === undefined) throw new FindingStoreError({ store: file, detail: `no finding ${fp} in the store` })
        if (reason.trim() === "") throw new FindingStoreError({ store: file, detail: `accepting the risk of ${fp} needs a reason` })
        if (until.getTime() <= at.getTime()) throw new FindingStoreError({ store: file, detail: `the acceptance of ${fp} must expire after now, not at ${until.toISOString()}` })
        db.prepare(`UPDATE findings SET state = 'accepted-risk', accepted_until = ?, accepted_reason = ? WHERE fingerprint = ?`).run(until.toISOString(), reason, fp)
        return { fingerprint: fp, from: was.state, to: "accepted-risk", finding: get(fp) as StoredFinding }
      }),
    expire: (at) => transaction(() => expireNow(at)),
    open: () =>
      (db.prepare(`SELECT * FROM findings WHERE state != 'resolved'`).all() as Array<Row>)
        .map(toFinding)
        .sort((a, b) => severityOrder[a.severity] - severityOrder[b.severity] || a.rule.localeCompare(b.rule) || a.asset.localeCompare(b.asset)),
    get,
    countOpen: () =>
      (db.prepare(`SELECT severity, rule, COUNT(*) AS count FROM findings WHERE state != 'resolved' GROUP BY severity, rule`).all() as Array<Row>).map((r) => ({
        severity: r["severity"] as Severity,
        rule: r["rule"] as string,
        count: r["count"] as number,
      })),
    link: (fp, experiment, at) => {
      if (get(fp) === undefined) throw new FindingStoreError({ store: file, detail: `no finding ${fp} in the store` })
      db.prepare(`INSERT INTO feedback (fingerprint, experiment, created_at) VALUES (?, ?, ?) ON CONFLICT (fingerprint, experiment) DO UPDATE SET created_at = excluded.created_at`).run(fp, experiment, at.toISOString())
    },
    links: (fp) =>
      (fp === undefined ? db.prepare(`SELECT * FROM feedback ORDER BY created_at`).all() : db.prepare(`SELECT * FROM feedback WHERE fingerprint = ? ORDER BY created_at`).all(fp)).map((r) => ({
        fingerprint: r["fingerprint"] as string,
        experiment: r["experiment"] as string,
        createdAt: r["created_at"] as string,
      })) as ReadonlyArray<FeedbackLink>,
    close: () => {
      if (!db.isOpen) return
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
      db.close()
    },
  }
  return store
}
