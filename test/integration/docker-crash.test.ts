/**
 * Crash torture (invariants 2 and 5) against a real Docker engine: a runner applying every kind
 * of Docker fault — pause, stop, kill, network disconnect, iptables partition, tbf bandwidth,
 * resource squeeze, file tamper, rogue listener — is SIGKILLed at random points of its life,
 * chosen from its own ledger (before it exists, after any record: intents, applied, mid-rollback).
 * Then `shiftup recover` — or, separately, the `--watchdog` dead-man switch with no recover —
 * must leave the world exactly as before: nothing paused, stopped, disconnected, partitioned,
 * limited, tampered or rogue. The seed of each trial is printed, so a failure can be replayed.
 */
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { createServer } from "node:net"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Docker from "shiftup/docker"
import type { Container } from "../../src/docker/engine.ts"
import { unlimitedMemory } from "../../src/docker/index.ts"
import { pack } from "../../src/internal/tar.ts"
import { ensureImages } from "../../src/testing/docker/images.ts"
import { fixture, ledgerFiles, readLedger, runCli, spawnCli, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"

useProcessCleanup()

const engine = Docker.Engine.make()
const call = <A>(e: Effect.Effect<A, unknown>) => Effect.runPromise(e as Effect.Effect<A>)
const world = `t-torture-${Date.now().toString(36)}`
const labels = { "shiftup.run": world, "shiftup.env": "lab" }
const names = ["a", "b", "c", "d", "e", "f", "g", "h"].map((s) => `${world}-${s}`)
const conf = "original config of the torture world\n"
let roguePort = 0

/** A small deterministic generator, so a printed seed replays a trial's kill point. */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const freePort = async () => {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

const inNamespace = (pid: number, command: string, args: ReadonlyArray<string>) => execFileSync("nsenter", ["-t", String(pid), "-n", command, ...args], { encoding: "utf8" })

/**
 * Resource limits as they act: a squeeze of a container with no limit is undone with the kernel's
 * own "no limit" (-1 quota, 2^63-4096 bytes), which Docker cannot store as 0 again (docs/docker.md).
 */
const limits = (c: Container) => {
  const none = (n: number, unlimited: boolean) => (unlimited ? "none" : n)
  const r = c.resources
  return {
    cpu: none(r.cpuQuota, r.cpuQuota <= 0),
    cpuPeriod: r.cpuPeriod,
    nanoCpus: r.nanoCpus,
    memory: none(r.memory, r.memory === 0 || r.memory >= unlimitedMemory),
    swap: none(r.memorySwap, r.memorySwap === 0 || r.memorySwap === -1 || r.memorySwap >= unlimitedMemory),
    pids: none(r.pidsLimit, r.pidsLimit <= 0),
  }
}

/** What must be identical before and after: the parts of each container a fault may change. */
const snapshot = async () => {
  const out: Record<string, unknown> = {}
  for (const name of names) {
    const c: Container = await call(engine.inspect(name))
    out[name] = {
      status: c.state.status,
      networks: Object.fromEntries(Object.entries(c.networks).map(([n, e]) => [n, { aliases: e.aliases.filter((x) => !c.id.startsWith(x)).sort(), links: e.links, ipam: e.ipamIpv4 }])),
      resources: limits(c),
      // Rules and qdiscs inside the namespace: no `shiftup:` rule, the default qdisc.
      rules: c.state.pid > 0 ? inNamespace(c.state.pid, "iptables", ["-S"]).split("\n").filter((l) => l.includes("shiftup:")) : "not running",
      qdisc: c.state.pid > 0 ? inNamespace(c.state.pid, "tc", ["qdisc", "show"]).split("\n").filter((l) => l.includes("tbf")) : "not running",
    }
  }
  const archive = await call(engine.getArchive(`${world}-h`, "/etc/app.conf"))
  out["file"] = archive.includes(Buffer.from(conf))
  out["rogue"] = (await call(engine.list({ all: true, labels: ["shiftup.fault"] }))).filter((x) => x.name.includes(String(roguePort))).map((x) => x.name)
  return out
}

let before: Record<string, unknown> = {}

beforeAll(async () => {
  await call(ensureImages(engine, { only: ["busybox", "rogue"] }))
  roguePort = await freePort()
  await call(engine.createNetwork(`${world}-net`, labels))
  for (const name of names)
    await call(engine.run({ name, image: "shiftup-lab/busybox:latest", command: ["sleep", "3600"], labels, network: `${world}-net`, aliases: [name.slice(-1)] }))
  await call(engine.putArchive(`${world}-h`, "/etc", pack([{ path: "app.conf", type: "file", content: Buffer.from(conf), mode: 0o640 }])))
  before = await snapshot()
  expect((before[`${world}-a`] as { status: string }).status).toBe("running")
  expect(before["file"]).toBe(true)
}, 120_000)

afterAll(async () => {
  await call(Docker.reap({ runIds: [world] }).pipe(Effect.provideService(Docker.DockerEngine, engine)))
  engine.close()
})

/** Records of a run's ledger, in order: run, intent/applied × 9, rolled-back × 9, end. */
const records = (state: string) => ledgerFiles(state).flatMap(readLedger)

const trial = async (seed: number, mode: "recover" | "watchdog") => {
  const random = rng(seed)
  const state = tempDir()
  // The kill point: after `k` ledger records (0: before the ledger exists), plus a few ms.
  const k = mode === "watchdog" ? 1 + Math.floor(random() * 28) : Math.floor(random() * 29)
  const extraMs = Math.floor(random() * 25)
  const env = { SHIFTUP_FIXTURE_PREFIX: world, SHIFTUP_FIXTURE_ROGUE_PORT: String(roguePort), SHIFTUP_FIXTURE_HOLD: "100" }
  const p = spawnCli(["run", fixture("docker-torture.ts"), "--state-dir", state, ...(mode === "watchdog" ? ["--watchdog"] : [])], { env })
  const context = `seed ${seed} (${mode}, kill after ${k} ledger records + ${extraMs} ms)`
  if (k === 0) await new Promise((r) => setTimeout(r, 200 + extraMs * 20))
  else
    await waitFor(`${k} ledger records`, () => records(state).length >= k || !p.running(), { timeoutMs: 30_000 }).catch((e: unknown) => {
      throw new Error(`${context}: ${String(e)}\n${p.output()}`)
    })
  await new Promise((r) => setTimeout(r, extraMs))
  p.child.kill("SIGKILL")
  await p.exited
  if (mode === "recover") {
    const r = await runCli(["recover", "--state-dir", state], { timeoutMs: 60_000 })
    expect(r.code, `${context}: recover\n${r.output}`).toBe(0)
    expect(r.output, context).not.toContain("FAILED")
  } else if (records(state).some((r) => r.type === "intent")) {
    // The switch alone, no recover: its report appears once it has replayed everything.
    const report = join(state, "watchdog", `${p.pid}.json`)
    await waitFor(`${context}: the watchdog's report`, () => existsSync(report), { timeoutMs: 20_000 })
  }
  const after = await snapshot()
  expect(after, context).toEqual(before)
  const pending = records(state).filter((r) => r.type === "intent").length - records(state).filter((r) => r.type === "rolled-back").length
  expect(pending, `${context}: compensations still pending in the ledger`).toBe(0)
}

const base = Number(process.env["SHIFTUP_TORTURE_SEED"] ?? Date.now() % 1_000_000)

describe("crash torture: SIGKILL during Docker experiments", () => {
  it.each(Array.from({ length: 20 }, (_, i) => base + i))("then shiftup recover restores the world (seed %i)", (seed) => trial(seed, "recover"), 90_000)
  it.each(Array.from({ length: 6 }, (_, i) => base + 100 + i))("then the --watchdog alone restores the world (seed %i)", (seed) => trial(seed, "watchdog"), 90_000)
})
