/**
 * The finding store on PostgreSQL, for teams that run several watchers on one database: the same
 * interface and lifecycle rules as the SQLite store (lifecycle.ts), one transaction per scan with
 * the rows it touches locked, schema migrations in a `schema_version` table applied under an
 * advisory lock (two watchers starting at once migrate once), and the job leases and delivery
 * claims timed by the server's clock (watchers' clocks may differ). `pg` is imported when the
 * store opens, so importing `shiftup/watch` loads nothing of it. The password comes from the
 * environment variable the config names, read at each connection; it is never in the config, a
 * log line or an error.
 */
import { readFileSync } from "node:fs"
import { isLoopbackHost } from "../../internal/egress.ts"
import { FindingStoreError, describeUnknown } from "../../ShiftupError.ts"
import { fingerprint } from "./fingerprint.ts"
import { acceptRisk, applyScan, bySeverity, reopenExpired, type Changes } from "./lifecycle.ts"
import { columns, toDelivery, toFinding, valuesOf } from "./rows.ts"
import type { FeedbackLink, FindingStore, NewDelivery, Severity, StoredFinding, Transition } from "./Store.ts"

/** `watch.store` for PostgreSQL. Either `url` (without a password) or host/port/database/user. */
export interface PostgresStoreOptions {
  readonly kind: "postgres"
  /** `postgres://watch@db.internal:5432/shiftup` — no password in it (refused at config load). */
  readonly url?: string
  readonly host?: string
  /** Default 5432. */
  readonly port?: number
  readonly database?: string
  readonly user?: string
  /** The environment variable holding the password, read at each connection. */
  readonly passwordEnv?: string
  /** The schema of shiftup's tables, created when missing. Default `shiftup`. */
  readonly schema?: string
  /** Connections the watcher keeps at most. Default 4. */
  readonly poolSize?: number
  /**
   * TLS to the server: `verify-full` (the certificate chain and the host name checked), `require`
   * (encrypted, the certificate not checked), `disable`. Default: the URL's `sslmode`, else
   * `verify-full` for a remote host and `disable` on loopback.
   */
  readonly tls?: TlsMode
  /** A CA certificate (PEM file) to verify the server's with, beside the system's. */
  readonly caFile?: string
}

export type TlsMode = "disable" | "require" | "verify-full"

/** libpq's `sslmode` values as this store's modes; `allow`/`prefer` may fall back to plain text and are refused at config load. */
export const sslmodes: Readonly<Record<string, TlsMode>> = { disable: "disable", require: "require", "verify-ca": "verify-full", "verify-full": "verify-full" }

/** The TLS the store connects with, and why: the `tls` option, else the URL's `sslmode`, else by the host. */
export const tlsOf = (o: PostgresStoreOptions): TlsMode => {
  if (o.tls !== undefined) return o.tls
  const url = o.url === undefined ? undefined : new URL(o.url)
  const mode = url?.searchParams.get("sslmode")
  if (mode !== undefined && mode !== null && sslmodes[mode] !== undefined) return sslmodes[mode]
  const host = url === undefined ? (o.host ?? "localhost") : url.hostname.replace(/^\[(.*)\]$/, "$1")
  // A unix socket directory (`/run/postgresql`) is local too.
  return host.startsWith("/") || isLoopbackHost(host) ? "disable" : "verify-full"
}

/** pg's `ssl` option for a mode. */
const sslOption = (mode: TlsMode, caFile: string | undefined): false | Readonly<Record<string, unknown>> =>
  mode === "disable" ? false : mode === "require" ? { rejectUnauthorized: false } : { rejectUnauthorized: true, ...(caFile === undefined ? {} : { ca: readFileSync(caFile, "utf8") }) }

