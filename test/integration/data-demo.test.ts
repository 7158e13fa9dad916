/**
 * `npm run demo:data`, as a process: it starts the data lab (a real PostgreSQL, a real
 * redis-server and the shop app using both), runs the three experiments of experiments/data/
 * through the CLI, and must print each one's result — the planted weakness found in (a), the
 * defences holding in (b) and (c) — with equal checksums before and after and the time-to-restore,
 * exit 0, and leave nothing behind: every pid it started gone, every port closed, every temp dir
 * removed. Interrupted (SIGINT), it rolls back, stops everything and exits 130; killed outright,
 * its servers still stop. Without a server binary it names the package to install, with no stack
 * trace.
 */
import { existsSync, rmSync } from "node:fs"
import { join } from "node:path"
import { describe, it, type TestContext } from "vitest"
import { finish, journals, pendingIntents, repoRoot, testScope, useProcessCleanup, type Proc } from "../support/proc-cli.ts"
import { portRefused } from "../support/proc-lab.ts"

useProcessCleanup()

/**
 * The demo as `npm run demo:data` runs it, in a fresh working directory (its `.shiftup` is
 * `state`), in the test's own scope: the tests run at once, each cleaning up only its own.
 */
const demo = (context: TestContext, env: Readonly<Record<string, string>> = {}): { readonly p: Proc; readonly state: string } => {
  const scope = testScope(context)
  const cwd = scope.tempDir("shiftup-demo-data-")
  // `node --import tsx`, as the npm script: one process, whose own SIGINT handler rolls back.
  const p = scope.spawnNode(join(repoRoot, "src", "demo", "data-main.ts"), [], {
    cwd,
    env: { TSX_TSCONFIG_PATH: join(repoRoot, "tsconfig.json"), ...env },
    detached: true,
    nodeArgs: ["--import", join(repoRoot, "node_modules", "tsx", "dist", "loader.mjs")],
  })
  return { p, state: join(cwd, ".shiftup") }
}

