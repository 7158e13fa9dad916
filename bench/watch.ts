/**
 * `npm run bench -- watch`: the finding store, SQLite (a file in WAL mode) beside PostgreSQL (a
 * real PostgreSQL 15 on 127.0.0.1, started here with fsync off as the tests' servers are; SQLite
 * runs with synchronous = NORMAL, which does not fsync at commit in WAL mode either) — one scan
 * recording 10 000 new findings (one transaction), the same scan again (10 000 sightings), and
 * the open findings counted by severity and rule (what `/metrics` asks at every scrape) and
 * listed over 100 000 rows. Medians of `rounds` runs, each on a fresh file / schema; the ratios
 * PostgreSQL / SQLite are the medians of the per-round ratios.
 * And the scheduler's own cost per job tick (watch-scheduler.ts).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { openPostgres } from "../src/watch/store/postgres.ts"
import { openSqlite } from "../src/watch/store/sqlite.ts"
import type { FindingStore, Observation } from "../src/watch/store/Store.ts"
import { connectAdmin } from "../test/support/postgres.ts"
import { startPostgres } from "../test/support/servers.ts"
import { median, spread, type Line, type Section } from "./lib.ts"
import { schedulerOverhead } from "./watch-scheduler.ts"

const rounds = 5
const severities = ["critical", "high", "medium", "low"] as const
const observations = (n: number, offset = 0): ReadonlyArray<Observation> =>
  Array.from({ length: n }, (_, i) => ({ rule: `rule-${(i + offset) % 50}`, asset: `asset-${i + offset}`, location: "before", severity: severities[i % 4] as Observation["severity"], title: "t", detail: `seen ${i}` }))

interface Times {
  readonly insert: Array<number>
  readonly again: Array<number>
  readonly count: Array<number>
  readonly open: Array<number>
}

const measure = async (store: FindingStore, t: Times) => {
  const tenK = observations(10_000)
  let t0 = performance.now()
  await store.record("job", tenK, new Date(0))
  t.insert.push(performance.now() - t0)
  t0 = performance.now()
  await store.record("job", tenK, new Date(60_000))
  t.again.push(performance.now() - t0)
  for (let j = 1; j < 10; j++) await store.record(`job-${j}`, observations(10_000, j * 10_000), new Date(0))
  t0 = performance.now()
  await store.countOpen()
  t.count.push(performance.now() - t0)
  t0 = performance.now()
  await store.open()
  t.open.push(performance.now() - t0)
  await store.close()
}

const times = (): Times => ({ insert: [], again: [], count: [], open: [] })

export const watchSection: Section = {
  name: "watch",
  title: `finding store, SQLite (WAL) and PostgreSQL 15: median ms of ${rounds}`,
  run: async () => {
    const sqlite = times()
    const pg = times()
    const server = await startPostgres()
    try {
      // The port opens before the server takes sessions.
      await (await connectAdmin(server.port)).end()
      for (let r = 0; r < rounds; r++) {
        const dir = mkdtempSync(join(tmpdir(), "shiftup-bench-watch-"))
        try {
          await measure(openSqlite(join(dir, "watch.sqlite")), sqlite)
        } finally {
          rmSync(dir, { recursive: true, force: true })
        }
        await measure(await openPostgres({ kind: "postgres", host: "127.0.0.1", port: server.port, database: "postgres", user: "postgres", schema: `bench_${r}` }), pg)
      }
    } finally {
      await server.stop()
    }
    const ratio = (k: keyof Times) => pg[k].map((x, i) => x / (sqlite[k][i] ?? Number.NaN))
    return [
      { name: "watch.store_insert_10k_ms", value: median(sqlite.insert), note: "SQLite: one scan with 10 000 new findings (one transaction) (aim < 500)" },
      { name: "watch.store_rescan_10k_ms", value: median(sqlite.again), note: "SQLite: the same 10 000 seen again (occurrences, last seen)" },
      { name: "watch.findings_query_100k_ms", value: median(sqlite.count), note: "SQLite: open findings by severity and rule over 100 000 rows, a /metrics scrape (aim < 100)" },
      { name: "watch.findings_open_100k_ms", value: median(sqlite.open), note: "SQLite: every open finding of 100 000, most severe first (`shiftup findings`)" },
      { name: "watch.pg.store_insert_10k_ms", value: median(pg.insert), note: "PostgreSQL: the same scan of 10 000 new findings (aim < 500)" },
      { name: "watch.pg.store_rescan_10k_ms", value: median(pg.again), note: "PostgreSQL: the same 10 000 seen again" },
      { name: "watch.pg.findings_query_100k_ms", value: median(pg.count), note: "PostgreSQL: open findings by severity and rule over 100 000 rows (aim < 100)" },
      { name: "watch.pg.findings_open_100k_ms", value: median(pg.open), note: "PostgreSQL: every open finding of 100 000, most severe first" },
      { name: "watch.pg.store_insert_ratio_sqlite", value: median(ratio("insert")), note: "per-round PostgreSQL / SQLite, median" },
      { name: "watch.pg.store_insert_ratio_sqlite_spread", value: spread(ratio("insert")) },
      { name: "watch.pg.findings_query_ratio_sqlite", value: median(ratio("count")), note: "per-round PostgreSQL / SQLite, median" },
      { name: "watch.pg.findings_query_ratio_sqlite_spread", value: spread(ratio("count")) },
      ...(await schedulerOverhead()),
    ] satisfies ReadonlyArray<Line>
  },
}