type Value = string | number | boolean | Date | null
type PgRow = Readonly<Record<string, Value>>
interface PgClient {
  query(text: string, values?: ReadonlyArray<unknown>): Promise<{ readonly rows: ReadonlyArray<PgRow>; readonly rowCount: number | null }>
  release(error?: Error | boolean): void
}
interface PgPool {
  connect(): Promise<PgClient>
  query(text: string, values?: ReadonlyArray<unknown>): Promise<{ readonly rows: ReadonlyArray<PgRow>; readonly rowCount: number | null }>
  end(): Promise<void>
  on(event: "error", listener: (e: Error) => void): unknown
}
interface PgModule {
  readonly Pool: new (config: Readonly<Record<string, unknown>>) => PgPool
}

/** What the store is called in logs and errors: `postgres://user@host:port/database`, never a password. */
export const postgresName = (o: PostgresStoreOptions): string => {
  if (o.url !== undefined) {
    const u = new URL(o.url)
    u.password = ""
    u.search = ""
    return u.toString()
  }
  return `postgres://${o.user === undefined ? "" : `${encodeURIComponent(o.user)}@`}${o.host ?? "localhost"}:${o.port ?? 5432}/${o.database ?? ""}`
}

const fromUrl = (url: string) => {
  const u = new URL(url)
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: u.port === "" ? 5432 : Number(u.port),
    ...(u.pathname.length > 1 ? { database: decodeURIComponent(u.pathname.slice(1)) } : {}),
    ...(u.username === "" ? {} : { user: decodeURIComponent(u.username) }),
  }
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`

/** Each entry moves the schema from version i to i + 1; the same history as the SQLite store's, in PostgreSQL's types. Append only. */
export const pgMigrations: ReadonlyArray<string> = [
  `CREATE TABLE findings (
     fingerprint text PRIMARY KEY, rule text NOT NULL, asset text NOT NULL, location text NOT NULL,
     severity text NOT NULL, title text NOT NULL, detail text NOT NULL, scope text NOT NULL,
     state text NOT NULL, first_seen timestamptz NOT NULL, last_seen timestamptz NOT NULL, occurrences integer NOT NULL,
     opened_at timestamptz NOT NULL, resolved_at timestamptz, accepted_until timestamptz, accepted_reason text);
   CREATE INDEX findings_scope_state ON findings (scope, state);`,
  `CREATE TABLE scans (scope text PRIMARY KEY, last_at timestamptz NOT NULL);
   ALTER TABLE findings ADD COLUMN time_to_detect_ms bigint, ADD COLUMN time_to_resolve_ms bigint;
   CREATE INDEX findings_state_severity ON findings (state, severity);`,
  `CREATE TABLE outbox (
     seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE, url text NOT NULL, secret_env text,
     event text NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL, attempts integer NOT NULL DEFAULT 0,
     next_at timestamptz NOT NULL, status text NOT NULL DEFAULT 'pending', settled_at timestamptz, last_error text,
     claimed_by text, claimed_until timestamptz);
   CREATE INDEX outbox_pending ON outbox (status, seq);
   CREATE TABLE leases (job text PRIMARY KEY, holder text NOT NULL, expires_at timestamptz NOT NULL);`,
  // The feedback loop: a finding ↔ the regression experiments `shiftup feedback` wrote for it.
  `CREATE TABLE feedback (fingerprint text NOT NULL REFERENCES findings (fingerprint), experiment text NOT NULL, created_at timestamptz NOT NULL, PRIMARY KEY (fingerprint, experiment));`,
]

// One JSON parameter per batch: PostgreSQL parses it in C, where 18 arrays of 10 000 values
// each would cost pg's JavaScript escaping. New rows are plain inserts (no speculative
// insertion); the others an UPDATE joined on the fingerprint.
const batch = `json_populate_recordset(NULL::findings, $1::json)`
const insertRows = `INSERT INTO findings (${columns.join(", ")}) SELECT ${columns.join(", ")} FROM ${batch}`
const updateRows = `UPDATE findings AS f SET ${columns.slice(1).map((c) => `${c} = r.${c}`).join(", ")} FROM ${batch} AS r WHERE f.fingerprint = r.fingerprint`
const asJson = (rows: ReadonlyArray<StoredFinding>) => JSON.stringify(rows.map((f) => Object.fromEntries(valuesOf(f).map((v, i) => [columns[i], v]))))

const describePg = (e: unknown, o: PostgresStoreOptions): string => {
  const err = e as { readonly code?: string; readonly message?: string }
  const base = err.message ?? describeUnknown(e)
  if (err.code === "28P01" || err.code === "28000")
    return `${base}: ${o.passwordEnv === undefined ? "the server wants a password; put it in an environment variable and name it in watch.store.passwordEnv" : `check the password in $${o.passwordEnv} and the user`}`
  if (/password must be a string|client password must be/i.test(base)) return "the server asks for a password: put it in an environment variable and name it in watch.store.passwordEnv"
  if (err.code === "ECONNREFUSED") return `${base}: is the server running and listening there?`
  return base
}

/** Opens (creating the schema and migrating as needed) the PostgreSQL store. */
export const openPostgres = async (o: PostgresStoreOptions): Promise<FindingStore> => {
  const name = postgresName(o)
  const failure = (e: unknown, doing: string) => (e instanceof FindingStoreError ? e : new FindingStoreError({ store: name, detail: `${doing}: ${describePg(e, o)}` }))
  if (o.passwordEnv !== undefined && (process.env[o.passwordEnv] ?? "") === "")
    throw new FindingStoreError({ store: name, detail: `the environment variable ${o.passwordEnv} (watch.store.passwordEnv) is not set: export it with the database password` })
  let pg: PgModule
  try {
    const m = (await import("pg")) as unknown as PgModule & { readonly default?: PgModule }
    pg = m.default ?? m
  } catch (e) {
    throw new FindingStoreError({ store: name, detail: `the PostgreSQL client is not installed (${describeUnknown(e)}): run \`npm install pg\` in the project that runs shiftup watch` })
  }
  const schema = o.schema ?? "shiftup"
  let ssl: ReturnType<typeof sslOption>
  try {
    ssl = sslOption(tlsOf(o), o.caFile)
  } catch (e) {
    throw new FindingStoreError({ store: name, detail: `cannot read watch.store.caFile ${o.caFile ?? ""}: ${describeUnknown(e)}` })
  }
  const pool = new pg.Pool({
    // Not pg's connectionString: its parse would override the password function below.
    ...(o.url === undefined ? { host: o.host, port: o.port ?? 5432, database: o.database, user: o.user } : fromUrl(o.url)),
    // A function: read at each connection, never kept in the pool's config.
    ...(o.passwordEnv === undefined ? {} : { password: () => process.env[o.passwordEnv as string] ?? "" }),
    ssl,
    max: o.poolSize ?? 4,
    application_name: "shiftup watch",
    options: `-c search_path=${ident(schema)} -c TimeZone=UTC -c statement_timeout=30000 -c lock_timeout=10000`,
    connectionTimeoutMillis: 10_000,
  })
  // An idle connection the server drops is replaced at the next query; it must not crash the watcher.
  pool.on("error", () => undefined)
  const transaction = async <A>(doing: string, f: (c: PgClient) => Promise<A>): Promise<A> => {
    let c: PgClient
    try {
      c = await pool.connect()
    } catch (e) {
      throw failure(e, "cannot connect")
    }
    try {
      await c.query("BEGIN")
      const a = await f(c)
      await c.query("COMMIT")
      c.release()
      return a
    } catch (e) {
      await c.query("ROLLBACK").catch(() => undefined)
      c.release()
      throw failure(e, doing)
    }
  }
  const query = async (doing: string, text: string, values: ReadonlyArray<unknown> = []) => {
    try {
      return await pool.query(text, values)
    } catch (e) {
      throw failure(e, doing)
    }
  }
  // A server still starting (started with the watcher: compose, systemd) is waited for, up to 30 s.
  for (const since = Date.now(); ; ) {
    const e = await pool.query("SELECT 1").then(
      () => undefined,
      (e: unknown) => e,
    )
    if (e === undefined) break
    if ((e as { code?: string }).code !== "57P03" || Date.now() - since > 30_000) {
      await pool.end().catch(() => undefined)
      throw failure(e, "cannot connect")
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  try {
    await transaction("migrating its schema", async (c) => {
      // Two watchers starting together: the second waits here, then finds the schema current.
      await c.query("SELECT pg_advisory_xact_lock(hashtext('shiftup.watch.schema'))")
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`)
      await c.query("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
      const from = Number((await c.query("SELECT version FROM schema_version")).rows[0]?.["version"] ?? 0)
      if (from > pgMigrations.length) throw new FindingStoreError({ store: name, detail: `its schema version is ${from}, newer than this shiftup knows (${pgMigrations.length}): upgrade shiftup` })
      for (let v = from; v < pgMigrations.length; v++) await c.query(pgMigrations[v] as string)
      await c.query("DELETE FROM schema_version")
      await c.query("INSERT INTO schema_version (version) VALUES ($1)", [pgMigrations.length])
    })
  } catch (e) {
    await pool.end().catch(() => undefined)
    throw e
  }
  const write = async (c: PgClient, changes: Changes) => {
    if (changes.rows.length === 0) return changes.transitions
    const created = new Set(changes.transitions.filter((t) => t.from === undefined).map((t) => t.fingerprint))
    const fresh = changes.rows.filter((f) => created.has(f.fingerprint))
    const changed = changes.rows.filter((f) => !created.has(f.fingerprint))
    if (fresh.length > 0) await c.query(insertRows, [asJson(fresh)])
    if (changed.length > 0) await c.query(updateRows, [asJson(changed)])
    return changes.transitions
  }
  const expireNow = async (c: PgClient, at: Date) =>
    write(c, reopenExpired((await c.query(`SELECT * FROM findings WHERE state = 'accepted-risk' AND accepted_until <= $1 ORDER BY fingerprint FOR UPDATE`, [at])).rows.map(toFinding), at))
  const enqueue = async (c: PgClient, ds: ReadonlyArray<NewDelivery>, at: Date) => {
    if (ds.length === 0) return
    await c.query(`INSERT INTO outbox (id, url, secret_env, event, body, created_at, next_at) SELECT id, url, secret_env, event, body, $6, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS d (id, url, secret_env, event, body)`, [
      ds.map((d) => d.id),
      ds.map((d) => d.url),
      ds.map((d) => d.secretEnv ?? null),
      ds.map((d) => d.event),
      ds.map((d) => d.body),
      at,
    ])
  }
  const get = async (fp: string) => {
    const r = (await query("reading a finding", "SELECT * FROM findings WHERE fingerprint = $1", [fp])).rows[0]
    return r === undefined ? undefined : toFinding(r)
  }
  return {
    name,
    record: (scope, seen, at, options = {}) =>
      transaction("recording a scan", async (c) => {
        if (options.holder !== undefined && (await c.query(`SELECT 1 FROM leases WHERE job = $1 AND holder = $2 AND expires_at > clock_timestamp() FOR SHARE`, [scope, options.holder])).rows.length === 0)
          throw new FindingStoreError({ store: name, detail: `this watcher (${options.holder}) no longer holds the lease of job ${scope}: the scan is not recorded` })
        const out: Array<Transition> = [...(await expireNow(c, at))]
        const previous = (await c.query(`SELECT last_at FROM scans WHERE scope = $1`, [scope])).rows[0]?.["last_at"] as Date | undefined
        const fps = [...new Set(seen.map(fingerprint))].sort()
        const known = new Map<string, StoredFinding>((await c.query(`SELECT * FROM findings WHERE fingerprint = ANY($1::text[]) ORDER BY fingerprint FOR UPDATE`, [fps])).rows.map((r) => [r["fingerprint"] as string, toFinding(r)]))
        const unresolved = (await c.query(`SELECT * FROM findings WHERE scope = $1 AND state <> 'resolved' ORDER BY fingerprint FOR UPDATE`, [scope])).rows.map(toFinding)
        out.push(...(await write(c, applyScan({ scope, seen, at, previousScan: previous?.toISOString(), known, unresolved }))))
        await c.query(`INSERT INTO scans (scope, last_at) VALUES ($1, $2) ON CONFLICT (scope) DO UPDATE SET last_at = excluded.last_at`, [scope, at])
        if (options.deliveries !== undefined) await enqueue(c, out.flatMap(options.deliveries), at)
        return out
      }),
    accept: (fp, reason, until, at) =>
      transaction("accepting a risk", async (c) => {
        const r = (await c.query("SELECT * FROM findings WHERE fingerprint = $1 FOR UPDATE", [fp])).rows[0]
        const t = acceptRisk(name, fp, r === undefined ? undefined : toFinding(r), reason, until, at)
        await write(c, { rows: [t.finding], transitions: [t] })
        return t
      }),
    expire: (at) => transaction("reopening expired acceptances", (c) => expireNow(c, at)),
    open: async () => (await query("listing open findings", `SELECT * FROM findings WHERE state <> 'resolved'`)).rows.map(toFinding).sort(bySeverity),
    get,
    countOpen: async () =>
      (await query("counting open findings", `SELECT severity, rule, count(*)::integer AS count FROM findings WHERE state <> 'resolved' GROUP BY severity, rule`)).rows.map((r) => ({
        severity: r["severity"] as Severity,
        rule: r["rule"] as string,
        count: r["count"] as number,
      })),
    link: async (fp, experiment, at) => {
      if ((await get(fp)) === undefined) throw new FindingStoreError({ store: name, detail: `no finding ${fp} in the store` })
      await query("linking a regression experiment", `INSERT INTO feedback (fingerprint, experiment, created_at) VALUES ($1, $2, $3) ON CONFLICT (fingerprint, experiment) DO UPDATE SET created_at = excluded.created_at`, [fp, experiment, at])
    },
    links: async (fp) =>
      (await query("reading regression experiments", `SELECT * FROM feedback WHERE $1::text IS NULL OR fingerprint = $1 ORDER BY created_at, experiment`, [fp ?? null])).rows.map(
        (r): FeedbackLink => ({ fingerprint: r["fingerprint"] as string, experiment: r["experiment"] as string, createdAt: (r["created_at"] as Date).toISOString() }),
      ),
    lease: async (job, holder, ttlMs) =>
      (
        await query(
          "taking a job lease",
          `INSERT INTO leases (job, holder, expires_at) VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
           ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
           WHERE leases.expires_at <= clock_timestamp() OR leases.holder = excluded.holder`,
          [job, holder, ttlMs],
        )
      ).rowCount === 1,
    release: async (job, holder, keepMs) => {
      await query("releasing a job lease", `UPDATE leases SET expires_at = clock_timestamp() + $3 * interval '1 millisecond' WHERE job = $1 AND holder = $2`, [job, holder, Math.max(0, keepMs)])
    },
    pending: async (limit) => (await query("reading the outbox", `SELECT * FROM outbox WHERE status = 'pending' ORDER BY seq LIMIT $1`, [limit])).rows.map(toDelivery),
    claim: async (id, holder, forMs) =>
      (
        await query(
          "claiming a delivery",
          `UPDATE outbox SET claimed_by = $2, claimed_until = clock_timestamp() + $3 * interval '1 millisecond'
           WHERE id = $1 AND status = 'pending' AND (claimed_until IS NULL OR claimed_until <= clock_timestamp() OR claimed_by = $2)`,
          [id, holder, forMs],
        )
      ).rowCount === 1,
    settle: async (id, s) => {
      if (s._tag === "Retry") await query("settling a delivery", `UPDATE outbox SET attempts = $2, next_at = $3, last_error = $4, claimed_by = NULL, claimed_until = NULL WHERE id = $1`, [id, s.attempts, s.retryAt, s.error])
      else await query("settling a delivery", `UPDATE outbox SET status = $2, attempts = $3, settled_at = $4, last_error = $5, claimed_by = NULL, claimed_until = NULL WHERE id = $1`, [id, s._tag === "Delivered" ? "delivered" : "failed", s.attempts, s.at, s._tag === "GaveUp" ? s.error : null])
    },
    close: async () => {
      await pool.end().catch(() => undefined)
    },
  }
}
