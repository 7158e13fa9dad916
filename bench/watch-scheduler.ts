/**
 * `watch.scheduler_overhead_us`: what the watcher itself costs per job tick — the timer, the
 * overlap check, the job's state, the log line, the metrics — measured as the process's CPU time
 * (user + system) per tick while 20 jobs whose work costs nothing tick every 10 ms (2 000 ticks a
 * second) for 2 seconds. Their scans are incomplete, so nothing is written: the store's cost has
 * figures of its own. `watch.tick_with_record_us` is the same with the store's record of each
 * (empty) scan on a real SQLite file. CPU time, not wall time, so other processes on the machine
 * do not count. Median of 3 windows.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { defineConfig } from "../src/Config.ts"
import type { RunnableJob } from "../src/watch/jobs.ts"
import { startWatch } from "../src/watch/watch.ts"
import { median, type Line } from "./lib.ts"

const jobs = 20
const everyMs = 10
const windowMs = 2000

const measure = async (record: boolean): Promise<number> => {
  const dir = mkdtempSync(join(tmpdir(), "shiftup-bench-scheduler-"))
  try {
    const config = defineConfig({ watch: { port: 0, store: join(dir, "watch.sqlite"), jobs: Array.from({ length: jobs }, (_, i) => ({ name: `job-${i}`, inventory: true as const, every: everyMs })) } })
    let ticks = 0
    const watcher = await startWatch({
      config,
      stateDir: dir,
      log: () => undefined,
      load: async () => [],
      // Jobs whose work costs nothing: what remains is the watcher's.
      prepare: async (specs) =>
        Object.assign(
          specs.map((spec): RunnableJob => ({ spec, run: async () => (ticks++, { seen: record ? [] : undefined, summary: "", runIds: [] }) })),
          { snapshots: () => ({}) },
        ),
    })
    const perTick: Array<number> = []
    try {
      await new Promise((r) => setTimeout(r, 300)) // warm-up
      for (let w = 0; w < 3; w++) {
        const t0 = ticks
        const cpu0 = process.cpuUsage()
        await new Promise((r) => setTimeout(r, windowMs))
        const cpu = process.cpuUsage(cpu0)
        perTick.push((cpu.user + cpu.system) / Math.max(1, ticks - t0))
      }
    } finally {
      await watcher.stop(2000)
    }
    return median(perTick)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export const schedulerOverhead = async (): Promise<ReadonlyArray<Line>> => [
  { name: "watch.scheduler_overhead_us", value: await measure(false), digits: 1, note: `CPU per tick of ${jobs} jobs every ${everyMs} ms whose work costs nothing (timer, overlap check, state, log, metrics); aim < 50 µs` },
  { name: "watch.tick_with_record_us", value: await measure(true), digits: 1, note: "the same with the store's record of each (empty) scan on a real SQLite file" },
]
