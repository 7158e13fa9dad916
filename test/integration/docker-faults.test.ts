/**
 * Docker faults through the real runner against a real engine. For each fault: real containers
 * (labelled with this file's run label), a snapshot of what the engine and the kernel show
 * (state, networks and aliases, resources, effective cgroup limits, file content/mode/owner), a
 * run that injects the fault and checks its effect during the method, then the same snapshot
 * after rollback. Then each ledgered compensation is replayed twice after the fault was applied
 * again by hand: the first replay restores, the second does nothing (no engine event at all).
 * Without an engine these tests fail (the global setup says how to opt out); they never skip.
 */
import { randomBytes } from "node:crypto"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Expect, Experiment, Probe, Runner, run, Compensation, type Fault, type Journal } from "../../src/index.ts"
import { Ledger, RunContext } from "../../src/advanced/index.ts"
import { container, containers, type ContainerTarget } from "../../src/docker/targets.ts"
import * as Engine from "../../src/docker/engine.ts"
import * as Faults from "../../src/docker/index.ts"
import { pack, unpack } from "../../src/internal/tar.ts"
import { ensureImageMap } from "../../src/testing/docker/images.ts"
import { faultOf } from "../../src/internal/capability.ts"

const testRun = `faults-${randomBytes(4).toString("hex")}`
const engine = Engine.make()
const stateDirs: Array<string> = []
let busybox = ""
const timings: Array<{ readonly fault: string; readonly injectMs: number; readonly rollbackMs: number }> = []

const call = <A>(e: Effect.Effect<A, Engine.EngineCallError>): Promise<A> => Effect.runPromise(Effect.mapError(e, (x) => new Error(`${x.op}: ${x.detail}`)))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  // No engine: this fails the file (it never skips).
  await call(engine.ping)
  const images = await Effect.runPromise(ensureImageMap(engine, { only: ["busybox", "rogue"] }))
  busybox = images.busybox ?? "missing busybox image"
  // rogueListener runs its default image, `shiftup-lab/rogue:latest`, which this tags.
  if (images.rogue === undefined) throw new Error("no rogue image")
})

afterAll(async () => {
  const leftovers = await call(engine.list({ all: true, labels: [`shiftup.run=${testRun}`] }))
  await Promise.all(leftovers.map((c) => call(engine.remove(c.id))))
  for (const n of await call(engine.networks([`shiftup.run=${testRun}`]))) await call(engine.removeNetwork(n.id))
  for (const d of stateDirs) rmSync(d, { recursive: true, force: true })
  engine.close()
  if (timings.length > 0) console.log(`inject/rollback ms:\n${timings.map((t) => `  ${t.fault}: inject ${t.injectMs}, rollback ${t.rollbackMs}`).join("\n")}`)
})

let seq = 0
const start = async (spec: Omit<Engine.CreateSpec, "image" | "labels" | "name"> & { readonly labels?: Record<string, string> } = {}) => {
  const name = `${testRun}-${++seq}`
  const id = await call(engine.run({ command: ["sleep", "3600"], ...spec, name, image: busybox, labels: { "shiftup.run": testRun, ...spec.labels } }))
  return { id, name, target: container(name, { environment: "lab" }) }
}

const stateDir = () => {
  const d = mkdtempSync(join(tmpdir(), "shiftup-docker-faults-"))
  stateDirs.push(d)
  return d
}

/** Effective limits as the kernel applies them (cgroup v1, cgroupfs driver); empty when not running. */
const cgroup = (id: string): Record<string, string> => {
  const files = { memory: "memory/memory.limit_in_bytes", memsw: "memory/memory.memsw.limit_in_bytes", cfsQuota: "cpu/cpu.cfs_quota_us", cfsPeriod: "cpu/cpu.cfs_period_us", pids: "pids/pids.max" }
  const out: Record<string, string> = {}
  for (const [k, f] of Object.entries(files)) {
    const [ctl, file] = f.split("/") as [string, string]
    const path = `/sys/fs/cgroup/${ctl}/docker/${id}/${file}`
    if (existsSync(path)) out[k] = readFileSync(path, "utf8").trim()
  }
  return out
}

