/**
 * `npm run bench -- data`: shiftup's data path on a real PostgreSQL (test/support/servers.ts),
 * measured side by side with what a DBA would do by hand on the same server, same table.
 *
 * - `data.snapshot_restore_100k_rows_ms`: the before-image of 100 000 rows captured by the
 *   `replay` fault (its capture: lock and read the rows, build the record, size it) plus its
 *   compensation restoring them exactly (`Compensation.restore`: apply, then verify) after every
 *   row was changed. Beside it `pg_dump -t` of the table plus its restore with `psql`
 *   (`--clean`: drop, create, COPY, indexes): `data.restore_ratio_pgdump` (aim ≤ 1.0).
 * - `data.checksum_1m_rows_ms`: the `checksum` probe (order-independent digest) of 1 000 000
 *   rows, beside one hand-written `SELECT md5(string_agg(r::text, '' ORDER BY id))`:
 *   `data.checksum_ratio_by_hand` (aim ≤ 2).
 *
 * Figures are medians of `rounds` rounds, the two sides alternating within a round.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import * as Data from "../src/data/index.ts"
import * as Compensation from "../src/Compensation.ts"
import { faultOf, probeOf } from "../src/internal/capability.ts"
import { makeStore, RunContext } from "../src/RunContext.ts"
import { connectAdmin } from "../test/support/postgres.ts"
import { startPostgres } from "../test/support/servers.ts"
import { median, spread, type Line, type Section } from "./lib.ts"

const rounds = 3

const pgBin = (name: string) => {
  const root = "/usr/lib/postgresql"
  const v = readdirSync(root).filter((x) => /^\d+$/.test(x)).sort((a, b) => Number(b) - Number(a))[0]
  const path = join(root, v ?? "?", "bin", name)
  if (!existsSync(path)) throw new Error(`${path} not found: apt-get install -y postgresql`)
  return path
}

const table = (schema: string, rows: number) => `
  CREATE TABLE ${schema}.items (id int PRIMARY KEY, name text NOT NULL, email text, price numeric(10,2), meta jsonb, seen timestamptz, note text);
  CREATE INDEX ON ${schema}.items (email);
  INSERT INTO ${schema}.items SELECT i, 'item ' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE 'u' || i || '@example.test' END, (i * 3.5)::numeric(10,2),
    jsonb_build_object('n', i, 'tags', jsonb_build_array('a', i)), timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute', md5(i::text)
    FROM generate_series(1, ${rows}) AS i;
`

const time = async <A>(f: () => Promise<A>): Promise<{ readonly ms: number; readonly value: A }> => {
  const t0 = performance.now()
  const value = await f()
  return { ms: performance.now() - t0, value }
}

export const dataSection: Section = {
  name: "data",
  title: "PostgreSQL data faults: before-image + exact restore vs pg_dump/psql; checksum vs one hand-written query",
  run: async () => {
    const server = await startPostgres({ args: ["-c", "shared_buffers=128MB"] })
    const dir = mkdtempSync(join(tmpdir(), "shiftup-bench-data-"))
    const admin = await connectAdmin(server.port).catch(async (e: unknown) => {
      await server.stop()
      throw e
    })
    try {
      await admin.query("CREATE SCHEMA r")
      await admin.query(table("r", 100_000))
      await admin.query("CREATE SCHEMA c")
      await admin.query(table("c", 1_000_000))
      await admin.query("VACUUM ANALYZE")
      const url = `postgres://postgres@127.0.0.1:${server.port}/postgres`
      const target = Data.Postgres.target("bench-db", { url, environment: "lab", tables: ["r.items", "c.items"] })
      const base = await Effect.runPromise(Effect.service(RunContext))
      const inRun = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(Effect.provideService(e, RunContext, { ...base, store: makeStore() }))
      const digest = async (t: string) => (await inRun(probeOf(Data.Postgres.checksum(target, { table: t })).observe)).digest
      const change = () => admin.query("UPDATE r.items SET name = name || ' changed', price = price + 1, note = NULL")

      // ── before-image + restore of 100k rows ──
      const ours: Array<number> = []
      const attempts: Array<number> = []
      const capture: Array<number> = []
      const restore: Array<number> = []
      const dump: Array<number> = []
      const dumpOnly: Array<number> = []
      const file = join(dir, "items.sql")
      const conn = ["-h", "127.0.0.1", "-p", String(server.port), "-U", "postgres"]
      for (let round = 0; round < rounds; round++) {
        // The rows a replay writes back: every row as it was; then the table moves on.
        const snapshot = await inRun(probeOf(Data.Postgres.snapshot(target, { table: "r.items", maxRows: 100_000 })).observe)
        await change()
        const expected = await digest("r.items")
        const fault = Data.Postgres.replay(target, { snapshot, maxRows: 100_000, maxBytes: 256 * 1024 * 1024 })
        const cap = faultOf(fault)
        const ctx = { ...base, store: makeStore() }
        const within = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(Effect.provideService(e, RunContext, ctx))
        const captured = await time(() => within(cap.capture))
        await within(cap.inject)
        const record = captured.value
        const restored = await time(() => within(Compensation.restore(Data.compensators[record.kind], record, { deadlineMs: 120_000 })))
        if (restored.value._tag !== "restored") throw new Error(`restore: ${JSON.stringify(restored.value)}`)
        if ((await digest("r.items")) !== expected) throw new Error("the compensation did not restore the rows exactly")
        attempts.push(restored.value.attempts)
        capture.push(captured.ms)
        restore.push(restored.ms)
        ours.push(captured.ms + restored.ms)

        // The same by hand: pg_dump -t, the table changes, psql puts the dump back.
        const dumped = await time(async () => execFileSync(pgBin("pg_dump"), [...conn, "--clean", "--if-exists", "-t", "r.items", "-f", file, "postgres"]))
        await admin.query("UPDATE r.items SET name = 'replayed', price = 0")
        const loaded = await time(async () => execFileSync(pgBin("psql"), [...conn, "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", file, "postgres"]))
        if ((await digest("r.items")) !== expected) throw new Error("pg_dump/psql did not restore the rows exactly")
        dumpOnly.push(dumped.ms)
        dump.push(dumped.ms + loaded.ms)
        // Back to the start for the next round.
        await admin.query("UPDATE r.items SET name = regexp_replace(name, ' changed$', ''), price = price - 1, note = md5(id::text)")
      }

      const lines: Array<Line> = [
        { name: "data.snapshot_restore_100k_rows_ms", value: median(ours), digits: 0, note: "replay's capture (lock + read + record) plus its compensation's restore (apply + verify) of 100 000 changed rows" },
        { name: "data.snapshot_capture_100k_rows_ms", value: median(capture), digits: 0 },
        { name: "data.snapshot_apply_verify_100k_rows_ms", value: median(restore), digits: 0 },
        { name: "data.pgdump_restore_100k_rows_ms", value: median(dump), digits: 0, note: "pg_dump --clean -t of the table, then psql -1 -f of the dump (drop, create, COPY, index)" },
        { name: "data.pgdump_dump_only_100k_rows_ms", value: median(dumpOnly), digits: 0 },
        { name: "data.restore_ratio_pgdump", value: median(ours) / median(dump), note: "aim ≤ 1.0" },
        { name: "data.snapshot_restore_spread_ms", value: spread(ours, 0) },
        { name: "data.snapshot_restore_attempts", value: attempts.join(","), note: "apply + verify rounds of Compensation.restore per round (1: the first apply restored it)" },
      ]

      // ── checksum of 1M rows ── (a probe's statement_timeout is 30 s: on a loaded machine it may fail, and says so)
      const probe: Array<number> = []
      const byHand: Array<number> = []
      try {
        for (let round = 0; round < rounds; round++) {
          probe.push((await time(() => digest("c.items"))).ms)
          byHand.push((await time(() => admin.query("SELECT count(*), md5(string_agg(r::text, '' ORDER BY id)) FROM c.items AS r"))).ms)
        }
      } catch (e) {
        return [...lines, { name: "data.checksum_1m_rows_ms", value: `failed: ${e instanceof Error ? e.message : String(e)}` }]
      }
      lines.push(
        { name: "data.checksum_1m_rows_ms", value: median(probe), digits: 0, note: "the checksum probe (its own session, read-only snapshot, order-independent digest) of 1 000 000 rows" },
        { name: "data.checksum_by_hand_1m_rows_ms", value: median(byHand), digits: 0, note: "SELECT md5(string_agg(r::text, '' ORDER BY id)) on an open session" },
        { name: "data.checksum_ratio_by_hand", value: median(probe) / median(byHand), note: "aim ≤ 2" },
      )
      return lines
    } finally {
      await admin.end().catch(() => undefined)
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  },
}
