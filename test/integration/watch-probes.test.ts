/**
 * The probe budget a watcher's jobs share, counted where it matters — at the server. A real
 * `shiftup watch` runs three jobs at once, each a burst of 30 GETs to one loopback HTTP server:
 * with `watch.probes.maxRate: 20` no second at the server holds more than the cap (+ its burst
 * and one for arrival jitter); without it the same jobs go far over (the control that shows
 * the count can fail); with `perTargetInterval` two requests to the host never arrive closer
 * than the interval, whichever jobs send them.
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
  watch.child.kill("SIGTERM")
  await finish(watch, 10_000)
  return server.at.slice(0, n)
}

describe("watch.probes: one budget for every job", () => {
  it("three concurrent jobs keep to the shared cap at the server; without it the same jobs go far over", async () => {
    const capped = await watchUntil("{ maxRate: 20 }", 70)
    // 20/s evenly spaced: at most 21 slots fall in a closed second, one more for arrival jitter.
    expect(busiest(capped, 1000)).toBeLessThanOrEqual(22)
    // Three runs really were at it together (the burst of one alone is 30).
    expect(capped.length).toBe(70)

    const free = await watchUntil(undefined, 70)
    expect(busiest(free, 1000)).toBeGreaterThan(40)
  }, 60_000)

  it("perTargetInterval spaces requests to one host across jobs", async () => {
    const spaced = await watchUntil('{ maxRate: 1000, perTargetInterval: "120 millis" }', 12)
    const gaps = spaced.slice(1).map((t, i) => t - (spaced[i] as number))
    // Sent ≥ 120 ms apart; arrivals may drift by a few ms on a busy machine.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(100)
  }, 60_000)
})