/**
 * What must be the same before the fault and after rollback. `ip: false` for faults that stop
 * the container: a start takes a dynamic address again, which may differ (two containers started
 * at once were seen to swap theirs); network, aliases and static addresses stay.
 */
const snapshot = async (id: string, options: { readonly ip?: boolean } = {}) => {
  const c = await call(engine.inspect(id))
  return {
    status: c.state.status,
    running: c.state.running,
    paused: c.state.paused,
    restartPolicy: c.restartPolicy,
    networks: Object.fromEntries(Object.entries(c.networks).map(([n, e]) => [n, { networkId: e.networkId, aliases: [...e.aliases].sort(), ipamIpv4: e.ipamIpv4, ...(options.ip === false ? {} : { ipv4: e.ipv4 }) }])),
    publishedPorts: c.publishedPorts,
    resources: c.resources,
    cgroup: cgroup(id),
  }
}

const noIp = { ip: false }

const num = (h: Buffer, from: number, len: number) => Number.parseInt(h.subarray(from, from + len).toString("ascii").replace(/\0.*$/s, "").trim() || "0", 8)

/** A file as the engine's archive shows it: content, mode, owner, mtime. */
const fileOf = async (id: string, path: string) => {
  const archive = await call(engine.getArchive(id, path))
  const [entry] = unpack(archive)
  // First real header (skipping PAX records) for the owner and mtime.
  let offset = 0
  let h = archive.subarray(0, 512)
  while (offset + 512 <= archive.length && ["x", "g", "L"].includes(String.fromCharCode(archive[offset + 156] ?? 48))) {
    offset += 512 + Math.ceil(num(archive, offset + 124, 12) / 512) * 512
    h = archive.subarray(offset, offset + 512)
  }
  return { content: entry?.content.toString("utf8"), mode: entry === undefined ? undefined : entry.mode & 0o7777, uid: num(h, 108, 8), gid: num(h, 116, 8), mtime: num(h, 136, 12) }
}

const statusProbe = (target: ContainerTarget, id: string) =>
  Probe.make({ id: `status of ${target.id}`, target, observe: () => call(engine.inspect(id)).then((c) => c.state.status) })

const runIt = async (e: Experiment.Experiment, runId = `${testRun}-r${++seq}`) => {
  const j = await run(e, { stateDir: stateDir(), journal: false, runId })
  expect(j.status, `${j.summary}\n${JSON.stringify(j.errors)}\n${JSON.stringify(j.steps.filter((s) => s.outcome !== "ok" && s.outcome !== "held"))}`).toBe("passed")
  return j
}

const intents = (j: Journal.Journal) => Ledger.read(j.ledger as string).flatMap((r) => (r.type === "intent" ? [r] : []))

const record = (j: Journal.Journal) => {
  for (const s of j.steps.filter((x) => x.kind === "fault")) {
    const rb = j.rollbacks.find((r) => r.fault === s.id)
    timings.push({ fault: s.id.replace(testRun, "…"), injectMs: s.durationMs, rollbackMs: rb?.durationMs ?? -1 })
  }
}

/** Changes to containers (of this file's and of `runId`'s) while `f` runs and 400 ms after, as engine events. */
const eventsDuring = async (runId: string, f: () => Promise<void>) => {
  const t0 = BigInt(Date.now()) * 1_000_000n
  const abort = new AbortController()
  const seen: Array<string> = []
  const collecting = (async () => {
    for await (const e of engine.events({ sinceS: Math.floor(Date.now() / 1000) - 1 }, abort.signal)) {
      const run = e.attributes["shiftup.run"]
      // `archive-path` is a read (the archive compensator compares before it writes): not a change.
      if (e.type === "container" && e.action !== "archive-path" && e.timeNano >= t0 && (run === testRun || run === runId)) seen.push(`${e.action} ${e.attributes["name"] ?? e.id}`)
    }
  })()
  await sleep(150)
  await f()
  await sleep(400)
  abort.abort()
  await collecting
  return seen
}

