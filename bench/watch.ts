/**
 * `npm run bench -- watch`: the finding store on a real SQLite file (WAL) — one scan recording
 * 10 000 new findings (one transaction), the same scan again (10 000 sightings), and the open
 * findings counted by severity and rule (what `/metrics` asks at every scrape) over 100 000 rows.
 * Medians of `rounds` runs, each on a fresh file. And the scheduler's own cost per job tick (watch-scheduler.ts).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { openSqlite } from "../src/watch/store/sqlite.ts"
import type { Observation } from "../src/watch/store/Store.ts"
import { median, type Line, type Section } from "./lib.ts"
import { schedulerOverhead } from "./watch-scheduler.ts"

const rounds = 5
const severities = ["critical", "high", "medium", "low"] as const
const observations = (n: number, offset = 0): ReadonlyArray<Observation> =>
  Array.from({ length: n }, (_, i) => ({ rule: `rule-${(i + offset) % 50}`, asset: `asset-${i + offset}`, location: "before", severity: severities[i % 4] as Observation["severity"], title: "t", detail: `seen ${i}` }))

export const watchSection: Section = {
  name: "watch",
  title: `finding store (SQLite, WAL): median ms of ${rounds}`,
  run: async () => {
    const insert: Array<number> = []
    const again: Array<number> = []
    const count: Array<number> = []
    const open: Array<number> = []
    for (let r = 0; r < rounds; r++) {
      const dir = mkdtempSync(join(tmpdir(), "shiftup-bench-watch-"))
      try {
        const store = openSqlite(join(dir, "watch.sqlite"))
        const tenK = observations(10_000)
        let t0 = performance.now()
        store.record("job", tenK, new Date(0))
        insert.push(performance.now() - t0)
        t0 = performance.now()
        store.record("job", tenK, new Date(60_000))
        again.push(performance.now() - t0)
        for (let j = 1; j < 10; j++) store.record(`job-${j}`, observations(10_000, j * 10_000), new Date(0))
        t0 = performance.now()
        store.countOpen()
        count.push(performance.now() - t0)
        t0 = performance.now()
        store.open()
        open.push(performance.now() - t0)
        store.close()
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
    return [
      { name: "watch.store_insert_10k_ms", value: median(insert), note: "one scan with 10 000 new findings (one transaction)" },
      { name: "watch.store_rescan_10k_ms", value: median(again), note: "the same 10 000 seen again (occurrences, last seen)" },
      { name: "watch.findings_query_100k_ms", value: median(count), note: "open findings by severity and rule over 100 000 rows (a /metrics scrape)" },
      { name: "watch.findings_open_100k_ms", value: median(open), note: "every open finding of 100 000, most severe first (`shiftup findings`)" },
      ...(await schedulerOverhead()),
    ] satisfies ReadonlyArray<Line>
  },
}
