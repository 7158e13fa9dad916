/**
 * Shared helpers of the benchmark sections. A section measures one part of shiftup and returns
 * its figures as lines `name: value`; `bench/index.ts` runs the sections and prints them.
 */
import { PerformanceObserver } from "node:perf_hooks"

/** One figure: printed as `name: value`. `note` is printed once, as a `#` legend line. */
export interface Line {
  readonly name: string
  readonly value: number | string
  readonly note?: string
  /** Decimal places for a number; default 2. */
  readonly digits?: number
}

export interface Section {
  /** Short name, also the prefix of its figures (`runner.…`) and the CLI filter (`npm run bench -- runner`). */
  readonly name: string
  readonly title: string
  readonly run: () => Promise<ReadonlyArray<Line>>
}

export const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** Smallest and largest, for a `min…max` spread line. */
export const spread = (xs: ReadonlyArray<number>, digits = 2): string => `${Math.min(...xs).toFixed(digits)}…${Math.max(...xs).toFixed(digits)}`

let sink = 0

/**
 * Spins until `ms` milliseconds have passed on `performance.now()`: a CPU-bound cost that is
 * stable to a few microseconds (a timer such as `setTimeout(1)` takes 1.1 ms or more and jitters).
 * The clock is read every 500 integer steps (about a microsecond): under tsx each
 * `performance.now()` call allocates a heap number, and a tight loop over it caused ~34 minor GCs
 * per 300 ms of spinning here, GCs that would then scan the runner's live objects and be billed
 * to the runner.
 * Returns the time it really spun (more than `ms` when the process was descheduled at the end).
 */
export const busyWait = (ms: number): number => {
  const t0 = performance.now()
  let t = t0
  let x = sink
  while (t - t0 < ms) {
    for (let i = 0; i < 500; i++) x = (Math.imul(x, 1103515245) + 12345) | 0
    t = performance.now()
  }
  sink = x
  return t - t0
}

/** Wall time and process CPU time (user + system, every thread: GC helpers included) of one call. */
export interface Timing {
  readonly wallMs: number
  readonly cpuMs: number
}

export const timeAsync = async (f: () => Promise<unknown>): Promise<Timing> => {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await f()
  const wallMs = performance.now() - t0
  const c = process.cpuUsage(c0)
  return { wallMs, cpuMs: (c.user + c.system) / 1000 }
}

export const timeSync = (f: () => void): Timing => {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  f()
  const wallMs = performance.now() - t0
  const c = process.cpuUsage(c0)
  return { wallMs, cpuMs: (c.user + c.system) / 1000 }
}

export const format = (line: Line): string => `${line.name}: ${typeof line.value === "number" ? line.value.toFixed(line.digits ?? 2) : line.value}`

/** Milliseconds spent in garbage collection (main-thread pauses) since the bench started. */
let gcTotalMs = 0
let gcObserver: PerformanceObserver | undefined
export const gcMs = (): number => {
  if (gcObserver === undefined) {
    gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcTotalMs += e.duration
    })
    gcObserver.observe({ entryTypes: ["gc"] })
  }
  return gcTotalMs
}

/**
 * Lets queued performance entries (GC) be delivered: call after a measurement, before reading
 * `gcMs`. Node delivers them from an immediate, which runs after the timers of the same turn.
 */
export const settle = (): Promise<void> => new Promise((resolve) => setTimeout(() => setImmediate(() => setImmediate(resolve)), 0))
