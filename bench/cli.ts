/**
 * `npm run bench -- cli`: what a user waits for at each invocation of the installed `shiftup`
 * (this checkout packed and installed into a temp project, test/support/packed.ts), measured
 * side by side with a bare `node -e 0` in interleaved rounds, so that other processes on the
 * machine stretch both alike; medians, with the spread of the per-round ratios.
 *
 * Each process reports its own CPU time and peak RSS at exit through a one-line `--import`
 * module (given to the floor too); wall time is measured from here, spawn to exit.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startLabOnFreePorts } from "../test/support/proc-lab.ts"
import { packAndInstall, userEnv } from "../test/support/packed.ts"
import { median, spread, type Line, type Section } from "./lib.ts"

interface Sample {
  readonly wallMs: number
  readonly cpuMs: number
  readonly rssMb: number
}

const rounds = Number(process.env["SHIFTUP_BENCH_ROUNDS"] ?? 9)
const probesLo = 20
const probesHi = 220

const experiments = {
  // One probe of a loopback server: the smallest useful run.
  "trivial.ts": `import { Expect, Experiment, Probe } from "shiftup"
import * as Http from "shiftup/http"
const api = Http.target("api", { url: \`http://127.0.0.1:\${process.env.PORT}\`, environment: "lab" })
export default Experiment.make({ id: "bench.trivial", title: "one probe", targets: { api }, hypothesis: [Expect.that(Probe.status(api, "/"), Expect.equals(200))], method: [] })
`,
  // PROBES probes, twice (before and after), unpaced: the per-probe CPU is the slope between two counts.
  "probes.ts": `import { Expect, Experiment, Probe } from "shiftup"
import * as Http from "shiftup/http"
const api = Http.target("api", { url: \`http://127.0.0.1:\${process.env.PORT}\`, environment: "lab" })
const checks = Array.from({ length: Number(process.env.PROBES) }, (_, i) => Expect.that(Probe.status(api, "/", { id: \`probe \${i}\` }), Expect.equals(200)))
export default Experiment.make({ id: "bench.probes", title: "many probes", targets: { api }, budget: { maxProbeRate: 1e9 }, hypothesis: checks, method: [] })
`,
  // One fault and its rollback, through the demo lab's fault switch.
  "fault.ts": `import { Experiment } from "shiftup"
import { DemoLab } from "shiftup/testing"
const { auth } = DemoLab.targets()
export default Experiment.make({ id: "bench.fault", title: "one fault", targets: { auth }, method: [DemoLab.authFault("error")] })
`,
}

interface JournalTimes {
  readonly startedAt: string
  readonly steps: ReadonlyArray<{ readonly kind: string; readonly startedAt: string; readonly durationMs: number }>
  readonly rollbacks: ReadonlyArray<{ readonly durationMs: number }>
  readonly status: string
}

const run = async (): Promise<ReadonlyArray<Line>> => {
  const work = mkdtempSync(join(tmpdir(), "shiftup-bench-cli-"))
  const server = http.createServer((_, res) => res.end("ok"))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const lab = await startLabOnFreePorts()
  try {
    const installed = packAndInstall(work)
    for (const [name, source] of Object.entries(experiments)) writeFileSync(join(installed.project, name), source)
    const stats = join(work, "stats.json")
    const report = `import { writeFileSync } from "node:fs"; process.on("exit", () => { const c = process.cpuUsage(); writeFileSync(${JSON.stringify(stats)}, JSON.stringify({ cpuMs: (c.user + c.system) / 1000, rssMb: process.resourceUsage().maxRSS / 1024 })) })`
    const env = { ...userEnv(), PORT: String((server.address() as AddressInfo).port), SHIFTUP_LAB_PORT: String(lab.base) }
    // Not spawnSync: the servers answer from this process.
    const measure = (args: ReadonlyArray<string>, extraEnv: Readonly<Record<string, string>> = {}): Promise<Sample> =>
      new Promise((resolve, reject) => {
        const t0 = performance.now()
        const child = spawn(process.execPath, ["--import", `data:text/javascript,${encodeURIComponent(report)}`, ...args], { cwd: installed.project, env: { ...env, ...extraEnv }, stdio: ["ignore", "ignore", "pipe"] })
        let err = ""
        child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c))
        child.once("error", reject)
        child.once("close", (code) => {
          const wallMs = performance.now() - t0
          if (code !== 0) return reject(new Error(`${args.join(" ")} exited ${code}: ${err}`))
          const s = JSON.parse(readFileSync(stats, "utf8")) as { cpuMs: number; rssMb: number }
          resolve({ wallMs, ...s })
        })
      })
    const journal = (file: string): JournalTimes => JSON.parse(readFileSync(join(installed.project, file), "utf8")) as JournalTimes
    const cli = (...args: ReadonlyArray<string>) => [installed.bin, ...args]

    // One warm-up of each: the compile cache is filled as a user's second run finds it.
    for (const f of Object.keys(experiments)) await measure(cli("run", f), { PROBES: "1" })
    const s = { floor: [] as Array<Sample>, version: [] as Array<Sample>, trivial: [] as Array<Sample>, lo: [] as Array<Sample>, hi: [] as Array<Sample> }
    const planMs: Array<number> = []
    const faultMs: Array<number> = []
    for (let r = 0; r < rounds; r++) {
      s.floor.push(await measure(["-e", "0"]))
      s.version.push(await measure(cli("--version")))
      s.trivial.push(await measure(cli("run", "trivial.ts", "--journal", "trivial.json")))
      const t = journal("trivial.json")
      const first = t.steps[0]
      if (first !== undefined) planMs.push(Date.parse(first.startedAt) - Date.parse(t.startedAt))
      await measure(cli("run", "fault.ts", "--journal", "fault.json"))
      const f = journal("fault.json")
      const fault = f.steps.find((x) => x.kind === "fault")
      if (fault !== undefined && f.status === "passed") faultMs.push(fault.durationMs + (f.rollbacks[0]?.durationMs ?? Number.NaN))
      s.lo.push(await measure(cli("run", "probes.ts"), { PROBES: String(probesLo) }))
      s.hi.push(await measure(cli("run", "probes.ts"), { PROBES: String(probesHi) }))
    }
    const ratio = (xs: ReadonlyArray<Sample>) => xs.map((x, i) => x.wallMs / (s.floor[i]?.wallMs ?? Number.NaN))
    const probeCpuUs = s.hi.map((h, i) => ((h.cpuMs - (s.lo[i]?.cpuMs ?? Number.NaN)) * 1000) / (2 * (probesHi - probesLo)))
    const wall = (xs: ReadonlyArray<Sample>) => median(xs.map((x) => x.wallMs))
    return [
      { name: "cli.node", value: process.version },
      { name: "cli.method", value: `${rounds} interleaved rounds, medians; installed layout (npm pack + npm install into a temp project)`, note: "floor, --version, 1-probe run, fault run, 20- and 220-probe runs, one after the other in each round" },
      { name: "cli.node_floor_ms", value: wall(s.floor), digits: 0, note: "`node -e 0`, whole process, wall" },
      { name: "cli.version_ms", value: wall(s.version), digits: 0, note: "`shiftup --version`, whole process, wall" },
      { name: "cli.version_ratio_floor", value: median(ratio(s.version)), note: "per-round --version / floor, median (aim ≤ 1.5)" },
      { name: "cli.version_ratio_floor_spread", value: spread(ratio(s.version)) },
      { name: "cli.trivial_run_ms", value: wall(s.trivial), digits: 0, note: "`shiftup run` of a 1-probe experiment against a loopback server, whole process, wall" },
      { name: "cli.trivial_run_ratio_floor", value: median(ratio(s.trivial)), note: "per-round 1-probe run / floor, median (aim ≤ 2.5)" },
      { name: "cli.trivial_run_ratio_floor_spread", value: spread(ratio(s.trivial)) },
      { name: "cli.trivial_run_cpu_ms", value: median(s.trivial.map((x) => x.cpuMs)), digits: 0, note: "its CPU time (user + system); the floor's: cli.node_floor_cpu_ms" },
      { name: "cli.node_floor_cpu_ms", value: median(s.floor.map((x) => x.cpuMs)), digits: 0 },
      { name: "cli.trivial_run_rss_mb", value: median(s.trivial.map((x) => x.rssMb)), digits: 1, note: "its peak RSS (aim ≤ 70); the floor's: cli.node_floor_rss_mb" },
      { name: "cli.node_floor_rss_mb", value: median(s.floor.map((x) => x.rssMb)), digits: 1 },
      { name: "cli.plan_ms_in_run", value: median(planMs), digits: 0, note: "journal: run start → first step (plan, ledger, lease), ms resolution (aim ≤ 5)" },
      { name: "cli.fault_rollback_ms_in_run", value: median(faultMs), digits: 1, note: "journal: the fault step + its rollback, demo lab's fault switch (aim ≤ 15)" },
      { name: "cli.probe_cpu_us", value: median(probeCpuUs), digits: 0, note: `CPU per probe, unpaced: slope between ${probesLo} and ${probesHi} probes (each run twice: before and after) (aim ≤ 600)` },
      { name: "cli.probe_cpu_us_spread", value: spread(probeCpuUs, 0) },
    ]
  } finally {
    server.close()
    await lab.close()
    rmSync(work, { recursive: true, force: true })
  }
}

export const cliSection: Section = { name: "cli", title: "start-up and fixed costs of the installed CLI, against a bare `node -e 0`", run }
