/**
 * Namespace faults (partition, bandwidth) and the network mode of their targets, on real
 * containers in every mode: the host's network, another container's namespace, the default
 * bridge, and no network at all. A fault that would land in the host's namespace, or in a
 * namespace the plan did not classify, is refused at plan time with nothing changed on the host
 * (its INPUT/OUTPUT chains and its qdiscs are compared before and after). The compensators
 * enter only the namespace their ledger record names, and never the host's.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { specOf, type Compensation } from "../../src/Compensation.ts"
import { container, containers, type ContainerTarget } from "../../src/docker/targets.ts"
import * as Engine from "../../src/docker/engine.ts"
import * as Network from "../../src/docker/index.ts"
import { ensureImages } from "../../src/testing/docker/images.ts"
import type { Fault } from "../../src/Fault.ts"
import { Experiment, Probe, run } from "../../src/index.ts"
import type { Journal } from "../../src/Journal.ts"

const unique = `nsm-${randomBytes(3).toString("hex")}`
const labels = { "shiftup.run": unique }
const engine = Engine.make({ timeoutMs: 20_000 })
const call = <A>(e: Effect.Effect<A, unknown>): Promise<A> => Effect.runPromise(e as Effect.Effect<A>)
const stateDirs: Array<string> = []

interface Box {
  readonly id: string
  readonly name: string
}
const boxes: Record<"solo" | "owner" | "joiner" | "hostnet" | "nonet" | "keeper" | "guest", Box> = {} as never

const start = async (key: keyof typeof boxes, image: string, spec: { readonly networkMode?: string; readonly labels?: Record<string, string> } = {}) => {
  const name = `${unique}-${key}`
  const id = await call(engine.run({ name, image, command: ["sleep", "3600"], labels: { ...labels, ...spec.labels }, ...(spec.networkMode === undefined ? {} : { networkMode: spec.networkMode }) }))
  boxes[key] = { id, name }
}

beforeAll(async () => {
  const [image] = await call(ensureImages(engine, { only: ["busybox"] }))
  if (image === undefined) throw new Error("no busybox image")
  // Owners first (the joiners name them), each group concurrently.
  await Promise.all([
    start("solo", image),
    start("owner", image),
    start("hostnet", image, { networkMode: "host" }),
    start("nonet", image, { networkMode: "none" }),
    start("keeper", image, { labels: { "shiftup.test.pair": unique } }),
  ])
  await Promise.all([start("joiner", image, { networkMode: `container:${boxes.owner.id}` }), start("guest", image, { networkMode: `container:${boxes.keeper.id}`, labels: { "shiftup.test.pair": unique } })])
}, 60_000)

afterAll(async () => {
  const found = await call(engine.list({ all: true, labels: [`shiftup.run=${unique}`] }))
  // Joiners before their owners.
  await Promise.all(found.filter((c) => c.networkMode.startsWith("container:")).map((c) => call(engine.remove(c.id))))
  await Promise.all(found.filter((c) => !c.networkMode.startsWith("container:")).map((c) => call(engine.remove(c.id))))
  for (const d of stateDirs) rmSync(d, { recursive: true, force: true })
  engine.close()
}, 60_000)

const lab = (key: keyof typeof boxes): ContainerTarget => container(boxes[key].name, { environment: "lab" })
const pair = (): ContainerTarget => containers(`${unique}-pair`, { select: { labels: { "shiftup.test.pair": unique } }, environment: "lab" })

const pidOf = async (key: keyof typeof boxes) => (await call(engine.inspect(boxes[key].id))).state.pid
const inodeOf = (pid: number) => statSync(`/proc/${pid}/ns/net`).ino
const hostInode = () => statSync("/proc/self/ns/net").ino

const sh = (file: string, args: ReadonlyArray<string>) => execFileSync(file, [...args], { encoding: "utf8" })
const inNs = (pid: number, file: string, args: ReadonlyArray<string>) => sh("nsenter", ["-t", String(pid), "-n", file, ...args])

/**
 * What a namespace fault could change on the host: the filter table's INPUT and OUTPUT chains
 * (both families), every rule tagged `shiftup:`, and the root qdiscs of the host's own devices.
 * (Bridges and veths come and go with other containers of the engine, so they are left out.)
 */
const hostSnapshot = () => ({
  iptables: ["INPUT", "OUTPUT"].map((chain) => sh("iptables", ["-w", "5", "-S", chain])),
  ip6tables: ["INPUT", "OUTPUT"].map((chain) => sh("ip6tables", ["-w", "5", "-S", chain])),
  tagged: sh("iptables-save", []).split("\n").filter((l) => l.includes("shiftup:")),
  qdiscs: sh("tc", ["qdisc", "show"]).split("\n").filter((l) => l.trim() !== "" && !/ dev (veth|br-)/.test(l)),
})

const rulesIn = (pid: number) => inNs(pid, "iptables", ["-w", "5", "-S"]).split("\n").filter((l) => l.includes("shiftup:"))
const tbfIn = (pid: number) => inNs(pid, "tc", ["qdisc", "show"]).split("\n").filter((l) => l.includes("tbf"))

