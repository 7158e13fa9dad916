/**
 * Network faults on real containers, through the real runner, measured with real traffic:
 * TCP connects and an HTTP download from the host to a container's bridge address, and a
 * client container whose loop probes the server by its aliases (`nc`) and logs what it saw.
 *
 * After every rollback: traffic flows again, the engine shows the same endpoints (aliases, links,
 * static addresses, driver options), no `shiftup:` iptables rule is left in the namespace, the
 * root qdiscs are the original ones — and replaying the ledgered compensation twice more through
 * its compensator changes nothing. No engine: every test fails (no skip).
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Dockerode from "dockerode"
import { Effect, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { container, type ContainerTarget } from "../../src/docker/targets.ts"
import * as EngineModule from "../../src/docker/engine.ts"
import type { Container, DockerEngine as Engine } from "../../src/docker/engine.ts"
import * as Netns from "../../src/docker/internal/netns.ts"
import * as Network from "../../src/docker/index.ts"
import { ensureImages } from "../../src/testing/docker/images.ts"
import { specOf, type Compensation } from "../../src/Compensation.ts"
import type { Fault } from "../../src/Fault.ts"
import type { Journal } from "../../src/Journal.ts"
import { Experiment, Probe, run } from "../../src/index.ts"

const unique = `nwt-${randomBytes(3).toString("hex")}`
const labels = { "shiftup.run": unique }
const engine: Engine = EngineModule.make({ timeoutMs: 20_000 })
const call = <A>(e: Effect.Effect<A, unknown>): Promise<A> => Effect.runPromise(e as Effect.Effect<A>)

// ---- the lab ----------------------------------------------------------------------------------

interface Lab {
  readonly netA: string
  readonly netB: string
  readonly subnetB: string
  readonly staticIp: string
  readonly srv: string
  readonly cli: string
  readonly srvName: string
  readonly cliName: string
}
let lab: Lab | undefined
const stateDirs: Array<string> = []

const L = (): Lab => {
  if (lab === undefined) throw new Error("the lab was not set up (see beforeAll)")
  return lab
}

/** A network with its own subnet (static addresses need one): the Engine API creates none, so dockerode directly. */
const createSubnetNetwork = async (name: string): Promise<{ readonly id: string; readonly subnet: string; readonly prefix: string }> => {
  const address = EngineModule.addressOf()
  const docker = new (Dockerode as unknown as new (o: object) => { createNetwork(o: object): Promise<{ readonly id: string }> })(
    address.startsWith("unix://") ? { socketPath: address.slice("unix://".length) } : { host: new URL(address.replace(/^tcp:/, "http:")).hostname, port: Number(new URL(address.replace(/^tcp:/, "http:")).port || 2375) },
  )
  let last: unknown
  for (let i = 0; i < 8; i++) {
    const prefix = `10.213.${1 + Math.floor(Math.random() * 250)}`
    const subnet = `${prefix}.0/24`
    try {
      const n = await docker.createNetwork({ Name: name, Labels: labels, CheckDuplicate: true, IPAM: { Config: [{ Subnet: subnet }] } })
      return { id: n.id, subnet, prefix }
    } catch (e) {
      last = e
      if (!/overlap/i.test(String((e as { message?: string }).message))) throw e
    }
  }
  throw new Error(`no free subnet for the test network: ${String(last)}`)
}

// The server: an HTTP server on 80 (a 1 MB blob) and another on 8080; the client probes the
// server by its alias on each network every 200 ms and logs `<n> <web> <web2>` (ok/fail).
const serverCommand = ["sh", "-c", "mkdir -p /w && head -c 1000000 /dev/zero > /w/blob && echo hello > /w/index.html && httpd -p 8080 -h /w && exec httpd -f -p 80 -h /w"]
const clientCommand = [
  "sh",
  "-c",
  "i=0; while true; do i=$((i+1)); a=fail; b=fail; echo | nc -w 1 web 80 >/dev/null 2>&1 && a=ok; echo | nc -w 1 web2 80 >/dev/null 2>&1 && b=ok; echo \"$i $a $b\"; sleep 0.2; done",
]

const inspect = (id: string) => call(engine.inspect(id))

