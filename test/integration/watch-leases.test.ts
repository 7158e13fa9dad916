/**
 * Two real `shiftup watch` processes on one PostgreSQL store (a real PostgreSQL 15 this file
 * starts) and one job on a 300 ms interval whose single observation hits a loopback server that
 * logs when each request began and ended and which watcher sent it. Over 100 scheduled ticks
 * (runs + skips of both watchers) the job's observations never overlap. Then the watcher running
 * the job is killed with SIGKILL in the middle of it: the other takes the job over once the
 * lease expires, and the finding the killed one recorded is still there, seen on (never "new"
 * again).
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it, onTestFinished } from "vitest"
import { fixture, runCli, spawnCli, tempDir, useProcessCleanup, waitFor, type Proc } from "../support/proc-cli.ts"
import { events } from "../support/watch-cli.ts"
import { startPgLab, type PgLab } from "../support/postgres.ts"
import { openPostgres } from "shiftup/watch"

useProcessCleanup()

let lab: PgLab
beforeAll(async () => {
  lab = await startPgLab("SHIFTUP_TEST_LEASE_PASSWORD")
  await lab.admin.query("GRANT CREATE ON DATABASE postgres TO app")
}, 60_000)
afterAll(async () => {
  await lab?.stop()
})

interface Visit {
  readonly watcher: string
  readonly begin: number
  end?: number
}

/** The job's target: answers 403 after `delayMs`, logging each request's begin, end and watcher. */
const probeServer = async (delayMs: number) => {
  const visits: Array<Visit> = []
  const sockets = new Set<import("node:net").Socket>()
  let onBegin: (v: Visit) => void = () => undefined
  const server = http.createServer((req, res) => {
    const m = /^\/probe\/(\w+)/.exec(req.url ?? "")
    if (m === null) return res.writeHead(404).end()
    const visit: Visit = { watcher: m[1] as string, begin: performance.now() }
    visits.push(visit)
    onBegin(visit)
    setTimeout(() => {
      visit.end = performance.now()
      res.writeHead(403).end("no")
    }, delayMs)
  })
  server.on("connection", (s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    visits,
    setOnBegin: (f: (v: Visit) => void) => (onBegin = f),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}

const count = (p: Proc, event: string) => events(p).filter((e) => e.event === event).length

it("two watchers on one PostgreSQL store never run one job at once (100 ticks); kill -9 of the one running it: the other takes over after the lease expires, no recorded finding lost", async () => {
  const server = await probeServer(60)
  onTestFinished(() => server.close())
  const dir = tempDir("shiftup-watch-leases-")
  const schema = `leases_${process.pid}`
  writeFileSync(
    join(dir, "shiftup.config.ts"),
    `import { defineConfig } from "shiftup"
export default defineConfig({
  watch: {
    port: 0,
    leaseTtl: "2 seconds",
    store: { kind: "postgres", url: ${JSON.stringify(lab.url)}, passwordEnv: ${JSON.stringify(lab.passwordEnv)}, schema: ${JSON.stringify(schema)} },
    jobs: [{ name: "probe", experiment: ${JSON.stringify(fixture("watch", "lease-probe.ts"))}, every: 300 }],
  },
})
`,
  )
  const start = (name: string) =>
    spawnCli(["watch", "--state-dir", join(dir, `state-${name}`), "--log", "json"], { cwd: dir, env: { LEASE_PROBE_URL: server.url, WATCHER_NAME: name, [lab.passwordEnv]: lab.password } })
  const watchers = { a: start("a"), b: start("b") }
  const both = Object.values(watchers)
  const ticks = () => both.reduce((n, p) => n + count(p, "job.started") + count(p, "job.skipped"), 0)
  await waitFor("100 scheduled ticks of both watchers", () => ticks() >= 100, { timeoutMs: 90_000, everyMs: 100 })

  // The observations never overlap: sorted by begin, each begins after the previous ended.
  const noOverlap = () => {
    const sorted = [...server.visits].sort((x, y) => x.begin - y.begin)
    sorted.forEach((v, i) => {
      const before = sorted[i - 1]
      if (before !== undefined) expect(v.begin, `visit ${i} (${v.watcher}) began before visit ${i - 1} (${before.watcher}) ended`).toBeGreaterThanOrEqual(before.end ?? Number.POSITIVE_INFINITY)
    })
    return sorted
  }
  const sorted = noOverlap()
  expect(sorted.length).toBeGreaterThan(10)
  const skippedByLease = both.flatMap((p) => events(p).filter((e) => e.event === "job.skipped" && e["reason"] === "another watcher holds this job's lease"))
  expect(skippedByLease.length, "the watchers did contend for the job").toBeGreaterThan(0)
  const ran = { a: server.visits.filter((v) => v.watcher === "a").length, b: server.visits.filter((v) => v.watcher === "b").length }

  // The finding of every scan is one finding: new once (whoever saw it first), then open.
  const fp = both.flatMap((p) => events(p).filter((e) => e.event === "finding.changed" && e["to"] === "new")).map((e) => e["fingerprint"])
  expect(fp).toHaveLength(1)

  // kill -9 of the watcher whose observation is in flight now.
  let killedAt = 0
  let victim = ""
  const killed = new Promise<void>((resolve) =>
    server.setOnBegin((v) => {
      if (victim !== "") return
      victim = v.watcher
      killedAt = performance.now()
      watchers[v.watcher as "a" | "b"].child.kill("SIGKILL")
      resolve()
    }),
  )
  await killed
  const survivor = victim === "a" ? "b" : "a"
  await watchers[victim as "a" | "b"].exited
  const store = await openPostgres({ kind: "postgres", url: lab.url, passwordEnv: lab.passwordEnv, schema })
  onTestFinished(() => store.close())
  const before = await store.get(fp[0] as string)
  expect(before?.state, "the finding the killed watcher recorded is there").toMatch(/^(new|open)$/)
  await waitFor(`${survivor} taking the job over`, () => server.visits.some((v) => v.watcher === survivor && v.begin > killedAt), { timeoutMs: 20_000 })
  const takeover = server.visits.find((v) => v.watcher === survivor && v.begin > killedAt) as Visit
  // Its lease was renewed at most a third of the TTL (2 s) before the kill: the takeover waits for the rest.
  expect(takeover.begin - killedAt).toBeGreaterThan(2000 / 3 - 100)
  const s = watchers[survivor as "a" | "b"]
  const finishedBefore = count(s, "job.finished")
  await waitFor("the survivor recording a scan", () => count(s, "job.finished") > finishedBefore + 1, { timeoutMs: 20_000, proc: s })
  const after = await store.get(fp[0] as string)
  expect(after?.state).toBe("open")
  expect(after?.occurrences).toBeGreaterThan(before?.occurrences ?? 0)
  expect(after?.firstSeen).toBe(before?.firstSeen)
  expect(events(s).filter((e) => e.event === "finding.changed" && e["to"] === "new").length + events(watchers[victim as "a" | "b"]).filter((e) => e.event === "finding.changed" && e["to"] === "new").length).toBe(1)
  noOverlap()
  s.child.kill("SIGTERM")
  expect((await s.exited).code, "a clean stop").toBe(0)
  // `shiftup findings` reads the same PostgreSQL store.
  const listed = await runCli(["findings", "--format", "json"], { cwd: dir, env: { [lab.passwordEnv]: lab.password } })
  expect(listed.code, listed.output).toBe(0)
  expect((JSON.parse(listed.stdout) as { findings: Array<{ fingerprint: string; state: string }> }).findings).toEqual([expect.objectContaining({ fingerprint: fp[0], state: "open" })])
  console.log(`ticks ${ticks()}, visits before the kill: a ${ran.a}, b ${ran.b}; skipped for the lease ${skippedByLease.length}; killed ${victim}, ${survivor} took over after ${Math.round(takeover.begin - killedAt)} ms`)
}, 180_000)
