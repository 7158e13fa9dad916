/**
 * The embedded finding store: one SQLite file (Node's built-in `node:sqlite`) in the state dir,
 * in WAL mode (readers — `shiftup findings`, a backup — never block the watcher), with schema
 * migrations recorded in a `schema_version` table: a file written by an older shiftup is moved
 * forward, step by step, inside a transaction, when opened. One watcher per file: its leases and
 * claims use the watcher's clock (PostgreSQL's use the server's, for several watchers).
 */
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync, type StatementSync } from "node:sqlite"
import { FindingStoreError } from "../../ShiftupError.ts"
import { fingerprint } from "./fingerprint.ts"
import { acceptRisk, applyScan, bySeverity, reopenExpired, type Changes } from "./lifecycle.ts"
import { columns, toDelivery, toFinding, valuesOf } from "./rows.ts"
import type { FeedbackLink, FindingStore, NewDelivery, Severity, StoredFinding, Transition } from "./Store.ts"

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
  `CREATE TABLE outbox (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, url TEXT NOT NULL, secret_env TEXT,
     event TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
     next_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending', settled_at TEXT, last_error TEXT,
     claimed_by TEXT, claimed_until_ms INTEGER);
   CREATE INDEX outbox_pending ON outbox (status, seq);
   CREATE TABLE leases (job TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_ms INTEGER NOT NULL);`,
  // The feedback loop: a finding ↔ the regression experiments `shiftup feedback` wrote for it.
  `CREATE TABLE feedback (fingerprint TEXT NOT NULL, experiment TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (fingerprint, experiment));`,
]

