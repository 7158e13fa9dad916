/**
 * Runner overhead per step. The same probe function is measured
 *   (a) called directly in a loop, and
 *   (b) as N steps of one experiment run through `Runner.runPromise` (journal: false, temp stateDir),
 * in the same process. Fixed per-run costs (plan, ledger open and fsync, journal assembly) are
 * removed by timing runs of two lengths and taking the slope: (T(nHi) − T(nLo)) / (nHi − nLo).
 * Each repetition measures nLo, nHi and the direct loop back to back (order alternating, so a
 * drift in machine speed does not favour one side); figures are medians over repetitions.
 * No GC is forced between runs: after a forced full GC the next run pays for sweeping the heap
 * (measured here: a 2000-step run took ~95 ms instead of ~30 ms), which is not the runner's cost.
 * The garbage of earlier runs is collected during later ones, as it would be in a long process.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { Experiment, Expect, Probe, Runner, Target } from "../src/index.ts"
import { Budget } from "../src/advanced/index.ts"
import { busyWait, gcMs, median, settle, spread, timeAsync, timeSync, type Line, type Section, type Timing } from "./lib.ts"

/** `maxProbeRate` for the main figures: high enough that the per-target throttle never waits. */
const highRate = 1e9

interface Variant {
  readonly fn: () => boolean
  /** Milliseconds spent inside `fn` so far, if `fn` keeps count (measured in the same runs). */
  readonly inside?: () => number
  /** `check`: `Expect.that(probe, true)`; `probe`: the bare probe as a step (journaled, not asserted). */
  readonly step: "check" | "probe"
  /** `undefined`: the default budget. */
  readonly maxProbeRate: number | undefined
  readonly nLo: number
  readonly nHi: number
  /** Calls of the direct loop per repetition. */
  readonly directN: number
  readonly warmups: number
  readonly reps: number
}

/** One repetition, in milliseconds: per step (slope) and per direct call, wall and CPU. */
interface Rep {
  readonly stepWall: number
  readonly stepCpu: number
  readonly directWall: number
  readonly directCpu: number
  /** Intercept of the wall-time line: what a run costs besides its steps. */
  readonly fixedWall: number
  /** Time inside the probe function per step, from the same two runs (NaN if not counted). */
  readonly insideStep: number
  /** GC pause time per step, from the same two runs. */
  readonly gcStep: number
  readonly loWall: number
  readonly hiWall: number
  readonly nLo: number
  readonly nHi: number
}

type RunTiming = Timing & { readonly insideMs: number; readonly gcMs: number }

const target = Target.make("bench", { environment: "lab" })

const experimentOf = (v: Variant, n: number): Experiment.Experiment => {
  const probe = Probe.make({ id: "bench-probe", target, observe: v.fn })
  return Experiment.make({
    id: "bench.runner-overhead",
    title: "runner overhead",
    targets: { target },
    ...(v.maxProbeRate === undefined ? {} : { budget: { maxProbeRate: v.maxProbeRate } }),
    method: Array.from({ length: n }, () => (v.step === "check" ? Expect.that(probe, true) : probe)),
  })
}

const direct = (fn: () => boolean, n: number): Timing => {
  let held = 0
  const t = timeSync(() => {
    for (let i = 0; i < n; i++) if (fn()) held++
  })
  if (held !== n) throw new Error("the probe function did not return true")
  return { wallMs: t.wallMs / n, cpuMs: t.cpuMs / n }
}

const measure = async (v: Variant, stateDir: string): Promise<ReadonlyArray<Rep>> => {
  const lo = experimentOf(v, v.nLo)
  const hi = experimentOf(v, v.nHi)
  const runOnce = async (e: Experiment.Experiment, n: number): Promise<RunTiming> => {
    let steps = 0
    let status = ""
    await settle()
    const inside0 = v.inside?.() ?? Number.NaN
    const gc0 = gcMs()
    const t = await timeAsync(async () => {
      const j = await Runner.runPromise(e, { journal: false, stateDir })
      steps = j.steps.length
      status = `${j.status}: ${j.summary}`
    })
    // A run that did not execute every step would measure nothing: refuse to report it.
    if (steps !== n || !status.startsWith("passed")) throw new Error(`bench run went wrong (${steps}/${n} steps) ${status}`)
    const insideMs = (v.inside?.() ?? Number.NaN) - inside0
    await settle()
    return { ...t, insideMs, gcMs: gcMs() - gc0 }
  }
  for (let i = 0; i < v.warmups; i++) {
    await runOnce(hi, v.nHi)
    await runOnce(lo, v.nLo)
    direct(v.fn, v.directN)
  }
  const reps: Array<Rep> = []
  for (let r = 0; r < v.reps; r++) {
    let tLo: RunTiming
    let tHi: RunTiming
    let d: Timing
    if (r % 2 === 0) {
      tLo = await runOnce(lo, v.nLo)
      tHi = await runOnce(hi, v.nHi)
      d = direct(v.fn, v.directN)
    } else {
      d = direct(v.fn, v.directN)
      tHi = await runOnce(hi, v.nHi)
      tLo = await runOnce(lo, v.nLo)
    }
    const dn = v.nHi - v.nLo
    const stepWall = (tHi.wallMs - tLo.wallMs) / dn
    reps.push({ stepWall, stepCpu: (tHi.cpuMs - tLo.cpuMs) / dn, directWall: d.wallMs, directCpu: d.cpuMs, fixedWall: tLo.wallMs - stepWall * v.nLo, insideStep: (tHi.insideMs - tLo.insideMs) / dn, gcStep: (tHi.gcMs - tLo.gcMs) / dn, loWall: tLo.wallMs, hiWall: tHi.wallMs, nLo: v.nLo, nHi: v.nHi })
  }
  return reps
}