const replay = (c: Compensation.Compensation) => {
  const compensator = Faults.compensators[c.kind]
  if (compensator === undefined) throw new Error(`no compensator for ${c.kind}`)
  return Effect.runPromise(Compensation.specOf(compensator).apply(c))
}

/** Applies `fault` again outside the runner (as the run `runId`), to give its compensation something to undo. */
const applyAgain = (fault: Fault.Fault, runId: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      yield* faultOf(fault).capture
      yield* faultOf(fault).inject
    }).pipe(Effect.provideService(RunContext, { ...RunContext.defaultValue(), runId })),
  )

/**
 * After the run: the fault applied again by hand, then the ledgered compensation replayed
 * twice — the first restores `expected`, the second changes nothing (no engine event).
 */
const idempotent = async (j: Journal.Journal, fault: Fault.Fault, check: () => Promise<void>, options: { readonly seen?: boolean } = {}) => {
  const [intent] = intents(j)
  if (intent === undefined) throw new Error("no intent in the ledger")
  // The ledgered record decodes against its kind's schema, every field accounted for.
  const spec = Compensation.specOf(Faults.compensators[intent.compensation.kind]!)
  expect(Exit.isSuccess(Schema.decodeUnknownExit(spec.schema as Schema.Codec<unknown>)(intent.compensation, { onExcessProperty: "error" })), JSON.stringify(intent.compensation).slice(0, 300)).toBe(true)
  expect(spec.settleMs).toBeGreaterThan(0)
  await applyAgain(fault, j.runId)
  // With the fault in place again, the compensator's check sees what differs (a restart, once
  // over, leaves nothing to see); after a replay, nothing.
  if (options.seen !== false) expect(await Effect.runPromise(spec.verify!(intent.compensation))).toEqual(expect.any(String))
  await replay(intent.compensation)
  expect(await Effect.runPromise(spec.verify!(intent.compensation))).toBeUndefined()
  await check()
  const events = await eventsDuring(j.runId, () => replay(intent.compensation))
  expect(events, "second replay must not touch anything").toEqual([])
  await check()
  return intent.compensation
}