/** A harmless partition: ingress from a documentation address to the discard port. */
const gentlePartition = (t: ContainerTarget, id = `partition ${t.id}`) => Network.partition(t, { id, direction: "ingress", peers: ["192.0.2.123"], ports: [9] })
const gentleBandwidth = (t: ContainerTarget) => Network.bandwidth(t, { rate: "10gbit" })

const stateDir = () => {
  const d = mkdtempSync(join(tmpdir(), "shiftup-netns-"))
  stateDirs.push(d)
  return d
}

const ledgered = (dir: string): ReadonlyArray<Compensation> => {
  const ledgers = join(dir, "ledger")
  if (!existsSync(ledgers)) return []
  return readdirSync(ledgers)
    .flatMap((f) => readFileSync(join(ledgers, f), "utf8").split("\n"))
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { readonly type: string; readonly compensation?: Compensation })
    .flatMap((r) => (r.type === "intent" && r.compensation !== undefined ? [r.compensation] : []))
}

const runFaults = async (id: string, faults: ReadonlyArray<Fault>, during?: (stateDir: string) => Promise<unknown>) => {
  const dir = stateDir()
  const targets = Object.fromEntries(faults.map((f) => [f.target.id, f.target]))
  const seen: { value?: unknown } = {}
  const probe = Probe.make({
    id: `${id}.during`,
    target: faults[0]!.target,
    observe: async () => {
      seen.value = await during?.(dir)
      return "seen"
    },
  })
  const journal: Journal = await run(Experiment.make({ id, title: id, targets, budget: { maxConcurrentFaults: faults.length, maxTargets: faults.length }, method: [...faults, probe] }), { stateDir: dir })
  return { journal, during: seen.value, compensations: ledgered(dir) }
}

const expectRefused = (journal: Journal, rule: string, mentions: ReadonlyArray<string>) => {
  expect(journal.status, JSON.stringify(journal.errors)).toBe("refused")
  expect(journal.refusal?.rule).toBe(rule)
  for (const m of mentions) expect(journal.refusal?.reason).toContain(m)
  // Nothing was injected: no step ran.
  expect(journal.steps.filter((s) => s.kind === "fault")).toEqual([])
}

const apply = (c: Compensation) => call(specOf(Network.compensators[c.kind]!).apply(c))
const verify = (c: Compensation) => call(specOf(Network.compensators[c.kind]!).verify!(c))

