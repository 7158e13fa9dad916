/**
 * The adapter shape of docs/adapters.md, proven by a fake adapter written only against it
 * (test/fixtures/fake-adapter/: targets, a fault whose compensation kind is declared once with a
 * Schema, its compensator, a probe, a reaper). Through a real run: its members and endpoints
 * reach planning (egress check, fingerprint), its own preflight refuses, its fault is injected
 * with the compensation ledgered under its kind and the module that provides it, its probe
 * observes, and the rollback restores the world. After a SIGKILL of the runner, `Recover.recover`
 * — in a fresh import, given nothing but the state dir — loads the compensator from the module
 * the ledger names and restores the world; the reaper removes what a run left behind.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import * as Expect from "../../src/Expect.ts"
import * as Experiment from "../../src/Experiment.ts"
import { plan, runPromise as run } from "../../src/Runner.ts"
import * as FakeAdapter from "../fixtures/fake-adapter/index.ts"
import { providerModule } from "../fixtures/fake-adapter/internal/provider.ts"
import * as World from "../fixtures/fake-adapter/internal/world.ts"
import { fixture, ledgerFiles, readLedger, spawnCli, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"

useProcessCleanup()

// A service that answers like Redis (`+PONG` to anything): a data store, found only by its handshake.
let redisLike: net.Server
let redisPort = 0
const handshakes: Array<string> = []
beforeAll(async () => {
  redisLike = net.createServer((s) =>
    s.on("data", (d) => {
      handshakes.push(String(d))
      s.end("+PONG\r\n")
    }),
  )
  await new Promise<void>((resolve) => redisLike.listen(0, "127.0.0.1", () => resolve()))
  redisPort = (redisLike.address() as net.AddressInfo).port
})
afterAll(() => new Promise<void>((resolve) => redisLike.close(() => resolve())))

/** A world with services `alpha` (lab), `beta` (innocently named, answering like Redis) and `vault` (protected). */
const world = () => {
  const dir = tempDir("shiftup-fake-world-")
  mkdirSync(dir, { recursive: true })
  World.write(dir, "alpha", { env: "lab", host: "127.0.0.1", port: 1, frozen: false })
  World.write(dir, "beta", { env: "lab", host: "127.0.0.1", port: redisPort, frozen: false })
  World.write(dir, "vault", { env: "lab", host: "127.0.0.1", port: 1, frozen: false, protected: true })
  return dir
}

const experiment = (target: FakeAdapter.ServiceTarget, extra: Partial<Experiment.Definition> = {}) =>
  Experiment.make({
    id: "fake.freeze-observed",
    title: "A frozen fake service is observed frozen, and thawed after",
    targets: { target },
    hypothesis: [Expect.that(FakeAdapter.frozen(target), false)],
    method: [FakeAdapter.freeze(target), Expect.that(FakeAdapter.frozen(target), true)],
    ...extra,
  })

