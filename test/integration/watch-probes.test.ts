/**
 * The probe budget a watcher's jobs share, counted where it matters — at the server. A real
 * `shiftup watch` runs three jobs at once, each a burst of 30 GETs to one loopback HTTP server:
 * with `watch.probes.maxRate: 20` the server sees 20 a second on average and no 2 seconds hold
 * more than the cap allows (+ a stated allowance for timers firing late on a loaded machine);
 * without it the same jobs go far over (the control that shows the count can fail); with
 * `perTargetInterval` requests to the host arrive that far apart, whichever jobs send them.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it, onTestFinished } from "vitest"
import { finish, fixture, spawnCli, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"

useProcessCleanup()

/** A loopback server that notes when each request to /budget arrives. */
const arrivalsServer = async () => {
  const at: Array<number> = []
  const server = http.createServer((req, res) => {
    if (req.url === "/budget") at.push(performance.now())
    res.writeHead(200, { "content-type": "text/plain" }).end("ok")
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  onTestFinished(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  )
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, at }
}

/** The most arrivals in any window of `ms`. */
const busiest = (times: ReadonlyArray<number>, ms: number) => {
  let most = 0
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[i] as number) - (times[j] as number) > ms) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

/** Arrivals per second, first to last. */
const rate = (times: ReadonlyArray<number>) => ((times.length - 1) * 1000) / ((times.at(-1) as number) - (times[0] as number))

/** Three burst jobs under `probes` (a `watch.probes` literal, or none) until the server saw `n` requests. */
const watchUntil = async (probes: string | undefined, n: number) => {
  const server = await arrivalsServer()
  const dir = tempDir("shiftup-watch-probes-")
  const burst = JSON.stringify(fixture("watch", "burst.ts"))
  writeFileSync(
    join(dir, "shiftup.config.ts"),
    `import { defineConfig } from "shiftup"
export default defineConfig({
  watch: {
    port: 0,
    shutdownTimeout: "3 seconds",${probes === undefined ? "" : `\n    probes: ${probes},`}
    jobs: [1, 2, 3].map((i) => ({ name: \`burst-\${i}\`, experiment: ${burst}, every: "1 second" })),
  },
})
`,
  )
  const watch = spawnCli(["watch", "--state-dir", join(dir, "state"), "--log", "json"], { cwd: dir, env: { WATCH_BURST_URL: server.url } })
  await waitFor(`${n} requests at the server`, () => server.at.length >= n, { proc: watch, timeoutMs: 30_000, everyMs: 20 })
  const started = watch
    .stdout()
    .split("\n")
    .find((l) => l.includes('"event":"watch.started"'))
  const metrics = await (await fetch(`${(JSON.parse(started ?? "{}") as { url: string }).url}/metrics`)).text()
  watch.child.kill("SIGTERM")
  await finish(watch, 10_000)
  return { at: server.at.slice(0, n), metrics }
}

/** `shiftup_watch_probes_total`, or undefined when the series is absent. */
const probesTotal = (metrics: string) => {
  const m = /^shiftup_watch_probes_total (\d+)$/m.exec(metrics)
  return m === null ? undefined : Number(m[1])
}

describe("watch.probes: one budget for every job", () => {
  it("three concurrent jobs keep to the shared cap at the server; without it the same jobs go far over", async () => {
    const capped = await watchUntil("{ maxRate: 20 }", 80)
    // After the first 15 (each job's burst opens 4 connections: a first request is late by its
    // connect), 20/s: on average (± 5%), and any 2 s hold at most 41 slots plus 4 for timers that
    // fire late together on a loaded machine (the bookings are spaced; a starved event loop is not).
    const steady = capped.at.slice(15)
    expect(rate(steady)).toBeLessThanOrEqual(21)
    expect(busiest(steady, 2000)).toBeLessThanOrEqual(45)
    // Three runs really were at it together (the burst of one alone is 30).
    expect(capped.at.length).toBe(80)
    // Every probe was booked in the shared budget, and the metric says so.
    expect(probesTotal(capped.metrics)).toBeGreaterThanOrEqual(80)

    const free = await watchUntil(undefined, 80)
    expect(busiest(free.at, 2000)).toBeGreaterThan(45)
    expect(rate(free.at)).toBeGreaterThan(40)
    expect(probesTotal(free.metrics)).toBeUndefined()
  }, 60_000)

  it("perTargetInterval spaces requests to one host across jobs", async () => {
    // After the first 4 (a first request on a connection is late by its connect).
    const spaced = (await watchUntil('{ maxRate: 1000, perTargetInterval: "120 millis" }', 18)).at.slice(4)
    const gaps = spaced.slice(1).map((t, i) => t - (spaced[i] as number))
    // Booked 120 ms apart: on average (± 5%); one gap may shrink when a timer fires late on a
    // loaded machine, never to nothing (unpaced, the three jobs' requests arrive together).
    expect(1000 / rate(spaced)).toBeGreaterThanOrEqual(114)
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(50)
  }, 60_000)
})