describe("namespace faults and network modes", () => {
  it("host network: partition and bandwidth are refused at plan time (docker.netns-host); the host's rules and qdiscs are unchanged", async () => {
    const before = hostSnapshot()
    const r = await runFaults("netns.host", [gentlePartition(lab("hostnet")), gentleBandwidth(lab("hostnet"))])
    expectRefused(r.journal, "docker.netns-host", [boxes.hostnet.name, "host's network"])
    // The first refusal ends the plan's checks: no later fault's check contacts anything (docs/safety.md).
    const refused = (r.journal.plan?.decisions ?? []).filter((d) => !d.allowed).map((d) => `${d.step}: ${d.rule}`)
    expect(refused).toEqual([`partition ${boxes.hostnet.name}: docker.netns-host`])
    expect(r.compensations).toEqual([])
    expect(hostSnapshot()).toEqual(before)
  })

  it("no network: refused (docker.netns-none), its namespace untouched", async () => {
    const pid = await pidOf("nonet")
    const r = await runFaults("netns.none", [gentlePartition(lab("nonet"))])
    expectRefused(r.journal, "docker.netns-none", [boxes.nonet.name, "network_mode: none"])
    expect(rulesIn(pid)).toEqual([])
  })

  it("container:<owner> whose owner is not in the target: refused (docker.netns-shared) naming the owner; the owner's namespace untouched", async () => {
    const before = hostSnapshot()
    const r = await runFaults("netns.joiner", [gentlePartition(lab("joiner")), gentleBandwidth(lab("joiner"))])
    expectRefused(r.journal, "docker.netns-shared", [boxes.joiner.name, boxes.owner.name, "did not classify"])
    const pid = await pidOf("owner")
    expect({ rules: rulesIn(pid), tbf: tbfIn(pid) }).toEqual({ rules: [], tbf: [] })
    expect(hostSnapshot()).toEqual(before)
  })

  it("a container whose namespace an unplanned container shares: refused (docker.netns-shared) naming the sharer", async () => {
    const r = await runFaults("netns.owner", [gentlePartition(lab("owner"))])
    expectRefused(r.journal, "docker.netns-shared", [boxes.joiner.name, boxes.owner.name])
    expect(rulesIn(await pidOf("owner"))).toEqual([])
  })

  it("default bridge: allowed; the ledger records the namespace by identity (never the host's) and rollback proves the fault gone", async () => {
    const pid = await pidOf("solo")
    const r = await runFaults("netns.bridge", [gentlePartition(lab("solo")), gentleBandwidth(lab("solo"))], async (dir) => ({
      rules: rulesIn(pid).length,
      tbf: tbfIn(pid).length,
      // While the faults hold, each compensator's check sees them.
      verified: await Promise.all(ledgered(dir).map(verify)),
    }))
    expect(r.journal.status, JSON.stringify(r.journal.errors)).toBe("passed")
    expect(r.during).toMatchObject({ rules: 2, tbf: 1, verified: [expect.stringMatching(/2 iptables rule\(s\) tagged shiftup:.* are still in network namespace \d+/), expect.stringMatching(/the tbf [0-9a-f]+: is still the root qdisc of eth0/)] })
    expect(r.compensations.map((c) => c.kind)).toEqual(["docker.iptables-remove", "docker.tc-restore"])
    for (const c of r.compensations) {
      expect(c["namespaces"]).toEqual([{ container: boxes.solo.id, name: boxes.solo.name, pid, netns: inodeOf(pid) }])
      expect(inodeOf(pid)).not.toBe(hostInode())
      expect(await verify(c)).toBeUndefined()
    }
    expect({ rules: rulesIn(pid), tbf: tbfIn(pid) }).toEqual({ rules: [], tbf: [] })
  })

  it("owner and joiner planned together: allowed; their one namespace is entered once, and found again through its other holder once the container it was entered through has stopped", async () => {
    const keeper = await pidOf("keeper")
    const guest = await pidOf("guest")
    expect(inodeOf(guest)).toBe(inodeOf(keeper))
    const r = await runFaults("netns.pair", [gentlePartition(pair(), "partition pair")], async () => {
      const rules = rulesIn(keeper)
      // The container the namespace was entered through (the first by name) stops: the namespace
      // lives on in the keeper, and only a search of the machine finds it.
      await call(engine.kill(boxes.guest.id, "SIGKILL"))
      return rules
    })
    try {
      // Entered once: one rule per protocol (tcp, udp), not two of each.
      expect(r.during).toHaveLength(2)
      expect(r.journal.status, JSON.stringify(r.journal.errors)).toBe("passed")
      const c = r.compensations[0]!
      expect(c["containers"]).toEqual([boxes.guest.id, boxes.keeper.id])
      expect(c["namespaces"]).toEqual([{ container: boxes.guest.id, name: boxes.guest.name, pid: guest, netns: inodeOf(keeper) }])
      expect(rulesIn(keeper)).toEqual([])
      expect(await verify(c)).toBeUndefined()
    } finally {
      await call(engine.start(boxes.guest.id))
    }
  })

  it("a compensation naming the host's namespace is refused by its compensator and its check, and changes nothing on the host", async () => {
    const before = hostSnapshot()
    const pid = await pidOf("hostnet")
    const forged: Compensation = {
      kind: "docker.iptables-remove",
      description: "forged",
      engine: engine.address,
      target: "hostnet",
      containers: [boxes.hostnet.id],
      tag: `shiftup:${unique}:forged`,
      tools: ["iptables"],
      backend: "nf_tables",
      rules: [],
      namespaces: [{ container: boxes.hostnet.id, name: boxes.hostnet.name, pid, netns: inodeOf(pid) }],
    }
    await expect(apply(forged)).rejects.toThrow(/this machine's own/)
    await expect(verify(forged)).rejects.toThrow(/this machine's own/)
    await expect(apply({ ...forged, kind: "docker.tc-restore", handle: "1234:", rateBits: 1, burst: 1, latencyMs: 1, originals: [] })).rejects.toThrow(/this machine's own/)
    expect(hostSnapshot()).toEqual(before)
  })

  it("a compensator enters only the namespace its record names: a tagged rule in the container's current (other) namespace is left alone", async () => {
    const pid = await pidOf("solo")
    const tag = `shiftup:${unique}:other-namespace`
    inNs(pid, "iptables", ["-w", "5", "-I", "INPUT", "1", "-s", "192.0.2.200/32", "-m", "comment", "--comment", tag, "-j", "DROP"])
    try {
      // The record names the container and its pid, but a namespace that no longer exists
      // (the container restarted since, say): nothing of it is left to undo anywhere.
      const c: Compensation = {
        kind: "docker.iptables-remove",
        description: "a namespace destroyed since",
        engine: engine.address,
        target: "solo",
        containers: [boxes.solo.id],
        tag,
        tools: ["iptables"],
        backend: "nf_tables",
        rules: [],
        namespaces: [{ container: boxes.solo.id, name: boxes.solo.name, pid, netns: 1 }],
      }
      await apply(c)
      expect(await verify(c)).toBeUndefined()
      expect(rulesIn(pid)).toHaveLength(1)
      // Named by identity, the same rule is found and removed.
      await apply({ ...c, namespaces: [{ container: boxes.solo.id, name: boxes.solo.name, pid: 999_999_999, netns: inodeOf(pid) }] })
      expect(rulesIn(pid)).toEqual([])
    } finally {
      for (const line of rulesIn(pid)) inNs(pid, "iptables", ["-w", "5", ...line.replace(/^-A/, "-D").match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"|"$/g, ""))])
    }
  })
})