describe("a fake adapter through a real run", () => {
  it("is planned from its members' facts, injected under its declared kind, observed, and rolled back", async () => {
    const dir = world()
    const stateDir = tempDir()
    const alpha = FakeAdapter.services("alpha", { dir, names: ["alpha"], environment: "lab" })
    const j = await run(experiment(alpha), { stateDir, journal: false })
    expect(j.status, j.summary).toBe("passed")
    expect(j.plan?.targets[0]).toMatchObject({ id: "alpha", kind: "fake-service", effective: "lab", population: 3, members: [`${dir}/alpha`] })
    // Frozen during the method (the probe saw it), thawed after; no marker left.
    expect(World.read(dir, "alpha").frozen).toBe(false)
    expect(World.markers(dir)).toEqual([])
    // The ledger names the kind, the module a fresh process loads it from, and the record the schema describes.
    const records = ledgerFiles(stateDir).flatMap(readLedger)
    const intent = records.find((r) => r.type === "intent")
    expect(intent).toMatchObject({ module: providerModule, compensation: { kind: "fake.thaw", target: "alpha", dir, services: [{ name: "alpha", frozen: false }] } })
    expect(records.some((r) => r.type === "rolled-back" && r.seq === intent?.seq)).toBe(true)
  })

  it("refuses a member its own preflight refuses, before anything is touched", async () => {
    const dir = world()
    const vault = FakeAdapter.services("vault", { dir, names: ["vault"], environment: "lab" })
    const j = await run(experiment(vault), { stateDir: tempDir(), journal: false })
    expect(j.status).toBe("refused")
    expect(j.plan?.decisions.find((d) => !d.allowed)).toMatchObject({ rule: "fake.protected", target: "vault" })
    expect(World.read(dir, "vault").frozen).toBe(false)
  })

  it("its members' endpoints are egress-checked and fingerprinted: a data store found by its handshake is refused", async () => {
    const dir = world()
    const beta = FakeAdapter.services("beta", { dir, names: ["beta"], environment: "lab" })
    const before = handshakes.length
    const j = await plan(experiment(beta, { policy: { denyDataStores: true } }), { stateDir: tempDir(), journal: false })
    expect(j.status).toBe("refused")
    expect(j.plan?.targets[0]?.dataStore).toMatchObject({ is: true, engine: "redis" })
    expect(j.plan?.contacts?.map((c) => `${c.target} ${c.address}`)).toContain(`beta 127.0.0.1:${redisPort}`)
    expect(handshakes.length).toBeGreaterThan(before)
    expect(j.plan?.decisions.find((d) => !d.allowed)?.rule).toBe("experiment.deny-data-stores")
    expect(World.read(dir, "beta").frozen).toBe(false)
  })
})

describe("after a SIGKILL of the runner", () => {
  it("Recover.recover, in a fresh import, restores the world from the ledger alone; the reaper removes leftovers", async () => {
    const dir = world()
    const stateDir = tempDir()
    const runner = spawnCli(["run", fixture("fake-adapter-hold.ts"), "--state-dir", stateDir], { env: { SHIFTUP_FIXTURE_DIR: dir, SHIFTUP_FIXTURE_SERVICE: "alpha" } })
    await waitFor("the freeze applied", () => ledgerFiles(stateDir).flatMap(readLedger).some((r) => r.type === "applied"), { proc: runner, timeoutMs: 30_000 })
    runner.child.kill("SIGKILL")
    await runner.exited
    expect(World.read(dir, "alpha").frozen).toBe(true)
    const [left] = World.markers(dir)
    expect(left).toBeDefined()

    // Nothing of the adapter is loaded any more: recover finds its compensator through the ledger.
    vi.resetModules()
    const Recover = await import("../../src/Recover.ts")
    const report = await Effect.runPromise(Recover.recover({ stateDir }))
    expect(report.items.map((i) => `${i.fault}:${i.outcome}`)).toEqual(["freeze alpha:restored"])
    expect(World.read(dir, "alpha").frozen).toBe(false)
    expect(World.markers(dir)).toEqual([])
    // Idempotent: nothing is left to replay.
    expect((await Effect.runPromise(Recover.recover({ stateDir }))).items).toEqual([])

    // A marker of a run the ledger never covered (a crash before its intent) is the reaper's.
    const runId = left?.runId ?? "?"
    World.leaveMarker(World.marker(dir, runId, "alpha"))
    World.leaveMarker(World.marker(dir, "20261207T000000-abcdef", "alpha"))
    const reaped = await Effect.runPromise(FakeAdapter.reap(dir, { runIds: [runId] }))
    expect(reaped.map((r) => r.outcome)).toEqual(["removed"])
    expect(World.markers(dir).map((m) => m.runId)).toEqual(["20261207T000000-abcdef"])
    expect(readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")).frozen)).toEqual([false, false, false])
  })
})

// Keeps the world helpers honest: a write is atomic (no temporary file is left behind).
it("the fake world writes whole files", () => {
  const dir = tempDir()
  World.write(dir, "x", { env: "lab", host: "127.0.0.1", port: 1, frozen: true })
  writeFileSync(join(dir, "note.txt"), "")
  expect(readdirSync(dir).sort()).toEqual(["note.txt", "x.json"])
})