/** Per repetition, microseconds: runner time per step minus direct time per call. */
const overheadUs = (reps: ReadonlyArray<Rep>) => reps.map((r) => (r.stepWall - r.directWall) * 1000)
const overheadCpuUs = (reps: ReadonlyArray<Rep>) => reps.map((r) => (r.stepCpu - r.directCpu) * 1000)
const us = (reps: ReadonlyArray<Rep>, f: (r: Rep) => number) => median(reps.map(f)) * 1000
/**
 * The least disturbed estimate: the fastest run of each length (other processes only ever add
 * time), minus the fastest direct call (µs).
 */
const bestOverheadUs = (reps: ReadonlyArray<Rep>) => {
  const r0 = reps[0] as Rep
  const slope = (Math.min(...reps.map((r) => r.hiWall)) - Math.min(...reps.map((r) => r.loWall))) / (r0.nHi - r0.nLo)
  return (slope - Math.min(...reps.map((r) => r.directWall))) * 1000
}

const empty = (): boolean => true
let oneMsInside = 0
const oneMs = (): boolean => {
  oneMsInside += busyWait(1)
  return true
}

const base = { step: "check", maxProbeRate: highRate, warmups: 2 } as const
// The first variant also warms the runner's code up for the others (V8 needs a few thousand steps).
const emptyCheckV: Variant = { ...base, fn: empty, nLo: 200, nHi: 2000, directN: 100_000, warmups: 4, reps: 11 }
const oneMsV: Variant = { ...base, fn: oneMs, inside: () => oneMsInside, nLo: 50, nHi: 500, directN: 500, warmups: 1, reps: 11 }
const emptyProbeV: Variant = { ...base, fn: empty, step: "probe", nLo: 200, nHi: 2000, directN: 100_000, reps: 7 }
const defaultRateV: Variant = { ...base, fn: empty, maxProbeRate: undefined, nLo: 10, nHi: 60, directN: 100_000, warmups: 1, reps: 3 }
/**
 * The steps are measured with the state directory on tmpfs when there is one: a run's fixed cost
 * includes three fsyncs (ledger header, its folder, the end record) whose latency on a shared disk
 * varies by tens of milliseconds, which the slope would turn into noise per step. Check and probe
 * steps write nothing to the ledger, so the per-step figures do not depend on the disk.
 */
const stateRoot = existsSync("/dev/shm") ? "/dev/shm" : tmpdir()