/** The lab's busybox image (sh, nc, httpd, head…), built once per host. */
const busybox = async (): Promise<string> => {
  const [ref] = await call(ensureImages(engine, { only: ["busybox"] }))
  if (ref === undefined) throw new Error("ensureImages built no busybox image")
  return ref
}

/** The server's address on network A (the host reaches it through the bridge). */
const srvIp = async () => {
  const c = await inspect(L().srv)
  const ip = c.networks[`${unique}-a`]?.ipv4
  if (ip === undefined || ip === "") throw new Error("the server has no address on network A")
  return ip
}

beforeAll(async () => {
  // No engine: this throws and every test fails.
  await call(engine.ping)
  const image = await busybox()
  const netA = await call(engine.createNetwork(`${unique}-a`, labels))
  const b = await createSubnetNetwork(`${unique}-b`)
  const srvName = `${unique}-srv`
  const cliName = `${unique}-cli`
  const srv = await call(engine.run({ name: srvName, image, command: serverCommand, labels, network: `${unique}-a`, aliases: ["web"] }))
  const cli = await call(engine.run({ name: cliName, image, command: clientCommand, labels, network: `${unique}-a`, aliases: ["cli"] }))
  const staticIp = `${b.prefix}.50`
  // Every endpoint setting a reconnect must restore: aliases, a link, a static address, driver options.
  await call(engine.connect(b.id, srv, { networkId: b.id, aliases: ["web2", "www"], links: [`${cliName}:peer`], ipv4: "", ipamIpv4: staticIp, ipamIpv6: "", driverOpts: { "com.example.shiftup": "on" } }))
  await call(engine.connect(b.id, cli, { networkId: b.id, aliases: [], links: [], ipv4: "", ipamIpv4: "", ipamIpv6: "", driverOpts: {} }))
  lab = { netA, netB: b.id, subnetB: b.subnet, staticIp, srv, cli, srvName, cliName }
  // Steady state before anything: the client reaches the server on both networks, the host too.
  await expectFlowing("setup")
}, 120_000)

afterAll(async () => {
  const found = await call(engine.list({ all: true, labels: [`shiftup.run=${unique}`] }))
  for (const c of found) await call(engine.remove(c.id))
  for (const n of await call(engine.networks([`shiftup.run=${unique}`]))) await call(engine.removeNetwork(n.id))
  for (const d of stateDirs) rmSync(d, { recursive: true, force: true })
  engine.close()
}, 60_000)

const srvTarget = (): ContainerTarget => container(L().srvName, { environment: "lab" })
const cliTarget = (): ContainerTarget => container(L().cliName, { environment: "lab" })

// ---- measurements -----------------------------------------------------------------------------

type Outcome = "ok" | "refused" | "timeout" | "error"

/** One TCP connect from the host: its outcome and how long it took to know. */
const attempt = (host: string, port: number, timeoutMs: number): Promise<{ readonly outcome: Outcome; readonly ms: number; readonly code?: string }> =>
  new Promise((resolve) => {
    const started = performance.now()
    const socket = connect({ host, port })
    let settled = false
    const done = (outcome: Outcome, code?: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ outcome, ms: performance.now() - started, ...(code === undefined ? {} : { code }) })
    }
    const timer = setTimeout(() => done("timeout"), timeoutMs)
    socket.once("connect", () => done("ok"))
    socket.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" ? "refused" : "error", e.code))
  })

/** Many connects, `concurrency` at a time. */
const attempts = async (host: string, port: number, n: number, timeoutMs: number, concurrency = 10) => {
  const out: Array<Outcome> = []
  for (let i = 0; i < n; i += concurrency) out.push(...(await Promise.all(Array.from({ length: Math.min(concurrency, n - i) }, () => attempt(host, port, timeoutMs)))).map((r) => r.outcome))
  return out
}