describe("Docker faults: inject, observe during the method, roll back exactly", () => {
  it("stop: exited during the method, running again after (and the compensation is idempotent)", async () => {
    const net1 = await call(engine.createNetwork(`${testRun}-net-stop`, { "shiftup.run": testRun }))
    const a = await start({ network: `${testRun}-net-stop`, aliases: ["auth"] })
    const before = await snapshot(a.id, noIp)
    const fault = Faults.stop(a.target, { timeoutS: 1 })
    const j = await runIt(Experiment.make({ id: "faults.stop", title: "stop", targets: { a: a.target }, method: [fault, Expect.that(statusProbe(a.target, a.id), "exited")] }))
    record(j)
    expect(j.rollbacks[0]?.compensation).toBe(`start ${a.name} again (was running)`)
    expect(await snapshot(a.id, noIp)).toEqual(before)
    const c = await idempotent(j, fault, async () => expect(await snapshot(a.id, noIp)).toEqual(before))
    expect(c).toMatchObject({ kind: "docker.start", containers: [a.id], paused: [] })
    expect(before.networks[`${testRun}-net-stop`]?.networkId).toBe(net1)
  })

  it("kill (SIGKILL): exited 137 during, running after; replay leaves a container that is already running alone", async () => {
    const a = await start({ restartPolicy: "unless-stopped" })
    const before = await snapshot(a.id, noIp)
    const fault = Faults.kill(a.target)
    const exit = Probe.make({ id: "exit", target: a.target, observe: () => call(engine.inspect(a.id)).then((c) => `${c.state.status} ${c.state.exitCode}`) })
    const j = await runIt(Experiment.make({ id: "faults.kill", title: "kill", targets: { a: a.target }, method: [fault, Expect.that(exit, "exited 137")] }))
    record(j)
    expect(j.rollbacks[0]?.compensation).toBe(`start ${a.name} again if not running (was running)`)
    expect(await snapshot(a.id, noIp)).toEqual(before)
    await idempotent(j, fault, async () => expect(await snapshot(a.id, noIp)).toEqual(before))
  })

  it("crash (SIGKILL from the host): restart policy 'always' brings it back by itself during the method; the engine saw a death, not an API kill", async () => {
    const a = await start({ restartPolicy: "always" })
    const pidBefore = (await call(engine.inspect(a.id))).state.pid
    const fault = Faults.crash(a.target)
    const back = Probe.make({ id: "back", target: a.target, observe: () => call(engine.inspect(a.id)).then((c) => c.state.running && c.restartCount >= 1 && c.state.pid !== pidBefore) })
    let j: Journal.Journal | undefined
    const runId = `${testRun}-r${++seq}`
    const events = await eventsDuring(runId, async () => {
      j = await runIt(Experiment.make({ id: "faults.crash.always", title: "crash", targets: { a: a.target }, method: [fault, Expect.eventually(back, true, { within: "10 seconds", every: "20 millis" })] }), runId)
    })
    if (j === undefined) throw new Error("no journal")
    record(j)
    expect(j.rollbacks[0]).toMatchObject({ outcome: "restored", compensation: `start ${a.name} again if not running (was running; its restart policy may restart it first)` })
    // A host-side SIGKILL: the engine reports the process's death, never an API `kill` (the
    // restart itself is proven during the method: a new pid, restart count ≥ 1, running).
    expect(events).toContain(`die ${a.name}`)
    expect(events).not.toContain(`kill ${a.name}`)
    const after = await call(engine.inspect(a.id))
    expect(after.state.running).toBe(true)
    expect(after.restartCount).toBeGreaterThanOrEqual(1)
  })

  it("crash with restart policy 'no': exited 137 during the method, started again by the rollback; the compensation is idempotent", async () => {
    const a = await start({ restartPolicy: "no" })
    const fault = Faults.crash(a.target)
    const exit = Probe.make({ id: "exit", target: a.target, observe: () => call(engine.inspect(a.id)).then((c) => `${c.state.status} ${c.state.exitCode}`) })
    const j = await runIt(Experiment.make({ id: "faults.crash.no", title: "crash", targets: { a: a.target }, method: [fault, Expect.eventually(exit, "exited 137", { within: "5 seconds", every: "20 millis" })] }))
    record(j)
    expect(j.rollbacks[0]?.outcome).toBe("restored")
    expect((await call(engine.inspect(a.id))).state.status).toBe("running")
    // Crash it again by hand, replay the ledgered compensation twice: started once, then nothing.
    const [intent] = intents(j)
    if (intent === undefined) throw new Error("no intent in the ledger")
    expect(intent.compensation).toMatchObject({ kind: "docker.start", containers: [a.id], paused: [] })
    await applyAgain(fault, j.runId)
    for (let i = 0; i < 100 && (await call(engine.inspect(a.id))).state.running; i++) await sleep(20)
    expect((await call(engine.inspect(a.id))).state.status).toBe("exited")
    await replay(intent.compensation)
    expect((await call(engine.inspect(a.id))).state.status).toBe("running")
    expect(await eventsDuring(j.runId, () => replay(intent.compensation))).toEqual([])
  })

  it("crash refuses a process that is not the container's (an engine elsewhere, a reused pid) before killing anything", async () => {
    const a = await start()
    const real = await call(engine.inspect(a.id))
    // The engine's answer as an engine on another machine would give it: a pid that is, on this
    // machine, some other process (this test's own).
    const elsewhere: Engine.DockerEngine = { ...engine, inspect: (id) => Effect.map(engine.inspect(id), (c) => ({ ...c, state: { ...c.state, pid: process.pid } })) }
    const fault = Faults.crash(a.target)
    const j = await Effect.runPromise(
      Runner.run(Experiment.make({ id: "faults.crash.elsewhere", title: "crash", targets: { a: a.target }, method: [fault] }), { stateDir: stateDir(), journal: false, runId: `${testRun}-r${++seq}` }).pipe(
        Effect.provideService(Engine.DockerEngine, elsewhere),
      ),
    )
    expect(j.status).not.toBe("passed")
    expect(JSON.stringify(j.errors)).toMatch(/is not container .* is the engine on another machine or in a VM\?/)
    const now = await call(engine.inspect(a.id))
    expect(now.state.pid).toBe(real.state.pid)
    expect(now.state.running).toBe(true)
  })

  it("restart: a new start time during the method; running after", async () => {
    const a = await start()
    const before = await snapshot(a.id, noIp)
    const startedAt = (await call(engine.inspect(a.id))).state.startedAt
    const fault = Faults.restart(a.target, { timeoutS: 1 })
    const started = Probe.make({ id: "started", target: a.target, observe: () => call(engine.inspect(a.id)).then((c) => c.state.running && c.state.startedAt !== startedAt) })
    const j = await runIt(Experiment.make({ id: "faults.restart", title: "restart", targets: { a: a.target }, method: [fault, Expect.that(started, true)] }))
    record(j)
    expect(j.rollbacks[0]?.compensation).toBe(`ensure ${a.name} running (a restart cannot be undone)`)
    expect(await snapshot(a.id, noIp)).toEqual(before)
    await idempotent(j, fault, async () => expect(await snapshot(a.id, noIp)).toEqual(before), { seen: false })
  })

  it("squeeze, no limits before: limits visible in inspect and cgroup during; the cgroup exactly as before after, inspect with the documented 'no limit' values", async () => {
    const a = await start()
    const before = await snapshot(a.id)
    expect(before.resources).toMatchObject({ cpuQuota: 0, nanoCpus: 0, memory: 0, memorySwap: 0, pidsLimit: 0 })
    const mib32 = 32 * 1_048_576
    const fault = Faults.squeeze(a.target, { cpus: 0.2, memory: mib32, pids: 20 })
    const seen = Probe.make({ id: "limits", target: a.target, observe: async () => ({ ...(await snapshot(a.id)).resources, cgroup: cgroup(a.id) }) })
    const during = Expect.that(seen, Expect.predicate("squeezed", (v: { cpuQuota: number; memory: number; memorySwap: number; pidsLimit: number; cgroup: Record<string, string> }) =>
      v.cpuQuota === 20_000 && v.memory === mib32 && v.memorySwap === mib32 && v.pidsLimit === 20 && v.cgroup["cfsQuota"] === "20000" && v.cgroup["memory"] === String(mib32) && v.cgroup["memsw"] === String(mib32) && v.cgroup["pids"] === "20"))
    const j = await runIt(Experiment.make({ id: "faults.squeeze.unlimited", title: "squeeze", targets: { a: a.target }, method: [fault, during] }))
    record(j)
    expect(j.rollbacks[0]?.compensation).toBe(`restore the limits of ${a.name}: cpuQuota unlimited, memory unlimited, memorySwap unlimited, pidsLimit unlimited`)
    // What the API shows afterwards: "no limit" as -1 and 2^63-4096 instead of 0 (the update API cannot write 0).
    const expectedAfter = { ...before, resources: { ...before.resources, cpuQuota: -1, memory: Faults.unlimitedMemory, memorySwap: Faults.unlimitedMemory } }
    const after = await snapshot(a.id)
    expect(after.cgroup).toEqual(before.cgroup)
    expect(after).toEqual(expectedAfter)
    await idempotent(j, fault, async () => expect(await snapshot(a.id)).toEqual(expectedAfter))
  })

  it("squeeze, finite limits before (CpuQuota+period, NanoCpus, swap finite and -1): restored exactly in inspect and cgroup", async () => {
    const group = { "shiftup.test.group": `${testRun}-finite` }
    const q = await start({ labels: group })
    const n = await start({ labels: group })
    await call(engine.update(q.id, { cpuQuota: 40_000, cpuPeriod: 50_000, memory: 256 * 1_048_576, memorySwap: 512 * 1_048_576, pidsLimit: 100 }))
    // As `--memory 128m --memory-swap -1` at create: memsw unlimited in the cgroup, -1 in inspect.
    await call(engine.update(n.id, { nanoCpus: 1_500_000_000, memory: 128 * 1_048_576, memorySwap: Faults.unlimitedMemory, pidsLimit: 50 }))
    await call(engine.update(n.id, { memorySwap: -1 }))
    const [bq, bn] = [await snapshot(q.id), await snapshot(n.id)]
    expect(bn.resources.memorySwap).toBe(-1)
    const target = containers("finite", { select: { labels: group }, environment: "lab" })
    const fault = Faults.squeeze(target, { cpus: 0.5, memory: 64 * 1_048_576, pids: 10 })
    const seen = Probe.make({ id: "limits", target, observe: async () => [cgroup(q.id), cgroup(n.id)].map((c) => `${c["cfsQuota"]}/${c["cfsPeriod"]} ${c["memory"]} ${c["pids"]}`) })
    const during = Expect.that(seen, Expect.equals([`25000/50000 ${64 * 1_048_576} 10`, `50000/100000 ${64 * 1_048_576} 10`]))
    const j = await runIt(Experiment.make({ id: "faults.squeeze.finite", title: "squeeze", targets: { target }, method: [fault, during] }))
    record(j)
    expect(await snapshot(q.id)).toEqual(bq)
    expect(await snapshot(n.id)).toEqual(bn)
    await idempotent(j, fault, async () => {
      expect(await snapshot(q.id)).toEqual(bq)
      expect(await snapshot(n.id)).toEqual(bn)
    })
  })

  it("tamper: new content and mode during; original content, mode, owner and mtime after", async () => {
    const a = await start()
    const path = "/etc/shiftup-app.conf"
    await call(engine.putArchive(a.id, "/etc", pack([{ path: "shiftup-app.conf", type: "file", content: Buffer.from("secure = true\n"), mode: 0o640, uid: 1000, gid: 1001, mtime: 1_700_000_000 }])))
    const before = await fileOf(a.id, path)
    expect(before).toEqual({ content: "secure = true\n", mode: 0o640, uid: 1000, gid: 1001, mtime: 1_700_000_000 })
    const state = await snapshot(a.id)
    const fault = Faults.tamper(a.target, { path, content: "secure = false\n", mode: 0o666 })
    const seen = Probe.make({ id: "file", target: a.target, observe: async () => {
      const f = await fileOf(a.id, path)
      return `${f.content} ${f.mode?.toString(8)} ${f.uid}:${f.gid}`
    } })
    const j = await runIt(Experiment.make({ id: "faults.tamper", title: "tamper", targets: { a: a.target }, budget: { maxDestroySteps: 1 }, method: [fault, Expect.that(seen, "secure = false\n 666 1000:1001")] }))
    record(j)
    expect(j.rollbacks[0]?.compensation).toBe(`restore ${path} in ${a.name} (14 bytes, mode 0640)`)
    expect(await fileOf(a.id, path)).toEqual(before)
    expect(await snapshot(a.id)).toEqual(state)
    const c = await idempotent(j, fault, async () => expect(await fileOf(a.id, path)).toEqual(before))
    expect(c).toMatchObject({ kind: "docker.archive-restore", path, dir: "/etc", files: [{ id: a.id, size: 14, mode: 0o640 }] })
  })

  it("tamper refuses a missing file and a file over 1 MiB before changing anything; squeeze refuses nonsense limits", async () => {
    const a = await start()
    await call(engine.putArchive(a.id, "/tmp", pack([{ path: "big.bin", type: "file", content: Buffer.alloc(Faults.maxTamperBytes + 1, 1) }])))
    const attempt = async (fault: Fault.Fault) => {
      const j = await run(Experiment.make({ id: "faults.refused", title: "refused", targets: { a: a.target }, budget: { maxDestroySteps: 1 }, method: [fault] }), { stateDir: stateDir(), journal: false })
      expect(j.status).not.toBe("passed")
      expect(intents(j)).toEqual([])
      return JSON.stringify(j.steps) + JSON.stringify(j.errors)
    }
    expect(await attempt(Faults.tamper(a.target, { path: "/etc/nope.conf", content: "x" }))).toContain("/etc/nope.conf does not exist")
    await expect(call(engine.getArchive(a.id, "/etc/nope.conf"))).rejects.toThrow(/404/)
    expect(await attempt(Faults.tamper(a.target, { path: "/tmp/big.bin", content: "x" }))).toContain(`is ${Faults.maxTamperBytes + 1} bytes; tamper saves at most`)
    expect((await fileOf(a.id, "/tmp/big.bin")).content?.length).toBe(Faults.maxTamperBytes + 1)
    expect(await attempt(Faults.squeeze(a.target, { memory: 1_048_576 }))).toContain("at least 6 MiB")
    expect(await attempt(Faults.squeeze(a.target, {}))).toContain("give at least one of cpus, memory, pids")
  })

  it("squeeze below current memory usage: the engine refuses, the injection fails with the usage, nothing is killed and nothing changes", async () => {
    const a = await start({ command: ["sh", "-c", 'a=$(head -c 30000000 /dev/zero | tr "\\0" x); sleep 3600; echo ${#a}'] })
    const deadline = Date.now() + 10_000
    while (Number(readFileSync(`/sys/fs/cgroup/memory/docker/${a.id}/memory.usage_in_bytes`, "utf8")) < 25_000_000) {
      if (Date.now() > deadline) throw new Error("the container never used 25 MB")
      await sleep(100)
    }
    const before = await snapshot(a.id)
    const j = await run(Experiment.make({ id: "faults.squeeze.below", title: "below usage", targets: { a: a.target }, method: [Faults.squeeze(a.target, { memory: 8 * 1_048_576 })] }), { stateDir: stateDir(), journal: false })
    expect(j.status).not.toBe("passed")
    expect(j.steps.find((s) => s.kind === "fault")?.message).toMatch(/unable to set memory limit to 8388608 \(current usage: \d+/)
    // The compensation ran and found nothing squeezed: inspect still shows 0, not the "no limit" stand-in.
    expect(j.rollbacks).toMatchObject([{ outcome: "restored" }])
    expect(await snapshot(a.id)).toEqual(before)
  })

  it("rogueListener: a labelled listener on the target's network and on 127.0.0.1 during; nothing left after", async () => {
    const netName = `${testRun}-net-rogue`
    await call(engine.createNetwork(netName, { "shiftup.run": testRun }))
    const a = await start({ network: netName, aliases: ["victim"] })
    const before = await snapshot(a.id)
    const port = await freePort()
    const runId = `${testRun}-rogue`
    const fault = Faults.rogueListener(a.target, { port })
    const seen = Probe.make({
      id: "rogue",
      target: a.target,
      observe: async () => {
        const [c] = await call(engine.list({ labels: [`shiftup.run=${runId}`, `shiftup.fault=${fault.id}`] }))
        const rogue = c === undefined ? undefined : await call(engine.inspect(c.id))
        return { networks: Object.keys(rogue?.networks ?? {}), open: await connects(port) }
      },
    })
    const j = await runIt(Experiment.make({ id: "faults.rogue", title: "rogue", targets: { a: a.target }, method: [fault, Expect.eventually(seen, Expect.equals({ networks: [netName], open: true }), { within: "5 seconds" })] }), runId)
    record(j)
    expect(j.rollbacks[0]?.compensation).toBe(`remove the rogue listener on port ${port} in network ${netName} (containers labelled shiftup.run=${runId}, shiftup.fault=${fault.id})`)
    expect(await call(engine.list({ all: true, labels: [`shiftup.run=${runId}`] }))).toEqual([])
    expect(await connects(port)).toBe(false)
    expect(await snapshot(a.id)).toEqual(before)
    await idempotent(j, fault, async () => {
      expect(await call(engine.list({ all: true, labels: [`shiftup.run=${runId}`] }))).toEqual([])
      expect(await snapshot(a.id)).toEqual(before)
    })
  })

  it("pause and stop on a 5-container selector with pick 2: population 5, two members, the other three untouched", async () => {
    const group = { "shiftup.test.group": `${testRun}-five` }
    const five = [await start({ labels: group }), await start({ labels: group }), await start({ labels: group }), await start({ labels: group }), await start({ labels: group })]
    const before = await Promise.all(five.map((c) => snapshot(c.id, noIp)))
    const target = containers("x", { select: { labels: group }, pick: 2, environment: "lab" })
    const statuses = Probe.make({ id: "statuses", target, observe: () => Promise.all(five.map((c) => call(engine.inspect(c.id)).then((x) => x.state.status))).then((s) => s.sort().join(",")) })
    const j = await runIt(
      Experiment.make({
        id: "faults.five",
        title: "five",
        targets: { x: target },
        budget: { maxPercent: 40 },
        method: [Faults.pause(target), Expect.that(statuses, "paused,paused,running,running,running"), Faults.stop(target, { timeoutS: 1 }), Expect.that(statuses, "exited,exited,running,running,running")],
      }),
    )
    record(j)
    expect(j.plan?.targets[0]?.population).toBe(5)
    expect(j.plan?.targets[0]?.members).toHaveLength(2)
    const members = j.plan?.targets[0]?.members ?? []
    const stopped = intents(j)[1]?.compensation
    expect(stopped).toMatchObject({ kind: "docker.start", containers: expect.arrayContaining([...members]), paused: expect.arrayContaining([...members]) })
    expect(await Promise.all(five.map((c) => snapshot(c.id, noIp)))).toEqual(before)
  })

  it("pause leaves a container that was already paused paused after rollback (it undoes only what it did)", async () => {
    const group = { "shiftup.test.group": `${testRun}-prepaused` }
    const a = await start({ labels: group })
    const b = await start({ labels: group })
    await call(engine.pause(b.id))
    const target = containers("pp", { select: { labels: group }, environment: "lab" })
    const j = await runIt(Experiment.make({ id: "faults.prepaused", title: "prepaused", targets: { pp: target }, method: [Faults.pause(target)] }))
    expect(intents(j)[0]?.compensation).toMatchObject({ kind: "docker.unpause", containers: [a.id] })
    expect((await call(engine.inspect(a.id))).state.status).toBe("running")
    expect((await call(engine.inspect(b.id))).state.status).toBe("paused")
    // A replay when nothing is paused any more is a no-op; one when it is paused again unpauses it.
    await replay(intents(j)[0]?.compensation as Compensation.Compensation)
    expect((await call(engine.inspect(a.id))).state.status).toBe("running")
    await call(engine.unpause(b.id))
  })

  it("stop, kill and crash of a container started with --rm are refused at plan time (docker.auto-remove): nothing could start it again; restart is allowed", async () => {
    const name = `${testRun}-autoremove`
    execFileSync("docker", ["run", "-d", "--rm", "--name", name, "--label", `shiftup.run=${testRun}`, busybox, "sleep", "3600"])
    const target = container(name, { environment: "lab" })
    for (const fault of [Faults.stop(target, { timeoutS: 1 }), Faults.kill(target), Faults.crash(target)]) {
      const j = await run(Experiment.make({ id: "faults.autoremove", title: "autoremove", targets: { t: target }, method: [fault] }), { stateDir: stateDir(), journal: false })
      expect(j.status, fault.id).toBe("refused")
      expect(j.refusal).toMatchObject({ rule: "docker.auto-remove", step: fault.id })
      expect(j.refusal?.reason).toContain("--rm")
      expect((await call(engine.inspect(name))).state.status).toBe("running")
    }
    // runIt: the restart passes (and rolls back) like any other.
    await runIt(Experiment.make({ id: "faults.autoremove-restart", title: "autoremove restart", targets: { t: target }, method: [Faults.restart(target, { timeoutS: 0 })] }))
    expect((await call(engine.inspect(name))).state.status).toBe("running")
  })
})

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer()
    s.on("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })

const connects = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port })
    s.setTimeout(1000)
    s.on("connect", () => {
      s.destroy()
      resolve(true)
    })
    s.on("error", () => resolve(false))
    s.on("timeout", () => {
      s.destroy()
      resolve(false)
    })
  })
