/**
 * `shiftup/http` throughput and pacing.
 *
 *  - `http.burst_ratio`: requests per second of a burst probe run by the runner (one experiment,
 *    one probe step doing `n` requests through `Http.burst`, as `RateLimit.probe` does: correlation
 *    headers, egress check, deadline, redaction) divided by those of a raw undici `request()`
 *    loop on a fresh Agent (a run opens connections of its own too) with the same number of
 *    connections, at the same concurrency, against the same server. The server is a child
 *    process, so it does not share the event loop with either client. Raw and probe alternate in short rounds (so a change in machine load hits
 *    both sides of a pair alike); the ratio is the median of the per-pair ratios.
 *  - `http.rate_cap_error_pct`: a burst paced by `budget.maxProbeRate` (500/s here) should start
 *    its requests at that rate; the error is |achieved − cap| / cap, with the achieved rate
 *    taken from the request start times, (n − 1) / (last − first).
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { Agent } from "undici"
import { Experiment, Probe, Runner } from "../src/index.ts"
import * as Http from "../src/http/index.ts"
import { median, spread, type Line, type Section } from "./lib.ts"

const concurrency = 32
const n = 4_000
// 20 pairs: one pair's ratio ranges over 0.5…1.6 on this machine.
const reps = 20

const serverSource = `
const http = require("node:http")
const s = http.createServer((req, res) => { res.writeHead(200, { "content-type": "text/plain", "content-length": "2" }); res.end("ok") })
s.keepAliveTimeout = 10000
s.listen(0, "127.0.0.1", () => process.stdout.write(String(s.address().port) + "\\n"))
`

const startServer = () =>
  new Promise<{ readonly port: number; readonly stop: () => void }>((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", serverSource], { stdio: ["ignore", "pipe", "inherit"] })
    child.once("error", reject)
    child.stdout?.setEncoding("utf8").once("data", (d: string) =>
      resolve({
        port: Number(d.trim()),
        stop: () => {
          if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL")
        },
      }),
    )
  })

/**
 * The raw loop on a fresh Agent, as a run starts with one of its own: both sides open their
 * connections inside the timed span. Closing it is not timed (nor is the runner's closing).
 */
const rawLoop = async (origin: string): Promise<number> => {
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 10_000 })
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++
        const r = await agent.request({ origin, path: "/", method: "GET" })
        await r.body.text()
      }
    }),
  )
  const rps = n / ((performance.now() - t0) / 1000)
  await agent.close()
  return rps
}

const probeRun = async (target: Http.SecurityTarget, stateDir: string, rate: number, count: number, starts?: Array<number>): Promise<number> => {
  const burst = Probe.make({
    id: "burst",
    target,
    // What RateLimit.probe does: the burst, then the statuses.
    observe: Effect.map(
      Http.burst(target, count, concurrency, () => {
        starts?.push(performance.now())
        return { path: "/", maxBody: 1024 }
      }),
      (answers) => answers.map((r) => r.status),
    ),
  })
  const experiment = Experiment.make({ id: "bench.http-burst", title: "burst", targets: { target }, budget: { maxProbeRate: rate }, method: [burst] })
  const t0 = performance.now()
  const journal = await Effect.runPromise(Runner.run(experiment, { stateDir, journal: false }))
  const wall = performance.now() - t0
  if (journal.status !== "passed") throw new Error(`burst run ${journal.status}: ${journal.summary}`)
  const step = journal.steps.find((s) => s.kind === "probe")
  return count / ((step?.durationMs ?? wall) / 1000)
}

export const http: Section = {
  name: "http",
  title: `shiftup/http: burst probe vs raw undici request() loop (${n} requests, concurrency ${concurrency}); rate cap accuracy`,
  run: async (): Promise<ReadonlyArray<Line>> => {
    const server = await startServer()
    const stateDir = mkdtempSync(join(tmpdir(), "shiftup-bench-http-"))
    const origin = `http://127.0.0.1:${server.port}`
    const target = Http.target("bench-http", { url: origin, environment: "lab" })
    try {
      // Warm-up: JIT, connections, the server's own warm-up.
      await rawLoop(origin)
      await probeRun(target, stateDir, 1e9, n)
      const raw: Array<number> = []
      const probe: Array<number> = []
      for (let i = 0; i < reps; i++) {
        if (i % 2 === 0) {
          raw.push(await rawLoop(origin))
          probe.push(await probeRun(target, stateDir, 1e9, n))
        } else {
          probe.push(await probeRun(target, stateDir, 1e9, n))
          raw.push(await rawLoop(origin))
        }
      }
      const cap = 500
      const errors: Array<number> = []
      for (let i = 0; i < 3; i++) {
        const starts: Array<number> = []
        await probeRun(target, stateDir, cap, 251, starts)
        const achieved = (starts.length - 1) / (((starts.at(-1) ?? 0) - (starts[0] ?? 0)) / 1000)
        errors.push((Math.abs(achieved - cap) / cap) * 100)
      }
      const ratios = raw.map((r, i) => (probe[i] ?? 0) / r)
      return [
        { name: "http.raw_rps", value: median(raw), digits: 0, note: `raw undici request() loop, requests/s (spread ${spread(raw, 0)})` },
        { name: "http.burst_rps", value: median(probe), digits: 0, note: `burst probe through the runner, requests/s (spread ${spread(probe, 0)})` },
        { name: "http.burst_ratio", value: median(ratios), note: `burst_rps / raw_rps, median of ${reps} alternating pairs (aim ≥ 0.9; spread ${spread(ratios)})` },
        { name: "http.rate_cap_error_pct", value: median(errors), note: `|achieved − ${cap}/s| / ${cap}/s over 250 paced requests, median of 3 (aim ≤ 5; spread ${spread(errors)})` },
      ]
    } finally {
      server.stop()
      rmSync(stateDir, { recursive: true, force: true })
    }
  },
}
