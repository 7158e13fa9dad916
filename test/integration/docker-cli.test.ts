/**
 * The Docker side of the CLI through real processes and a real engine: the dead-man switch
 * (`run --watchdog`: the runner is SIGKILLed while a container is paused, and the watcher
 * unpauses it within seconds and records it) and the reaper (`shiftup reap`: labelled leftovers
 * of finished runs are removed; a live run's are kept unless named or forced).
 */
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Docker from "shiftup/docker"
import { ensureImages } from "../../src/testing/docker/images.ts"
import { fixture, ledgerFiles, readLedger, runCli, spawnCli, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"

useProcessCleanup()

const engine = Docker.Engine.make()
const testRun = `t-cli-${Date.now().toString(36)}`
const label = { "shiftup.run": testRun }
const call = <A>(e: Effect.Effect<A, unknown>) => Effect.runPromise(e as Effect.Effect<A>)

beforeAll(async () => {
  await call(ensureImages(engine))
}, 120_000)

afterAll(async () => {
  await call(Docker.reap({ runIds: [testRun] }).pipe(Effect.provideService(Docker.DockerEngine, engine)))
  engine.close()
})

const startSleeper = (name: string, labels: Record<string, string> = label) =>
  call(engine.run({ name, image: "shiftup-lab/busybox:latest", command: ["sleep", "3600"], labels: { ...labels, "shiftup.env": "lab" } }))

const status = async (id: string) => (await call(engine.inspect(id))).state.status

describe("shiftup run --watchdog (dead-man switch)", () => {
  it("SIGKILL of the runner while a container is paused: the watchdog unpauses it within seconds and records it", async () => {
    const name = `${testRun}-wd`
    const id = await startSleeper(name)
    const state = tempDir()
    const p = spawnCli(["run", fixture("docker-pause.ts"), "--watchdog", "--state-dir", state], { env: { SHIFTUP_FIXTURE_CONTAINER: name, SHIFTUP_FIXTURE_HOLD: "60000" } })
    await waitFor("the pause to be applied", () => ledgerFiles(state).flatMap(readLedger).some((r) => r.type === "applied"), { proc: p, timeoutMs: 20_000 })
    expect(await status(id)).toBe("paused")
    expect(p.output()).toMatch(/watchdog \d+ is watching this run/)
    const killedAt = Date.now()
    p.child.kill("SIGKILL")
    await p.exited
    for (;;) {
      if ((await status(id)) === "running") break
      if (Date.now() - killedAt > 5000) throw new Error(`still ${await status(id)} 5 s after the SIGKILL`)
      await new Promise((r) => setTimeout(r, 50))
    }
    const tookMs = Date.now() - killedAt
    expect(tookMs).toBeLessThan(3000)
    // The ledger record follows the unpause.
    await waitFor("the watchdog's ledger record", () => ledgerFiles(state).flatMap(readLedger).some((r) => r.type === "rolled-back"))
    const records = ledgerFiles(state).flatMap(readLedger)
    expect(records.filter((r) => r.type === "rolled-back").map((r) => r["by"])).toEqual(["watchdog"])
    await waitFor("the watchdog's report", () => existsSync(join(state, "watchdog", `${p.pid}.json`)))
    const report = JSON.parse(readFileSync(join(state, "watchdog", `${p.pid}.json`), "utf8")) as { runner: number; watchdog: number; items: Array<{ outcome: string; compensation: string }> }
    expect(report.runner).toBe(p.pid)
    expect(report.items.map((i) => i.outcome)).toEqual(["restored"])
    expect(report.items[0]?.compensation).toContain(`unpause ${name}`)
    // The watcher ends after its job.
    await waitFor("the watchdog to exit", () => {
      try {
        process.kill(report.watchdog, 0)
        return false
      } catch {
        return true
      }
    })
    // Nothing left for recover.
    const r = await runCli(["recover", "--state-dir", state])
    expect(r.output).toContain("nothing to recover")
  })

  it("a run that ends normally: the watchdog finds nothing pending and exits", async () => {
    const name = `${testRun}-wd2`
    await startSleeper(name)
    const state = tempDir()
    const r = await runCli(["run", fixture("docker-pause.ts"), "--watchdog", "--state-dir", state], { env: { SHIFTUP_FIXTURE_CONTAINER: name } })
    expect(r.code, r.output).toBe(0)
    const [, watchdog, runner] = /watchdog (\d+) is watching this run \(pid (\d+)\)/.exec(r.output) ?? []
    expect(Number(watchdog)).toBeGreaterThan(0)
    const report = join(state, "watchdog", `${runner}.json`)
    await waitFor("the watchdog's report", () => existsSync(report), { timeoutMs: 10_000 })
    expect((JSON.parse(readFileSync(report, "utf8")) as { items: ReadonlyArray<unknown> }).items).toEqual([])
    expect(readFileSync(join(state, "watchdog", `${runner}.log`), "utf8")).toContain("nothing was pending")
  })
})

describe("shiftup reap", () => {
  it("removes the labelled containers, networks and images of a finished run, and keeps a live run's unless forced", async () => {
    const dead = `${testRun}-dead`
    const live = `${testRun}-live`
    const deadLabels = { "shiftup.run": dead }
    const liveLabels = { "shiftup.run": live }
    const c1 = await startSleeper(`${dead}-c`, deadLabels)
    const n1 = await call(engine.createNetwork(`${dead}-net`, deadLabels))
    const c2 = await startSleeper(`${live}-c`, liveLabels)
    // Ledgers of both runs in the state dir: one whose runner has exited, one whose runner is a
    // live process of this test (stopped by pid at the end). Runs without a ledger here — other
    // test files' — are not touched by a plain `reap`.
    const state = tempDir()
    const exited = spawn("true", [], { stdio: "ignore" })
    await new Promise((r) => exited.on("exit", r))
    const holder = spawn("sleep", ["120"], { stdio: "ignore" })
    try {
      mkdirSync(join(state, "ledger"), { recursive: true })
      const header = (runId: string, pid: number | undefined) => `${JSON.stringify({ v: 1, type: "run", runId, experiment: "x", pid, at: new Date().toISOString() })}\n`
      writeFileSync(join(state, "ledger", `${dead}.jsonl`), header(dead, exited.pid))
      writeFileSync(join(state, "ledger", `${live}.jsonl`), header(live, holder.pid))
      const r = await runCli(["reap", "--state-dir", state])
      expect(r.code, r.output).toBe(0)
      expect(r.output).toContain(`removed container ${dead}-c`)
      expect(r.output).toContain(`removed network ${dead}-net`)
      expect(r.output).toContain(`kept (run still alive) container ${live}-c`)
      expect(r.output).not.toContain(testRun + "-wd")
      expect((await call(engine.list({ all: true, labels: [`shiftup.run=${dead}`] }))).length).toBe(0)
      expect((await call(engine.networks([`shiftup.run=${dead}`]))).length).toBe(0)
      expect(await status(c2)).toBe("running")
      void c1
      void n1
      const forced = await runCli(["reap", "--state-dir", state, "--run", live])
      expect(forced.code, forced.output).toBe(0)
      expect((await call(engine.list({ all: true, labels: [`shiftup.run=${live}`] }))).length).toBe(0)
      const again = await runCli(["reap", "--run", live])
      expect(again.output).toContain(`nothing to reap: no object labelled shiftup.run=${live}`)
    } finally {
      holder.kill("SIGKILL")
    }
  })
})