/** Median wall time of a run with no steps, state directory on the ordinary temp disk. */
const fixedOnDisk = async (reps: number): Promise<number> => {
  const dir = mkdtempSync(join(tmpdir(), "shiftup-bench-disk-"))
  try {
    const e = Experiment.make({ id: "bench.runner-fixed", title: "runner fixed cost", targets: { target }, method: [] })
    const times: Array<number> = []
    for (let i = 0; i < reps + 1; i++) {
      const t = await timeAsync(() => Runner.runPromise(e, { journal: false, stateDir: dir }))
      if (i > 0) times.push(t.wallMs)
    }
    return median(times)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const shape = (v: Variant) => `n = ${v.nLo} vs ${v.nHi}, ${v.reps} repetitions`

export const runner: Section = {
  name: "runner",
  title: "runner overhead per step (same probe function: direct loop vs. steps of one run; slope between two run lengths)",
  run: async (): Promise<ReadonlyArray<Line>> => {
    const stateDir = mkdtempSync(join(stateRoot, "shiftup-bench-"))
    const loadBefore = loadavg()[0] ?? 0
    try {
      const emptyCheck = await measure(emptyCheckV, stateDir)
      const ms1 = await measure(oneMsV, stateDir)
      const emptyProbe = await measure(emptyProbeV, stateDir)
      const defaultRate = await measure(defaultRateV, stateDir)
      const fixedDisk = await fixedOnDisk(7)

      const ratio1ms = median(ms1.map((r) => r.stepWall / r.directWall))
      const pct1ms = (ratio1ms - 1) * 100
      const rate = Budget.defaults.maxProbeRate
      return [
        { name: "runner.node", value: process.version },
        { name: "runner.cpus", value: `${cpus().length} x ${cpus()[0]?.model.trim() ?? "unknown"}` },
        { name: "runner.loadavg_1m", value: `${loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after`, note: "other processes competing for the CPUs make every wall-clock figure noisy (see the _spread lines)" },
        { name: "runner.probe_1ms", value: "busy-wait on performance.now(), clock read every 500 integer steps (CPU-bound, allocation-free, not a timer)", note: "how the ~1 ms probe spends its millisecond" },
        {
          name: "runner.method",
          value: `slope (T(nHi)-T(nLo))/(nHi-nLo) of Runner.runPromise wall time, journal:false, temp stateDir on ${stateRoot}, maxProbeRate 1e9, no forced GC; median over repetitions`,
          note: "how a per-step figure is obtained (per-run fixed costs cancel out)",
        },
        { name: "runner.step_overhead_us", value: median(overheadUs(emptyCheck)), note: `empty probe, Expect.that check step: wall time per step in the runner minus a direct call (µs), ${shape(emptyCheckV)}` },
        { name: "runner.step_overhead_us_spread", value: spread(overheadUs(emptyCheck)), note: "min…max over the repetitions" },
        { name: "runner.step_overhead_us_best", value: bestOverheadUs(emptyCheck), note: "the same from the fastest run of each length and the fastest direct loop: the least disturbed by other processes" },
        { name: "runner.step_overhead_cpu_us", value: median(overheadCpuUs(emptyCheck)), note: "the same in process CPU time (user + system of every thread: V8's GC helper threads included, so it can exceed the wall figure)" },
        { name: "runner.gc_us_per_step", value: us(emptyCheck, (r) => r.gcStep), note: "GC pauses per step in those runs (µs; part of the overhead above)" },
        { name: "runner.direct_call_us_empty", value: us(emptyCheck, (r) => r.directWall), digits: 4, note: "the empty probe function called directly (µs per call)" },
        { name: "runner.run_fixed_ms", value: median(emptyCheck.map((r) => r.fixedWall)), note: "per-run fixed cost (plan, ledger open + fsyncs, journal assembly): intercept of the same fit (ms)" },
        { name: "runner.run_fixed_ms_disk", value: fixedDisk, note: `a run with no steps, stateDir on ${tmpdir()} (ledger fsyncs on the disk): median of 7 (ms)` },
        { name: "runner.step_overhead_us_1ms", value: median(overheadUs(ms1)), note: `~1 ms probe, check step: wall time per step in the runner minus a direct call (µs), ${shape(oneMsV)}` },
        { name: "runner.step_overhead_us_1ms_spread", value: spread(overheadUs(ms1)) },
        { name: "runner.step_overhead_us_1ms_best", value: bestOverheadUs(ms1), note: "the same from the fastest runs and the fastest direct loop" },
        { name: "runner.gc_us_per_step_1ms", value: us(ms1, (r) => r.gcStep), note: "GC pauses per step in the ~1 ms runs (µs)" },
        { name: "runner.direct_call_us_1ms", value: us(ms1, (r) => r.directWall), note: "the ~1 ms probe function called directly (µs per call)" },
        { name: "runner.step_us_1ms", value: us(ms1, (r) => r.stepWall), note: "wall time per step in the runner with the ~1 ms probe (µs)" },
        { name: "runner.step_overhead_ratio_1ms", value: ratio1ms, digits: 4, note: "runner time per step / direct time per call, ~1 ms probe (median of per-repetition ratios)" },
        { name: "runner.step_overhead_pct_1ms", value: pct1ms, note: "(ratio - 1) x 100; the aim is under 5" },
        {
          name: "runner.step_overhead_us_1ms_outside_probe",
          value: median(ms1.map((r) => (r.stepWall - r.insideStep) * 1000)),
          note: "~1 ms probe: runner time per step minus the time spent inside the probe function in those same runs (µs); robust when other processes stretch the busy-wait",
        },
        {
          name: "runner.step_overhead_pct_1ms_outside_probe",
          value: median(ms1.map((r) => (r.stepWall / r.insideStep - 1) * 100)),
          note: "the same as a percentage of the time inside the probe",
        },
        { name: "runner.step_overhead_aim_met", value: pct1ms < 5 ? "yes" : "no", note: "step_overhead_pct_1ms < 5" },
        { name: "runner.step_overhead_us_probe_step", value: median(overheadUs(emptyProbe)), note: `empty probe as a bare Probe step (journaled with its value, no assertion) (µs), ${shape(emptyProbeV)}` },
        {
          name: "runner.step_us_default_rate",
          value: us(defaultRate, (r) => r.stepWall),
          digits: 0,
          note: `wall time per step, empty probe, DEFAULT budget: every observation of a target is throttled to maxProbeRate ${rate}/s, so the budget, not the runner, sets the pace (1e6 / ${rate} = ${(1e6 / rate).toFixed(0)} µs), ${shape(defaultRateV)}`,
        },
      ]
    } finally {
      rmSync(stateDir, { recursive: true, force: true })
    }
  },
}