/** Resolves when the demo's output matches `re` (it is polled: the output is a growing string). */
const printed = async (p: Proc, re: RegExp) => {
  const deadline = Date.now() + 60_000
  while (!re.test(p.stdout())) {
    if (!p.running() || Date.now() > deadline) throw new Error(`the demo never printed ${re}:\n${p.output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const gone = (pid: number) => {
  try {
    process.kill(pid, 0)
    return false
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH"
  }
}

/** What the demo says it started: the servers' pids and ports, the app's port, the temp dirs. */
const started = (stdout: string) => {
  const pg = /postgres pid (\d+), 127\.0\.0\.1:(\d+)/.exec(stdout)
  const redis = /redis-server pid (\d+), 127\.0\.0\.1:(\d+)/.exec(stdout)
  const app = /shop app http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)
  const dirs = /temp dirs: (.+)/.exec(stdout)?.[1]?.split(" ") ?? []
  return { pids: [Number(pg?.[1]), Number(redis?.[1])], ports: [Number(pg?.[2]), Number(redis?.[2]), Number(app?.[1])], dirs }
}

const expectNothingLeft = async (expect: TestContext["expect"], stdout: string) => {
  const { pids, ports, dirs } = started(stdout)
  for (const pid of pids) expect(pid, stdout).toBeGreaterThan(0)
  for (const pid of pids) expect(gone(pid), `pid ${pid} still running after the demo`).toBe(true)
  for (const port of ports) expect(await portRefused(port), `127.0.0.1:${port} still open after the demo`).toBe(true)
  expect(dirs.length, stdout).toBe(2)
  for (const dir of dirs) expect(existsSync(dir), `${dir} still there after the demo`).toBe(false)
}

// At once: most of each test is waiting for servers and runs (≈ 30 s in all here at load ≈ 9, about twice that one after the other).
describe.concurrent("npm run demo:data", () => {
  it("runs the three data experiments against the lab: (a) a finding, (b) and (c) pass, equal checksums, time-to-restore; exits 0 and leaves nothing behind", async (context) => {
    const { expect } = context
    const { p, state } = demo(context)
    const r = await finish(p, 90_000, "npm run demo:data")
    expect(r.code, r.output).toBe(0)
    const results = r.stdout.slice(r.stdout.indexOf("══ results"))
    for (const label of ["(a) session store corrupted (Redis): as designed", "(b) role column flipped (PostgreSQL): as designed", "(c) orders table encrypted (PostgreSQL): as designed"]) expect(results, r.output).toContain(label)
    expect(results).toMatch(/FINDING \[critical\] GET \/admin as bob during faults/)
    expect(results).toMatch(/PASS: A role flipped to 'admin'/)
    expect(results).toMatch(/time-to-detect: \d+ ms/)
    expect(results).toMatch(/PASS: With the orders table encrypted/)
    expect(results).toMatch(/time-to-restore: \d+ ms \(the restore: \d+ ms, decrypt item, status of 1200 row\(s\) of public\.orders, verified/)
    // Three pairs of checksums, each pair equal.
    const before = [...results.matchAll(/checksum before: (\w{16})… over (\d+ \w+)/g)].map((m) => `${m[1]} ${m[2]}`)
    const after = [...results.matchAll(/checksum after: {2}(\w{16})… over (\d+ \w+) — restored exactly/g)].map((m) => `${m[1]} ${m[2]}`)
    expect(before.map((b) => b.split(" ").slice(1).join(" "))).toEqual(["3 keys", "3 rows", "1200 rows"])
    expect(after).toEqual(before)
    // The journals the CLI wrote agree, and no compensation is owed.
    const runs = journals(state)
    expect(runs.map((j) => [j.experiment.id, j.status]).sort()).toEqual([
      ["data.postgres.orders-encrypted.fails-closed", "passed"],
      ["data.postgres.role-flip.detected", "passed"],
      ["sessions.fail-closed.store-corrupted", "failed"],
    ])
    for (const j of runs) expect(j.rollbacks.every((x) => x.outcome === "restored")).toBe(true)
    expect(pendingIntents(state)).toEqual([])
    await expectNothingLeft(expect, r.stdout)
  }, 120_000)

  it("interrupted by a Ctrl-C (SIGINT to its process group) while an experiment runs: rolls back, stops every server and exits 130", async (context) => {
    const { expect } = context
    const { p, state } = demo(context)
    // Ctrl-C at the terminal, once the first experiment has injected its fault: SIGINT to the
    // demo's whole process group (the demo, and any server that would share the group).
    await printed(p, /⚡ injected/)
    process.kill(-p.pid, "SIGINT")
    const r = await finish(p, 60_000, "npm run demo:data (interrupted)")
    expect(r.code, r.output).toBe(130)
    expect(r.stderr).toContain("interrupted")
    // The run in flight was aborted and rolled back before the servers were stopped.
    const runs = journals(state)
    expect(runs.map((j) => [j.experiment.id, j.status]), r.output).toEqual([["sessions.fail-closed.store-corrupted", "aborted"]])
    expect(runs[0]?.rollbacks.length).toBeGreaterThan(0)
    expect(runs[0]?.rollbacks.every((x) => x.outcome === "restored")).toBe(true)
    expect(pendingIntents(state)).toEqual([])
    await expectNothingLeft(expect, r.stdout)
  }, 90_000)

  it("killed outright (SIGKILL to its process group) once the lab is up: its servers stop anyway", async (context) => {
    const { expect } = context
    const { p } = demo(context)
    await printed(p, /temp dirs: .+\n/)
    const { pids, ports, dirs } = started(p.stdout())
    context.onTestFinished(() => {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    })
    process.kill(-p.pid, "SIGKILL")
    await p.exited
    // The kernel signals each server when the demo dies (setpriv --pdeathsig); they shut down on their own.
    const deadline = Date.now() + 15_000
    while (!pids.every(gone) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    for (const pid of pids) expect(gone(pid), `pid ${pid} outlived the killed demo`).toBe(true)
    for (const port of ports.slice(0, 2)) expect(await portRefused(port), `127.0.0.1:${port} still open`).toBe(true)
  }, 90_000)

  it("without redis-server or PostgreSQL, says which package to install and exits 4, with no stack trace and nothing started", async (context) => {
    const { expect } = context
    const [redis, postgres] = await Promise.all([
      finish(demo(context, { SHIFTUP_REDIS_SERVER: "/nonexistent/redis-server" }).p, 30_000, "npm run demo:data (no redis-server)"),
      finish(demo(context, { SHIFTUP_POSTGRES_BINDIR: "/nonexistent/bin" }).p, 30_000, "npm run demo:data (no postgres)"),
    ])
    for (const [r, aptPackage] of [[redis, "redis-server"], [postgres, "postgresql"]] as const) {
      expect(r.code, r.output).toBe(4)
      expect(r.stderr).toContain(`apt-get install -y ${aptPackage}`)
      expect(r.output).not.toMatch(/\n\s+at /)
      expect(r.stdout).not.toContain("pid")
    }
  }, 40_000)
})