export const schemaVersion = migrations.length

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
  const cached = new Map<string, StatementSync>()
  const q = (sql: string) => {
    let s = cached.get(sql)
    if (s === undefined) cached.set(sql, (s = db.prepare(sql)))
    return s
  }
  const getSync = (fp: string) => {
    const r = q("SELECT * FROM findings WHERE fingerprint = ?").get(fp) as Row | undefined
    return r === undefined ? undefined : toFinding(r)
  }
  const upsert = `INSERT INTO findings (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})
    ON CONFLICT (fingerprint) DO UPDATE SET ${columns.slice(1).map((c) => `${c} = excluded.${c}`).join(", ")}`
  const write = (c: Changes) => {
    for (const f of c.rows) q(upsert).run(...valuesOf(f))
    return c.transitions
  }
  const transaction = <A>(f: () => A): A => {
    db.exec("BEGIN IMMEDIATE")
    try {
      const a = f()
      db.exec("COMMIT")
      return a
    } catch (e) {
      db.exec("ROLLBACK")
      throw e instanceof FindingStoreError ? e : new FindingStoreError({ store: file, detail: `nothing written: ${(e as Error).message}` })
    }
  }
  const expireNow = (at: Date) => write(reopenExpired((q(`SELECT * FROM findings WHERE state = 'accepted-risk' AND accepted_until <= ?`).all(at.toISOString()) as Array<Row>).map(toFinding), at))
  const enqueue = (ds: ReadonlyArray<NewDelivery>, at: Date) => {
    for (const d of ds) q(`INSERT INTO outbox (id, url, secret_env, event, body, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(d.id, d.url, d.secretEnv ?? null, d.event, d.body, at.toISOString(), at.toISOString())
  }
  const store: FindingStore = {
    name: file,
    record: async (scope, seen, at, options = {}) =>
      transaction(() => {
        if (options.holder !== undefined && q(`SELECT 1 FROM leases WHERE job = ? AND holder = ? AND expires_ms > ?`).get(scope, options.holder, Date.now()) === undefined)
          throw new FindingStoreError({ store: file, detail: `this watcher (${options.holder}) no longer holds the lease of job ${scope}: the scan is not recorded` })
        const out: Array<Transition> = [...expireNow(at)]
        const previous = q(`SELECT last_at FROM scans WHERE scope = ?`).get(scope) as { last_at: string } | undefined
        const known = new Map<string, StoredFinding>()
        for (const o of seen) {
          const fp = fingerprint(o)
          const f = known.has(fp) ? undefined : getSync(fp)
          if (f !== undefined) known.set(fp, f)
        }
        const unresolved = (q(`SELECT * FROM findings WHERE scope = ? AND state != 'resolved'`).all(scope) as Array<Row>).map(toFinding)
        out.push(...write(applyScan({ scope, seen, at, previousScan: previous?.last_at, known, unresolved })))
        q(`INSERT INTO scans (scope, last_at) VALUES (?, ?) ON CONFLICT (scope) DO UPDATE SET last_at = excluded.last_at`).run(scope, at.toISOString())
        if (options.deliveries !== undefined) enqueue(out.flatMap(options.deliveries), at)
        return out
      }),
    accept: async (fp, reason, until, at) =>
      transaction(() => {
        const t = acceptRisk(file, fp, getSync(fp), reason, until, at)
        write({ rows: [t.finding], transitions: [t] })
        return t
      }),
    expire: async (at) => transaction(() => expireNow(at)),
    open: async () => (q(`SELECT * FROM findings WHERE state != 'resolved'`).all() as Array<Row>).map(toFinding).sort(bySeverity),
    get: async (fp) => getSync(fp),
    countOpen: async () =>
      (q(`SELECT severity, rule, COUNT(*) AS count FROM findings WHERE state != 'resolved' GROUP BY severity, rule`).all() as Array<Row>).map((r) => ({
        severity: r["severity"] as Severity,
        rule: r["rule"] as string,
        count: r["count"] as number,
      })),
    link: async (fp, experiment, at) => {
      if (getSync(fp) === undefined) throw new FindingStoreError({ store: file, detail: `no finding ${fp} in the store` })
      q(`INSERT INTO feedback (fingerprint, experiment, created_at) VALUES (?, ?, ?) ON CONFLICT (fingerprint, experiment) DO UPDATE SET created_at = excluded.created_at`).run(fp, experiment, at.toISOString())
    },
    links: async (fp) =>
      ((fp === undefined ? q(`SELECT * FROM feedback ORDER BY created_at, experiment`).all() : q(`SELECT * FROM feedback WHERE fingerprint = ? ORDER BY created_at, experiment`).all(fp)) as Array<Row>).map(
        (r): FeedbackLink => ({ fingerprint: r["fingerprint"] as string, experiment: r["experiment"] as string, createdAt: r["created_at"] as string }),
      ),
    lease: async (job, holder, ttlMs) => {
      const now = Date.now()
      const r = q(`INSERT INTO leases (job, holder, expires_ms) VALUES (?, ?, ?) ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms WHERE leases.expires_ms <= ? OR leases.holder = excluded.holder`).run(job, holder, now + ttlMs, now)
      return Number(r.changes) === 1
    },
    release: async (job, holder, keepMs) => {
      q(`UPDATE leases SET expires_ms = ? WHERE job = ? AND holder = ?`).run(Date.now() + Math.max(0, keepMs), job, holder)
    },
    pending: async (limit) => (q(`SELECT * FROM outbox WHERE status = 'pending' ORDER BY seq LIMIT ?`).all(limit) as Array<Row>).map(toDelivery),
    claim: async (id, holder, forMs) => {
      const now = Date.now()
      const r = q(`UPDATE outbox SET claimed_by = ?, claimed_until_ms = ? WHERE id = ? AND status = 'pending' AND (claimed_until_ms IS NULL OR claimed_until_ms <= ? OR claimed_by = ?)`).run(holder, now + forMs, id, now, holder)
      return Number(r.changes) === 1
    },
    settle: async (id, s) => {
      if (s._tag === "Retry") q(`UPDATE outbox SET attempts = ?, next_at = ?, last_error = ?, claimed_by = NULL, claimed_until_ms = NULL WHERE id = ?`).run(s.attempts, s.retryAt.toISOString(), s.error, id)
      else q(`UPDATE outbox SET status = ?, attempts = ?, settled_at = ?, last_error = ?, claimed_by = NULL, claimed_until_ms = NULL WHERE id = ?`).run(s._tag === "Delivered" ? "delivered" : "failed", s.attempts, s.at.toISOString(), s._tag === "GaveUp" ? s.error : null, id)
    },
    close: async () => {
      if (!db.isOpen) return
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
      db.close()
    },
  }
  return store
}
