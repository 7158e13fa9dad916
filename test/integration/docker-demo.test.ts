/**
 * `npm run demo:docker`, as a process (tsx, as the npm script runs it): it builds the images,
 * starts its Docker lab, runs experiments/docker through the CLI, prints the outcome with the
 * measured times, removes the lab and exits with the worst experiment's code (0: all held).
 * The lab is found through the same env convention the catalogue uses, so this test gives it a
 * run id and ports of its own. And on Ctrl-C mid-run it rolls back, runs nothing more, still
 * removes the lab, and exits 3 (aborted, the CLI's code for a signal).
 */
import { randomBytes } from "node:crypto"
import * as net from "node:net"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import * as Engine from "../../src/docker/engine.ts"
import { reapLab } from "../../src/testing/docker/lab.ts"
import { portVariable, runIdVariable } from "../../src/testing/docker/targets.ts"
import { finish, journals, pendingIntents, repoRoot, spawnNode, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"

useProcessCleanup()

const engine = Engine.make()
const call = <A>(e: Effect.Effect<A, unknown>): Promise<A> => Effect.runPromise(Effect.mapError(e, (x) => new Error(JSON.stringify(x))))
const runIds: Array<string> = []

afterAll(async () => {
  for (const id of runIds) await call(reapLab(engine, id)).catch(() => undefined)
  engine.close()
}, 60_000)

const free = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer()
    s.once("error", () => resolve(false))
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)))
  })

/** A free pair of loopback ports in 46000–46999 (the catalogue test uses 42000–45999). */
const freeBase = async () => {
  for (let i = 0; i < 50; i++) {
    const base = 46_000 + 2 * Math.floor(Math.random() * 500)
    if ((await free(base)) && (await free(base + 1))) return base
  }
  throw new Error("no free port pair")
}

const demo = async () => {
  const runId = `ddemo-${randomBytes(4).toString("hex")}`
  runIds.push(runId)
  const base = await freeBase()
  const cwd = tempDir("shiftup-demo-docker-")
  const proc = spawnNode(join(repoRoot, "node_modules", "tsx", "dist", "cli.mjs"), [join(repoRoot, "src", "demo", "docker-main.ts")], {
    cwd,
    env: { [runIdVariable]: runId, [portVariable]: String(base), TSX_TSCONFIG_PATH: join(repoRoot, "tsconfig.json") },
  })
  return { runId, base, state: join(cwd, ".shiftup"), proc }
}

const leftovers = async (runId: string) => [
  ...(await call(engine.list({ all: true, labels: [`shiftup.run=${runId}`] }))).map((c) => c.name),
  ...(await call(engine.networks([`shiftup.run=${runId}`]))).map((n) => n.name),
]

describe("npm run demo:docker", () => {
  it("runs experiments/docker against its own Docker lab, prints the times, removes the lab and exits 0", async () => {
    const d = await demo()
    const r = await finish(d.proc, 150_000, "npm run demo:docker")
    expect(r.code, r.output).toBe(0)
    expect(r.stdout).toContain(`gateway http://127.0.0.1:${d.base}`)
    expect(r.stdout).toContain(`detector http://127.0.0.1:${d.base + 1}`)
    for (const id of ["detect.rogue-port", "gateway.fails-closed.auth-partitioned", "gateway.fails-closed.auth-paused", "service.recovers-after-crash"]) expect(r.stdout).toMatch(new RegExp(`PASSED\\s+${id.replace(/\./g, "\\.")}\\s+\\d+ ms`))
    expect(r.stdout).toMatch(/detect\.rogue-port\s+\d+ ms\s+time-to-detect \d+ ms/)
    expect(r.stdout).toMatch(/service\.recovers-after-crash\s+\d+ ms\s+time-to-recover \d+ ms \(engine events\)/)
    expect(r.stdout).toContain("the lab was removed")
    const runs = journals(d.state)
    expect(runs.map((j) => j.status)).toEqual(["passed", "passed", "passed", "passed"])
    expect(runs.every((j) => j.rollbacks.every((x) => x.outcome === "restored"))).toBe(true)
    expect(pendingIntents(d.state)).toEqual([])
    expect(await leftovers(d.runId)).toEqual([])
    for (const j of runs) expect(await leftovers(j.runId)).toEqual([])
  }, 180_000)

  it("on Ctrl-C in the middle of an experiment: rolls back, stops, removes the lab, exits 3 (aborted)", async () => {
    const d = await demo()
    // The first experiment (detect.rogue-port) has its rogue listener running.
    await waitFor("the first injection", () => /injected rogue listener/.test(d.proc.stdout()), { timeoutMs: 90_000, proc: d.proc })
    d.proc.child.kill("SIGINT")
    const r = await finish(d.proc, 60_000, "npm run demo:docker (SIGINT)")
    expect(r.code, r.output).toBe(3)
    expect(r.stdout).toMatch(/ABORTED\s+detect\.rogue-port/)
    expect(r.stdout).toContain("the lab was removed")
    const runs = journals(d.state)
    expect(runs.map((j) => [j.experiment.id, j.status, j.abort?.cause])).toEqual([["detect.rogue-port", "aborted", "signal"]])
    expect(runs[0]?.rollbacks.map((x) => x.outcome)).toEqual(["restored"])
    expect(pendingIntents(d.state), r.output).toEqual([])
    expect(await leftovers(d.runId)).toEqual([])
    for (const j of journals(d.state)) expect(await leftovers(j.runId)).toEqual([])
  }, 180_000)
})