/** Downloads `path` from the server over HTTP/1.0: body bytes and milliseconds from request to end. */
const download = (host: string, path: string, timeoutMs = 30_000): Promise<{ readonly bytes: number; readonly ms: number }> =>
  new Promise((resolve, reject) => {
    const socket = connect({ host, port: 80 })
    const chunks: Array<Buffer> = []
    let started = 0
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`download of ${path} took over ${timeoutMs} ms`))
    }, timeoutMs)
    socket.once("connect", () => {
      started = performance.now()
      socket.write(`GET ${path} HTTP/1.0\r\nHost: srv\r\n\r\n`)
    })
    socket.on("data", (c: Buffer) => chunks.push(c))
    socket.once("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
    socket.once("end", () => {
      clearTimeout(timer)
      const all = Buffer.concat(chunks)
      const head = all.indexOf("\r\n\r\n")
      resolve({ bytes: head === -1 ? 0 : all.length - head - 4, ms: performance.now() - started })
      socket.destroy()
    })
  })

/** The next `n` samples of the client's loop: `[web, web2]` as seen from inside the client. */
const clientSamples = async (n: number, timeoutMs = 30_000): Promise<ReadonlyArray<readonly [string, string]>> => {
  const lines = async () => (await call(engine.logs(L().cli))).split("\n").filter((l) => /^\d+ (ok|fail) (ok|fail)$/.test(l.trim()))
  const skip = (await lines()).length + 1 // the sample in progress may have started before now
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const all = await lines()
    if (all.length >= skip + n)
      return all.slice(skip, skip + n).map((l) => {
        const [, a = "", b = ""] = l.trim().split(" ")
        return [a, b] as const
      })
    if (Date.now() > deadline) throw new Error(`the client logged ${all.length - skip} of ${n} samples within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 150))
  }
}

/** Every `shiftup:` rule in a container's namespace (iptables and ip6tables, filter table). */
const shiftupRules = async (id: string) => {
  const pid = (await inspect(id)).state.pid
  const out: Array<string> = []
  for (const tool of ["iptables", "ip6tables"]) out.push(...(await call(Netns.inNetns(pid, tool, ["-w", "5", "-S"]))).split("\n").filter((l) => l.includes("shiftup:")))
  return out
}

/** Root qdiscs of a container by interface: `eth0 → noqueue 0:`. */
const rootQdiscs = async (id: string) => {
  const pid = (await inspect(id)).state.pid
  return Object.fromEntries((await call(Netns.qdiscs(pid))).filter((q) => q.root && q.dev !== "lo").map((q) => [q.dev, `${q.kind} ${q.handle}`]))
}

/** What the engine shows of a container's endpoints: what a reconnect must restore. */
const endpoints = (c: Container) =>
  Object.fromEntries(
    Object.entries(c.networks).map(([name, e]) => [
      name,
      { networkId: e.networkId, aliases: [...e.aliases].sort(), links: [...e.links].sort(), ipv4: e.ipv4, ipamIpv4: e.ipamIpv4, ipamIpv6: e.ipamIpv6, driverOpts: e.driverOpts },
    ]),
  )

const snapshot = async () => ({ srv: endpoints(await inspect(L().srv)), cli: endpoints(await inspect(L().cli)) })

/** Traffic flows: host → server (80 and 8080), client → server by both aliases. */
const expectFlowing = async (context: string) => {
  const ip = await srvIp()
  expect((await attempt(ip, 80, 2000)).outcome, `${context}: host → server:80`).toBe("ok")
  expect((await attempt(ip, 8080, 2000)).outcome, `${context}: host → server:8080`).toBe("ok")
  expect(await clientSamples(2), `${context}: client → web, web2`).toEqual([
    ["ok", "ok"],
    ["ok", "ok"],
  ])
}

// ---- running faults ---------------------------------------------------------------------------

/** Runs `fault` then a probe measuring the world while it holds, through the real runner. */
const runFault = async <A>(id: string, fault: Fault, measure: () => Promise<A>, extraTargets: ReadonlyArray<ContainerTarget> = []) => {
  const stateDir = mkdtempSync(join(tmpdir(), "shiftup-network-"))
  stateDirs.push(stateDir)
  const box: { measured: { readonly value: A } | { readonly error: unknown } } = { measured: { error: new Error(`the measuring probe of ${id} never ran`) } }
  const probe = Probe.make({
    id: `${id}.measure`,
    target: fault.target,
    observe: async () => {
      try {
        box.measured = { value: await measure() }
      } catch (error) {
        box.measured = { error }
      }
      return "measured"
    },
  })
  const targets = Object.fromEntries([fault.target, ...extraTargets].map((t) => [t.id, t]))
  const journal: Journal = await run(Experiment.make({ id, title: id, targets, method: [fault, probe] }), { stateDir })
  return { journal, measured: box.measured, compensations: ledgered(stateDir) }
}

/** `runFault` whose probe must have measured. */
const runMeasured = async <A>(id: string, fault: Fault, measure: () => Promise<A>, extraTargets: ReadonlyArray<ContainerTarget> = []) => {
  const r = await runFault(id, fault, measure, extraTargets)
  if ("error" in r.measured) throw r.measured.error
  return { ...r, during: r.measured.value }
}

/** The compensations the runner ledgered (intents), from `<stateDir>/ledger/*.jsonl`. */
const ledgered = (stateDir: string): ReadonlyArray<Compensation> =>
  readdirSync(join(stateDir, "ledger"))
    .filter((f) => f.endsWith(".jsonl"))
    .flatMap((f) => readFileSync(join(stateDir, "ledger", f), "utf8").split("\n"))
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { readonly type: string; readonly compensation?: Compensation })
    .flatMap((r) => (r.type === "intent" && r.compensation !== undefined ? [r.compensation] : []))

const expectPassed = (journal: Journal) => expect({ status: journal.status, summary: journal.summary, errors: journal.errors }).toMatchObject({ status: "passed", errors: [] })

/** Replays a ledgered compensation twice more through its compensator: both must succeed, and its check then finds nothing left. */
const replayTwice = async (c: Compensation) => {
  const compensator = Network.compensators[c.kind]
  if (compensator === undefined) throw new Error(`no compensator for ${c.kind}`)
  await call(specOf(compensator).apply(c))
  await call(specOf(compensator).apply(c))
  expect(await call(specOf(compensator).verify!(c))).toBeUndefined()
}

/** A ledgered compensation decodes against its kind's schema, every field accounted for. */
const expectDecodes = (c: Compensation) => {
  const schema = specOf(Network.compensators[c.kind]!).schema as Schema.Codec<unknown>
  expect(String(Schema.decodeUnknownExit(schema)(c, { onExcessProperty: "error" })), c.kind).toMatch(/^Success/)
}

/** Everything a rollback must have restored, then the same after two more replays. */
const expectRestored = async (context: string, before: Awaited<ReturnType<typeof snapshot>>, qdiscs: { readonly srv: Record<string, string>; readonly cli: Record<string, string> }, compensations: ReadonlyArray<Compensation>, kind: string) => {
  const check = async (when: string) => {
    await expectFlowing(`${context} ${when}`)
    expect(await snapshot(), `${context} ${when}: endpoints`).toEqual(before)
    expect(await shiftupRules(L().srv), `${context} ${when}: iptables rules of the server`).toEqual([])
    expect(await shiftupRules(L().cli), `${context} ${when}: iptables rules of the client`).toEqual([])
    // A reconnected interface may come back under another name (eth1 → eth2): compare the qdiscs.
    const values = (q: Record<string, string>) => Object.values(q).sort()
    expect({ srv: values(await rootQdiscs(L().srv)), cli: values(await rootQdiscs(L().cli)) }, `${context} ${when}: root qdiscs`).toEqual({ srv: values(qdiscs.srv), cli: values(qdiscs.cli) })
  }
  await check("after rollback")
  expect(compensations.map((c) => c.kind)).toEqual([kind])
  for (const c of compensations) expectDecodes(c)
  for (const c of compensations) await replayTwice(c)
  await check("after two more replays")
}

const state = async () => ({ before: await snapshot(), qdiscs: { srv: await rootQdiscs(L().srv), cli: await rootQdiscs(L().cli) } })

// ---- tests ------------------------------------------------------------------------------------

describe("Docker network faults", () => {
  it("partition (drop, ingress): connections to the container time out; rollback deletes exactly its rules", async () => {
    const { before, qdiscs } = await state()
    const ip = await srvIp()
    const r = await runMeasured("network.partition-drop", Network.partition(srvTarget(), { direction: "ingress" }), async () => ({
      host: await Promise.all([attempt(ip, 80, 1500), attempt(ip, 8080, 1500)]),
      client: await clientSamples(2),
      rules: await shiftupRules(L().srv),
    }))
    expectPassed(r.journal)
    expect(r.during.host.map((a) => a.outcome)).toEqual(["timeout", "timeout"])
    expect(r.during.client).toEqual([
      ["fail", "fail"],
      ["fail", "fail"],
    ])
    // Every rule carries the tag `shiftup:<runId>:<faultId>` and the compensation names it.
    const c = r.compensations[0]
    expect(c?.["tag"]).toBe(`shiftup:${r.journal.runId}:partition_${L().srvName}`)
    expect(r.during.rules.length).toBeGreaterThan(0)
    for (const rule of r.during.rules) expect(rule).toContain(`--comment "${String(c?.["tag"])}"`)
    expect(r.during.rules.every((rule) => rule.startsWith("-A INPUT ") && rule.includes("! -i lo") && rule.endsWith("-j DROP"))).toBe(true)
    await expectRestored("partition drop", before, qdiscs, r.compensations, "docker.iptables-remove")
  })

  it("partition (reject, both directions, port 80): refused at once on 80, 8080 unaffected", async () => {
    const { before, qdiscs } = await state()
    const ip = await srvIp()
    const r = await runMeasured("network.partition-reject", Network.partition(srvTarget(), { action: "reject", ports: [80] }), async () => ({
      on80: await Promise.all(Array.from({ length: 5 }, () => attempt(ip, 80, 2000))),
      on8080: await attempt(ip, 8080, 2000),
      client: await clientSamples(2),
    }))
    expectPassed(r.journal)
    expect(r.during.on80.map((a) => a.outcome)).toEqual(Array(5).fill("refused"))
    // Refused quickly: a reset, not a timeout.
    expect(Math.max(...r.during.on80.map((a) => a.ms))).toBeLessThan(250)
    expect(r.during.on8080.outcome).toBe("ok")
    expect(r.during.client).toEqual([
      ["fail", "fail"],
      ["fail", "fail"],
    ])
    await expectRestored("partition reject", before, qdiscs, r.compensations, "docker.iptables-remove")
  })

  it("partition (reject, egress) of the client: its own connections are refused at once", async () => {
    const { before, qdiscs } = await state()
    const ip = await srvIp()
    const r = await runMeasured("network.partition-egress", Network.partition(cliTarget(), { direction: "egress", action: "reject" }), async () => {
      const started = performance.now()
      const samples = await clientSamples(3)
      return { samples, ms: performance.now() - started, host: await attempt(ip, 80, 2000) }
    })
    expectPassed(r.journal)
    expect(r.during.samples).toEqual([
      ["fail", "fail"],
      ["fail", "fail"],
      ["fail", "fail"],
    ])
    // Refused, not timed out: a dropped connect would cost the client's loop 1 s per probe.
    expect(r.during.ms).toBeLessThan(3000)
    expect(r.during.host.outcome).toBe("ok")
    await expectRestored("partition egress", before, qdiscs, r.compensations, "docker.iptables-remove")
  })

  it("partition with probability 0.5 drops roughly half of the connection attempts", async () => {
    const { before, qdiscs } = await state()
    const ip = await srvIp()
    const n = 80
    // A dropped SYN is retransmitted after 1 s: a 400 ms deadline counts it as failed.
    const r = await runMeasured("network.partition-lossy", Network.partition(srvTarget(), { direction: "ingress", probability: 0.5 }), () => attempts(ip, 80, n, 400))
    expectPassed(r.journal)
    const failed = r.during.filter((o) => o !== "ok").length
    expect(r.during.every((o) => o === "ok" || o === "timeout")).toBe(true)
    // Binomial(80, 0.5): mean 40, sd ≈ 4.5; [20, 60] is over 4 sd either way.
    expect(failed).toBeGreaterThanOrEqual(20)
    expect(failed).toBeLessThanOrEqual(60)
    await expectRestored("partition p=0.5", before, qdiscs, r.compensations, "docker.iptables-remove")
    r.compensations.forEach((c) => expect(JSON.stringify(c["rules"])).toContain('"--probability","0.5"'))
    console.info(`partition p=0.5: ${failed}/${n} connection attempts failed`)
  })

  it("partition with a container peer: the client is cut off, the host still gets through", async () => {
    const { before, qdiscs } = await state()
    const ip = await srvIp()
    const r = await runMeasured(
      "network.partition-peer",
      Network.partition(srvTarget(), { direction: "ingress", action: "reject", peers: [cliTarget()] }),
      async () => ({ host: await attempt(ip, 80, 2000), client: await clientSamples(2) }),
      [cliTarget()],
    )
    expectPassed(r.journal)
    expect(r.during.host.outcome).toBe("ok")
    expect(r.during.client).toEqual([
      ["fail", "fail"],
      ["fail", "fail"],
    ])
    // Both of the client's addresses are peers.
    const cli = await inspect(L().cli)
    for (const e of Object.values(cli.networks)) expect(JSON.stringify(r.compensations[0]?.["rules"])).toContain(`${e.ipv4}/32`)
    await expectRestored("partition peer", before, qdiscs, r.compensations, "docker.iptables-remove")
  })

  it("bandwidth 1mbit: a 1 MB download takes about 8 s; rollback puts the default qdisc back", async () => {
    const { before, qdiscs } = await state()
    const ip = await srvIp()
    const baseline = await download(ip, "/blob")
    expect(baseline.bytes).toBe(1_000_000)
    expect(baseline.ms).toBeLessThan(1000)
    const r = await runMeasured("network.bandwidth", Network.bandwidth(srvTarget(), { rate: "1mbit" }), async () => ({ transfer: await download(ip, "/blob", 40_000), qdiscs: await rootQdiscs(L().srv) }))
    expectPassed(r.journal)
    const handle = String(r.compensations[0]?.["handle"])
    // Every interface but loopback is shaped by this fault's tbf.
    expect(Object.keys(r.during.qdiscs).sort()).toEqual(Object.keys(qdiscs.srv).sort())
    for (const q of Object.values(r.during.qdiscs)) expect(q).toBe(`tbf ${handle}`)
    // 1,000,000 bytes at 1,000,000 bit/s: 8 s of payload, plus headers (~4 %), minus the first burst.
    const expectedMs = (1_000_000 * 8) / 1_000_000 * 1000
    expect(r.during.transfer.bytes).toBe(1_000_000)
    expect(r.during.transfer.ms).toBeGreaterThan(expectedMs * 0.9)
    expect(r.during.transfer.ms).toBeLessThan(expectedMs * 1.25)
    console.info(`bandwidth 1mbit: 1 MB in ${Math.round(r.during.transfer.ms)} ms (expected ≈ ${expectedMs} ms; ${Math.round(baseline.ms)} ms unshaped)`)
    await expectRestored("bandwidth", before, qdiscs, r.compensations, "docker.tc-restore")
    expect(await rootQdiscs(L().srv)).toEqual(qdiscs.srv)
    const after = await download(ip, "/blob")
    expect(after.ms).toBeLessThan(1000)
  }, 90_000)

  it("bandwidth refuses, before touching anything, an interface whose root qdisc someone configured", async () => {
    const pid = (await inspect(L().cli)).state.pid
    const dev = Object.keys(await rootQdiscs(L().cli))[0] ?? "eth0"
    await call(Netns.inNetns(pid, "tc", ["qdisc", "add", "dev", dev, "root", "handle", "77:", "pfifo", "limit", "500"]))
    try {
      const r = await runFault("network.bandwidth-refused", Network.bandwidth(cliTarget(), { rate: "1mbit" }), () => rootQdiscs(L().cli))
      // The run stopped at the fault: the probe never ran, nothing was ledgered.
      expect("error" in r.measured).toBe(true)
      expect(r.journal.status).not.toBe("passed")
      expect(JSON.stringify(r.journal)).toContain("refuses to replace this one")
      expect(r.compensations).toEqual([])
      expect((await rootQdiscs(L().cli))[dev]).toBe("pfifo 77:")
    } finally {
      await call(Netns.inNetns(pid, "tc", ["qdisc", "del", "dev", dev, "root"]))
    }
  })

  it("disconnect: unreachable by its alias; rollback reconnects with the same aliases, link, static address and driver options", async () => {
    const { before, qdiscs } = await state()
    const beforeB = before.srv[`${unique}-b`]
    expect(beforeB).toMatchObject({ aliases: expect.arrayContaining(["web2", "www"]), links: [`${L().cliName}:peer`], ipamIpv4: L().staticIp, ipv4: L().staticIp, driverOpts: { "com.example.shiftup": "on" } })
    const r = await runMeasured("network.disconnect", Network.disconnect(srvTarget(), { network: `${unique}-b` }), async () => ({
      client: await clientSamples(2),
      host: await attempt(L().staticIp, 80, 1500),
      networks: Object.keys((await inspect(L().srv)).networks),
    }))
    expectPassed(r.journal)
    expect(r.during.networks).toEqual([`${unique}-a`])
    // web (network A) still answers, web2 (network B) does not resolve any more.
    expect(r.during.client).toEqual([
      ["ok", "fail"],
      ["ok", "fail"],
    ])
    expect(r.during.host.outcome).not.toBe("ok")
    // The compensation records the endpoint without the short id Docker adds by itself.
    const endpoint = (r.compensations[0]?.["endpoints"] as ReadonlyArray<Record<string, unknown>> | undefined)?.[0]
    expect(endpoint).toMatchObject({ network: `${unique}-b`, networkId: L().netB, links: [`${L().cliName}:peer`], ipamIpv4: L().staticIp, driverOpts: { "com.example.shiftup": "on" } })
    expect([...((endpoint?.["aliases"] ?? []) as ReadonlyArray<string>)].sort()).toEqual(["web2", "www"])
    await expectRestored("disconnect", before, qdiscs, r.compensations, "docker.reconnect")
    expect((await attempt(L().staticIp, 80, 2000)).outcome).toBe("ok")
  })

  it("compensators replayed for a container that is gone have nothing to undo", async () => {
    const gone = randomBytes(32).toString("hex")
    const base = { engine: engine.address, target: "gone", containers: [gone] }
    // A namespace that exists nowhere on the machine any more (its inode is no namespace's).
    const namespaces = [{ container: gone, name: "gone", pid: 999_999_999, netns: 1 }]
    // Whole records, as the faults ledger them: a compensator only ever replays one that decodes.
    const records: ReadonlyArray<Compensation> = [
      { kind: "docker.iptables-remove", description: "x", ...base, tag: `shiftup:${unique}:gone`, tools: ["iptables"], backend: "legacy", rules: [["iptables", "INPUT", "-j", "DROP"]], namespaces },
      { kind: "docker.tc-restore", description: "x", ...base, handle: "1234:", rateBits: 1_000_000, burst: 4096, latencyMs: 50, originals: [{ container: gone, name: "gone", dev: "eth0", kind: "noqueue", handle: "0:" }], namespaces },
      { kind: "docker.reconnect", description: "x", ...base, endpoints: [{ container: gone, name: "gone", network: `${unique}-b`, networkId: L().netB, aliases: ["x"], links: [], ipamIpv4: "", ipamIpv6: "", driverOpts: {} }] },
    ]
    for (const c of records) {
      expectDecodes(c)
      await replayTwice(c)
    }
  })

  it("partition of a container stopped before rollback: its namespace took the rules, the compensator says nothing to undo", async () => {
    const image = await busybox()
    const id = await call(engine.run({ name: `${unique}-short`, image, command: ["sleep", "600"], labels, network: `${unique}-a` }))
    const target = container(`${unique}-short`, { environment: "lab" })
    const r = await runMeasured("network.partition-stopped", Network.partition(target, {}), async () => {
      const rules = await shiftupRules(id)
      await call(engine.kill(id, "SIGKILL"))
      return rules
    })
    expect(r.during.length).toBeGreaterThan(0)
    expectPassed(r.journal)
    for (const c of r.compensations) await replayTwice(c)
    await call(engine.remove(id))
  })
})
