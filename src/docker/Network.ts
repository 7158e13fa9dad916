/**
 * Network faults on containers: disconnect from a Docker network, partition with iptables rules
 * inside the container's network namespace, and a bandwidth limit with a `tbf` qdisc.
 *
 * Partition and bandwidth act from the host, as root, inside the container's network namespace
 * (`nsenter`): the container's image needs no tools and no capabilities. They are refused at plan
 * time on a container using the host's network, sharing an unplanned container's namespace, or
 * with no network (`internal/nsfault.ts`). Their compensations name exactly what the fault added
 * (the iptables rules carrying the comment `shiftup:<runId>:<faultId>`, the tbf with this
 * fault's own handle) and the namespaces it added them to (by identity), so a rollback never
 * removes anything it did not add, never enters another namespace, and proves the fault gone: a
 * namespace that no longer exists anywhere on the machine took the fault with it.
 *
 * The kernel here has no `netem`: latency and jitter need a proxy in the path (`shiftup/net`).
 */
import { createHash } from "node:crypto"
import { isIP } from "node:net"
import { Effect, Schema } from "effect"
import type * as Compensation from "../Compensation.ts"
import { RunContext } from "../RunContext.ts"
import { fail, InjectionFailed, InvalidExperiment, type Issue, RollbackFailed, type ShiftupError } from "../ShiftupError.ts"
import { members, type ContainerTarget } from "./Container.ts"
import type { Container, Endpoint, DockerEngine, EngineCallError } from "./model.ts"
import type { FaultOptions } from "./Faults.ts"
import * as DockerFault from "./internal/fault.ts"
import * as Netns from "./internal/netns.ts"
import * as NsFault from "./internal/nsfault.ts"
import * as Records from "./internal/records.ts"

type Json = Compensation.Json

// ---------------------------------------------------------------------------------------------
// Reading compensations back (they come from a ledger file: check every field).

const str = (j: Json | undefined): string => (typeof j === "string" ? j : "")
const strs = (j: Json | undefined): ReadonlyArray<string> => (Array.isArray(j) ? j.filter((x): x is string => typeof x === "string") : [])
const objs = (j: Json | undefined): ReadonlyArray<{ readonly [k: string]: Json }> =>
  Array.isArray(j) ? j.filter((x): x is { readonly [k: string]: Json } => typeof x === "object" && x !== null && !Array.isArray(x)) : []
const dict = (j: Json | undefined): Readonly<Record<string, string>> =>
  typeof j === "object" && j !== null && !Array.isArray(j) ? Object.fromEntries(Object.entries(j as Record<string, Json>).map(([k, v]) => [k, String(v)])) : {}

const rollbackFailed = (c: Compensation.Compensation, detail: string): ShiftupError => fail(new RollbackFailed({ fault: c.kind, target: str(c["target"]) || "?", detail }))

/** The container now, or `undefined` when it has been removed. */
const current = (engine: DockerEngine, id: string): Effect.Effect<Container | undefined, EngineCallError> =>
  engine.inspect(id).pipe(Effect.catchIf((e) => e.status === 404, () => Effect.succeed(undefined)))

const short = (id: string) => id.slice(0, 12)

// ---------------------------------------------------------------------------------------------
// Tags and handles: what marks a fault's own changes.

/**
 * The comment on every iptables rule of a fault: `shiftup:<runId>:<faultId>`, with characters
 * iptables would have to quote (spaces…) replaced by `_`, at most 255 characters.
 */
export const ruleTag = (runId: string, faultId: string): string => `shiftup:${runId}:${faultId}`.replace(/[^\w.:@+=/-]/g, "_").slice(0, 255)

/** The qdisc handle of a bandwidth fault (`1a2b:`), derived from its tag: another fault's tbf is never taken for this one's. */
export const tbfHandle = (tag: string): string => {
  const n = createHash("sha256").update(tag).digest().readUInt16BE(0)
  return `${(0x1000 + (n % 0x7000)).toString(16)}:`
}

// ---------------------------------------------------------------------------------------------
// Compensators.

/** The namespaces a compensation records (see `NsFault.Entered`). */
const namespacesOf = (c: Compensation.Compensation): ReadonlyArray<NsFault.Entered> =>
  objs(c["namespaces"]).map((e) => ({ container: str(e["container"]), name: str(e["name"]), pid: Number(e["pid"]), netns: Number(e["netns"]) }))

/** Runs `check` in each recorded namespace that still exists; every line it returns, joined. */
const inEachNamespace = (c: Compensation.Compensation, engine: DockerEngine, check: (ns: Netns.Namespace) => Effect.Effect<string | undefined, Netns.CommandFailed>) =>
  DockerFault.differences(namespacesOf(c), (e) =>
    NsFault.inRecorded(engine, e, check).pipe(Effect.mapError((x): EngineCallError | ShiftupError => (x._tag === "CommandFailed" ? rollbackFailed(c, `container ${e.name}: ${x.detail}`) : x))),
  )

/** Removal in each namespace must end with nothing left (proved by reading it again), or the rollback failed. */
const proveGone = (c: Compensation.Compensation, engine: DockerEngine, remove: (ns: Netns.Namespace) => Effect.Effect<string | undefined, Netns.CommandFailed>) =>
  inEachNamespace(c, engine, remove).pipe(Effect.flatMap((left) => (left === undefined ? Effect.void : Effect.fail(rollbackFailed(c, left)))))

/** The first of `checks` (in order) that finds something left. */
const firstLeft = (checks: ReadonlyArray<Effect.Effect<string | undefined, Netns.CommandFailed>>) => Effect.forEach(checks, (x) => x).pipe(Effect.map((found) => found.find((l) => l !== undefined)))

const Endpoints = Schema.Array(
  Schema.Struct({
    container: Records.ContainerId,
    name: Schema.String,
    network: Schema.String,
    networkId: Schema.String,
    aliases: Records.Strings,
    links: Records.Strings,
    ipamIpv4: Schema.String,
    ipamIpv6: Schema.String,
    driverOpts: Records.StringMap,
  }),
)

const Tag = Schema.String.check(Schema.isPattern(/^shiftup:[\w.:@+=/-]{1,247}$/, { message: "a rule tag shiftup:<runId>:<faultId>" }))

const connectedTo = (x: Container, saved: { readonly [k: string]: Json }) =>
  Object.entries(x.networks).find(([name, e]) => e.networkId === str(saved["networkId"]) || name === str(saved["network"]))?.[1]

const specs: Readonly<Record<string, DockerFault.KindSpec>> = {
  "docker.reconnect": {
    undo: (c, engine) =>
      DockerFault.eachOf(objs(c["endpoints"]), (saved) =>
        Effect.gen(function* () {
          const id = str(saved["container"])
          const network = str(saved["network"])
          const networkId = str(saved["networkId"])
          const now = yield* current(engine, id)
          // Removed since, or already connected (a second replay, or someone reconnected it): nothing to do.
          if (now === undefined || connectedTo(now, saved) !== undefined) return
          const endpoint: Endpoint = {
            networkId,
            aliases: strs(saved["aliases"]),
            links: strs(saved["links"]),
            ipv4: "",
            ipamIpv4: str(saved["ipamIpv4"]),
            ipamIpv6: str(saved["ipamIpv6"]),
            driverOpts: dict(saved["driverOpts"]),
          }
          const attempt = (net: string) => engine.connect(net, id, endpoint)
          yield* attempt(networkId).pipe(
            // The network may have been re-created under the same name: try the name.
            Effect.catchIf((e) => e.status === 404 && network !== "", () => attempt(network)),
            Effect.catch((e: EngineCallError) =>
              Effect.gen(function* () {
                // Connected meanwhile (a concurrent replay) or removed: done. Otherwise it failed.
                const after = yield* current(engine, id)
                if (after === undefined || connectedTo(after, saved) !== undefined) return
                return yield* Effect.fail(e.unreachable ? e : rollbackFailed(c, `cannot reconnect ${str(saved["name"]) || short(id)} to ${network}: ${e.op}: ${e.detail}`))
              }),
            ),
          )
        }),
      ),
    verify: (c, engine) =>
      DockerFault.differences(objs(c["endpoints"]), (saved) =>
        current(engine, str(saved["container"])).pipe(
          Effect.map((now) => {
            if (now === undefined) return undefined
            const name = str(saved["name"])
            const network = str(saved["network"])
            const e = connectedTo(now, saved)
            if (e === undefined) return `${name} is not connected to ${network}`
            const missing = strs(saved["aliases"]).filter((a) => !e.aliases.includes(a))
            if (missing.length > 0) return `${name} lacks the aliases ${missing.join(", ")} on ${network}`
            if (str(saved["ipamIpv4"]) !== e.ipamIpv4 || str(saved["ipamIpv6"]) !== e.ipamIpv6) return `${name} has other static addresses on ${network}`
            return undefined
          }),
        ),
      ),
    schema: Records.record("docker.reconnect", { endpoints: Endpoints }),
    // A disconnect takes some 60 ms on the engine.
    settleMs: 2000,
  },

  "docker.iptables-remove": {
    undo: (c, engine) => {
      const tag = str(c["tag"])
      const tools = strs(c["tools"])
      if (tag === "" || tools.length === 0) return Effect.fail(rollbackFailed(c, "the compensation names no rule tag or no iptables tool"))
      return proveGone(c, engine, (ns) => firstLeft(tools.map((tool) => NsFault.removeTagged(ns, tool, tag))))
    },
    verify: (c, engine) => inEachNamespace(c, engine, (ns) => firstLeft(strs(c["tools"]).map((tool) => NsFault.rulesLeft(ns, tool, str(c["tag"]))))),
    schema: Records.record("docker.iptables-remove", {
      tag: Tag,
      tools: Schema.Array(Schema.Literals(["iptables", "ip6tables"])).check(Schema.isMinLength(1)),
      backend: Schema.String,
      rules: Schema.Array(Records.Strings),
      namespaces: Schema.Array(Records.NamespaceRecord),
    }),
    // An insert in flight when the runner died waits at most 5 s for the xtables lock (`-w 5`).
    settleMs: 6000,
  },

  "docker.tc-restore": {
    undo: (c, engine) => {
      const handle = str(c["handle"])
      if (!/^[0-9a-f]+:$/.test(handle)) return Effect.fail(rollbackFailed(c, `the compensation has no valid qdisc handle (${JSON.stringify(c["handle"])})`))
      return proveGone(c, engine, (ns) => NsFault.removeTbf(ns, handle))
    },
    verify: (c, engine) => inEachNamespace(c, engine, (ns) => NsFault.tbfLeft(ns, str(c["handle"]))),
    schema: Records.record("docker.tc-restore", {
      handle: Schema.String.check(Schema.isPattern(/^[0-9a-f]{1,4}:$/)),
      rateBits: Schema.Number,
      burst: Schema.Number,
      latencyMs: Schema.Number,
      originals: Schema.Array(Schema.Struct({ container: Records.ContainerId, name: Schema.String, dev: Schema.String, kind: Schema.String, handle: Schema.String })),
      namespaces: Schema.Array(Records.NamespaceRecord),
    }),
    // A `tc qdisc replace` takes milliseconds.
    settleMs: 2000,
  },
}

/**
 * Compensators of this module's faults, by kind: `docker.reconnect`, `docker.iptables-remove`,
 * `docker.tc-restore`. Each works from its compensation alone (`shiftup recover` replays it in
 * another process) and is idempotent.
 *
 * @example
 * const config = defineConfig({ compensators: { ...Network.compensators } })
 */
export const compensators = DockerFault.compensators(specs)

// ---------------------------------------------------------------------------------------------
// Shared pieces of the faults.

const invalid = (what: string, issues: ReadonlyArray<Issue>): void => {
  if (issues.length > 0) throw fail(new InvalidExperiment({ source: `shiftup/docker ${what}`, issues }))
}

const commandError = (fault: string, target: string) => (e: Netns.CommandFailed): ShiftupError => fail(new InjectionFailed({ fault, target, detail: e.detail }))

/**
 * What a fault's compensation planned for a run (rules, interfaces), kept by run id until that
 * run's injection takes it.
 */
const perRun = <P>() => {
  const plans = new Map<string, P>()
  return {
    put: (runId: string, plan: P) => void plans.set(runId, plan),
    take: (runId: string): P | undefined => {
      const plan = plans.get(runId)
      plans.delete(runId)
      return plan
    },
  }
}

// ---------------------------------------------------------------------------------------------
// disconnect

export interface DisconnectOptions extends FaultOptions {
  /** The network's name or id (a unique id prefix works too). */
  readonly network: string
}

const endpointOn = (c: Container, network: string): readonly [string, Endpoint] | undefined =>
  Object.entries(c.networks).find(([name, e]) => name === network || e.networkId === network || (network.length >= 12 && e.networkId.startsWith(network)))

/**
 * Disconnects the target's containers from a Docker network: they lose that interface, its
 * address and their DNS names (aliases) on it. Rollback reconnects each container that is not
 * connected again with its original endpoint settings: aliases (without the short container id
 * Docker adds by itself), links, static IPv4/IPv6 addresses and driver options. The interface
 * may come back under another name (`eth1`).
 *
 * @example
 * Docker.disconnect(auth, { network: "shop_backend" })
 */
export const disconnect = (target: ContainerTarget, options: DisconnectOptions) => {
  invalid("disconnect", options.network.trim() === "" ? [{ path: "network", message: "name the network to disconnect from" }] : [])
  const id = options.id ?? `disconnect ${target.id} from ${options.network}`
  return DockerFault.make({
    id,
    title: `disconnect ${target.id} from network ${options.network}`,
    target,
    kind: "docker.reconnect",
    capture: (list) =>
      Effect.gen(function* () {
        const endpoints: Array<Json> = []
        for (const c of list) {
          const found = endpointOn(c, options.network)
          if (found === undefined) return yield* Effect.fail(fail(new InjectionFailed({ fault: id, target: target.id, detail: `container ${c.name} is not connected to network ${options.network} (it is on ${Object.keys(c.networks).join(", ") || "no network"})` })))
          const [name, e] = found
          endpoints.push({
            container: c.id,
            name: c.name,
            network: name,
            networkId: e.networkId,
            // Docker adds the short id as an alias by itself on every connect.
            aliases: e.aliases.filter((a) => a !== short(c.id)),
            links: [...e.links],
            ipamIpv4: e.ipamIpv4,
            ipamIpv6: e.ipamIpv6,
            driverOpts: { ...e.driverOpts },
          })
        }
        const aliases = [...new Set(objs(endpoints).flatMap((e) => strs(e["aliases"])))]
        return {
          description: `reconnect ${DockerFault.names(list)} to network ${options.network}${aliases.length === 0 ? "" : ` with aliases ${aliases.join(", ")}`}, their links, static addresses and driver options (a container already connected or removed is left alone)`,
          endpoints,
        }
      }),
    inject: (list, engine) =>
      DockerFault.eachOf(list, (c) => {
        const found = endpointOn(c, options.network)
        return found === undefined ? Effect.void : engine.disconnect(found[1].networkId, c.id)
      }),
    compensators,
  })
}

// ---------------------------------------------------------------------------------------------
// partition

export interface PartitionOptions extends FaultOptions {
  /** `ingress`: packets arriving at the container; `egress`: packets it sends; default `both`. */
  readonly direction?: "ingress" | "egress" | "both"
  /**
   * `drop` (connections time out; default) or `reject` (refused at once: TCP gets a reset, other
   * traffic an ICMP unreachable; on egress TCP, UDP and ICMP are rejected).
   */
  readonly action?: "drop" | "reject"
  /** Each matching packet is hit with this probability (`-m statistic --mode random`), in (0, 1]; default 1. */
  readonly probability?: number
  /**
   * Only traffic with these peers: CIDRs (`10.0.0.0/8`, `172.18.0.3`, `fd00::/64`) or container
   * targets (their addresses on every network, resolved when the fault is injected; declare them
   * in the experiment's targets too). Default: every address. Loopback is never partitioned.
   */
  readonly peers?: ReadonlyArray<string | ContainerTarget>
  /** Only TCP and UDP traffic from or to these ports, at either end (`-m multiport --ports`). */
  readonly ports?: ReadonlyArray<number>
}

interface Rule {
  readonly chain: "INPUT" | "OUTPUT"
  readonly args: ReadonlyArray<string>
}

const family = (cidr: string): 4 | 6 => (isIP(cidr.split("/")[0] ?? "") === 6 ? 6 : 4)

const validCidr = (s: string): boolean => {
  const [addr = "", prefix, ...rest] = s.split("/")
  const v = isIP(addr)
  if (v === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  const n = Number(prefix)
  return /^\d+$/.test(prefix) && n >= 0 && n <= (v === 4 ? 32 : 128)
}

const chunks = <A>(xs: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, i * size + size))

/**
 * The rules of a partition for one address family, in their final order at the top of each
 * chain. `reject` answers TCP with a reset and everything else with an ICMP unreachable; on
 * egress the rejections themselves (TCP resets, ICMP destination-unreachable) are let out, or
 * with `both` the reset answering a connection to the container would be rejected in turn and
 * the peer would see a timeout instead of a refusal. Egress `reject` covers TCP, UDP and ICMP.
 */
const rulesFor = (o: PartitionOptions, peers: ReadonlyArray<string> | undefined, tag: string, v: 4 | 6): ReadonlyArray<Rule> => {
  const direction = o.direction ?? "both"
  const reject = o.action === "reject"
  const chains: ReadonlyArray<Rule["chain"]> = direction === "ingress" ? ["INPUT"] : direction === "egress" ? ["OUTPUT"] : ["INPUT", "OUTPUT"]
  const statistic = o.probability === undefined || o.probability >= 1 ? [] : ["-m", "statistic", "--mode", "random", "--probability", String(o.probability)]
  const portSets = o.ports === undefined ? undefined : chunks([...new Set(o.ports)].sort((a, b) => a - b), 15).map((ports) => ["-m", "multiport", "--ports", ports.join(",")])
  const icmp = v === 4 ? ["-p", "icmp", "-m", "icmp", "!", "--icmp-type", "destination-unreachable"] : ["-p", "ipv6-icmp", "-m", "icmp6", "!", "--icmpv6-type", "destination-unreachable"]
  const matches = (chain: Rule["chain"]): ReadonlyArray<{ readonly match: ReadonlyArray<string>; readonly jump: ReadonlyArray<string> }> => {
    const tcpReset = ["-j", "REJECT", "--reject-with", "tcp-reset"]
    const notReset = chain === "OUTPUT" ? ["!", "--tcp-flags", "RST", "RST"] : []
    if (!reject) return portSets === undefined ? [{ match: [], jump: ["-j", "DROP"] }] : portSets.flatMap((ports) => ["tcp", "udp"].map((p) => ({ match: ["-p", p, ...ports], jump: ["-j", "DROP"] })))
    if (portSets !== undefined)
      return portSets.flatMap((ports) => [
        { match: ["-p", "tcp", ...notReset, ...ports], jump: tcpReset },
        { match: ["-p", "udp", ...ports], jump: ["-j", "REJECT"] },
      ])
    return chain === "INPUT"
      ? [
          { match: ["-p", "tcp"], jump: tcpReset },
          { match: [], jump: ["-j", "REJECT"] },
        ]
      : [
          { match: ["-p", "tcp", ...notReset], jump: tcpReset },
          { match: ["-p", "udp"], jump: ["-j", "REJECT"] },
          { match: icmp, jump: ["-j", "REJECT"] },
        ]
  }
  const out: Array<Rule> = []
  for (const chain of chains) {
    const lo = chain === "INPUT" ? ["!", "-i", "lo"] : ["!", "-o", "lo"]
    for (const peer of peers ?? [undefined]) {
      const address = peer === undefined ? [] : [chain === "INPUT" ? "-s" : "-d", peer]
      for (const m of matches(chain)) out.push({ chain, args: [...lo, ...address, ...m.match, ...statistic, "-m", "comment", "--comment", tag, ...m.jump] })
    }
  }
  return out
}

const describePartition = (o: PartitionOptions): string => {
  const parts: Array<string> = [o.action ?? "drop", o.direction ?? "both"]
  if (o.probability !== undefined && o.probability < 1) parts.push(`p=${o.probability}`)
  if (o.ports !== undefined) parts.push(`ports ${o.ports.join(",")}`)
  if (o.peers !== undefined) parts.push(`peers ${o.peers.map((p) => (typeof p === "string" ? p : p.id)).join(",")}`)
  return parts.join(" ")
}

/**
 * Partitions the target's containers with iptables rules inserted at the top of INPUT (ingress)
 * and/or OUTPUT (egress) inside each container's network namespace, from the host
 * (`nsenter -t <pid> -n iptables …`, root needed). Every rule carries the comment
 * `shiftup:<runId>:<faultId>`. Rollback deletes exactly the rules with that comment; in a
 * container that has stopped since, the namespace and its rules are gone and there is nothing
 * to undo.
 *
 * @example
 * // the API cannot reach the database any more; everything else still flows
 * Docker.partition(api, { direction: "egress", peers: [db], action: "reject" })
 * // a lossy link: every packet of port 443 arriving at auth is dropped with probability 0.3
 * Docker.partition(auth, { direction: "ingress", ports: [443], probability: 0.3 })
 */
export const partition = (target: ContainerTarget, options: PartitionOptions = {}) => {
  const issues: Array<Issue> = []
  if (options.probability !== undefined && !(options.probability > 0 && options.probability <= 1)) issues.push({ path: "probability", message: `must be in (0, 1], got ${options.probability}` })
  if (options.ports !== undefined) {
    if (options.ports.length === 0) issues.push({ path: "ports", message: "give at least one port, or leave ports out to partition every port" })
    options.ports.forEach((p, i) => {
      if (!Number.isInteger(p) || p < 1 || p > 65535) issues.push({ path: `ports[${i}]`, message: `not a port number: ${p}` })
    })
  }
  if (options.peers !== undefined) {
    if (options.peers.length === 0) issues.push({ path: "peers", message: "give at least one peer, or leave peers out to partition from every address" })
    options.peers.forEach((p, i) => {
      if (typeof p === "string" && !validCidr(p)) issues.push({ path: `peers[${i}]`, message: `not an IP address or CIDR: ${JSON.stringify(p)}` })
    })
  }
  if (options.direction !== undefined && !["ingress", "egress", "both"].includes(options.direction)) issues.push({ path: "direction", message: "use ingress, egress or both" })
  if (options.action !== undefined && !["drop", "reject"].includes(options.action)) issues.push({ path: "action", message: "use drop or reject" })
  invalid("partition", issues)

  const id = options.id ?? `partition ${target.id}`
  const injectionFailed = (detail: string) => fail(new InjectionFailed({ fault: id, target: target.id, detail }))
  const planned = perRun<{ readonly tag: string; readonly byTool: ReadonlyArray<readonly [string, ReadonlyArray<Rule>]>; readonly namespaces: ReadonlyArray<NsFault.Entered> }>()

  return DockerFault.make({
    id,
    title: `partition ${target.id} (${describePartition(options)})`,
    target,
    kind: "docker.iptables-remove",
    preflight: NsFault.preflight(target.id, { fault: "partition", changes: "add DROP/REJECT rules to" }),
    capture: (list) =>
      Effect.gen(function* () {
        const runId = (yield* RunContext).runId
        const tag = ruleTag(runId, id)
        // Refused before anything is ledgered: a member without a namespace of its own this machine can enter.
        const namespaces = yield* NsFault.capture(id, target.id, list, "partition")
        const version = yield* Netns.run("iptables", ["--version"]).pipe(Effect.mapError(commandError(id, target.id)))
        // Peers: CIDRs as given, container targets as their current addresses.
        let cidrs: Array<string> | undefined
        if (options.peers !== undefined) {
          cidrs = []
          for (const p of options.peers) {
            if (typeof p === "string") cidrs.push(p.includes("/") ? p : `${p}/${family(p) === 4 ? 32 : 128}`)
            else {
              const peers = yield* members(p, (d) => injectionFailed(`peer ${p.id}: ${d}`))
              const addresses = peers.flatMap((c) => Object.values(c.networks).map((e) => e.ipv4)).filter((a) => a !== "")
              if (addresses.length === 0) return yield* Effect.fail(injectionFailed(`peer ${p.id} has no IPv4 address on any network`))
              cidrs.push(...addresses.map((a) => `${a}/32`))
            }
          }
          cidrs = [...new Set(cidrs)]
        }
        const v4 = cidrs === undefined ? undefined : cidrs.filter((c) => family(c) === 4)
        const v6 = cidrs === undefined ? undefined : cidrs.filter((c) => family(c) === 6)
        // IPv6 rules too when a peer is IPv6, or (every peer) when a container has IPv6 addresses.
        const anyIpv6 = v6 === undefined ? (yield* Effect.forEach(namespaces, (e) => Netns.hasIpv6(e.pid))).some((b) => b) : v6.length > 0
        const byTool: Array<readonly [string, ReadonlyArray<Rule>]> = []
        if (v4 === undefined || v4.length > 0) byTool.push(["iptables", rulesFor(options, v4, tag, 4)])
        if (anyIpv6) byTool.push(["ip6tables", rulesFor(options, v6, tag, 6)])
        planned.put(runId, { tag, byTool, namespaces })
        return {
          description: `delete the iptables rules commented ${tag} in the network namespace of ${DockerFault.names(list)} (recorded by identity; a namespace destroyed since took its rules with it)`,
          tag,
          tools: byTool.map(([tool]) => tool),
          backend: Netns.backendOf(version),
          rules: byTool.flatMap(([tool, rules]) => rules.map((r) => [tool, r.chain, ...r.args])),
          namespaces: namespaces.map((e) => ({ ...e })),
        }
      }),
    inject: () =>
      Effect.gen(function* () {
        const runId = (yield* RunContext).runId
        const plan = planned.take(runId)
        if (plan === undefined) return yield* Effect.fail(injectionFailed("the rules were not planned (compensation not captured)"))
        // Into exactly the namespaces the ledger names: one that changed since (a restart) is refused.
        yield* DockerFault.eachOf(plan.namespaces, (e) =>
          NsFault.inCaptured(e, (ns) =>
            Effect.gen(function* () {
              for (const [tool, rules] of plan.byTool) {
                const position = { INPUT: 0, OUTPUT: 0 }
                for (const r of rules) {
                  position[r.chain] += 1
                  yield* Netns.inNetns(ns, tool, ["-w", "5", "-I", r.chain, String(position[r.chain]), ...r.args])
                }
              }
            }),
          ).pipe(Effect.mapError((x) => injectionFailed(`container ${e.name}: ${x.detail}`))),
        )
      }),
    compensators,
  })
}

// ---------------------------------------------------------------------------------------------
// bandwidth

export interface BandwidthOptions extends FaultOptions {
  /** tc units (`"1mbit"`, `"512kbit"`, `"100kbps"` — bps is bytes per second in tc), or a number of bytes per second. */
  readonly rate: string | number
  /** Bucket size in bytes; default 10 ms of traffic at `rate`, at least 4096. */
  readonly burst?: number
  /** The longest a packet may wait in the queue before it is dropped; default 50 ms. */
  readonly latencyMs?: number
}

const units: Readonly<Record<string, number>> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12, bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9, tbps: 8e12, kibit: 1024, mibit: 1024 ** 2, gibit: 1024 ** 3, kibps: 8 * 1024, mibps: 8 * 1024 ** 2, gibps: 8 * 1024 ** 3 }

/** A rate in bits per second, or `undefined` when it is not one. */
export const rateBits = (rate: string | number): number | undefined => {
  if (typeof rate === "number") return Number.isFinite(rate) && rate > 0 ? Math.round(rate * 8) : undefined
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(rate)
  const unit = m === null ? undefined : units[(m[2] ?? "").toLowerCase()]
  if (m === null || unit === undefined) return undefined
  const bits = Math.round(Number(m[1]) * unit)
  return bits > 0 ? bits : undefined
}

/**
 * Limits the bandwidth of everything the target's containers send, on each of their
 * interfaces (not loopback): `tc qdisc replace dev <iface> root handle <h> tbf …` inside the
 * container's network namespace (root needed). An interface whose root qdisc was configured by
 * someone (anything but the kernel's default — noqueue, pfifo_fast… with handle `0:`) is
 * refused before anything changes, since its setup could not be restored. Rollback deletes the
 * tbf where it is still this fault's (same handle), which puts the kernel's default back.
 *
 * @example
 * Docker.bandwidth(api, { rate: "1mbit" })
 * Docker.bandwidth(api, { rate: 64_000, latencyMs: 200 }) // 64 kB/s
 */
export const bandwidth = (target: ContainerTarget, options: BandwidthOptions) => {
  const bits = rateBits(options.rate)
  const issues: Array<Issue> = []
  if (bits === undefined) issues.push({ path: "rate", message: `not a rate: ${JSON.stringify(options.rate)}; use tc units like "1mbit" or a number of bytes per second` })
  if (options.burst !== undefined && !(Number.isInteger(options.burst) && options.burst >= 1600)) issues.push({ path: "burst", message: `must be a whole number of bytes, at least 1600 (one full frame): ${options.burst}` })
  if (options.latencyMs !== undefined && !(options.latencyMs > 0)) issues.push({ path: "latencyMs", message: `must be positive: ${options.latencyMs}` })
  invalid("bandwidth", issues)
  const rate = bits ?? 1
  const burst = options.burst ?? Math.max(4096, Math.ceil(rate / 8 / 100))
  const latencyMs = options.latencyMs ?? 50
  const id = options.id ?? `bandwidth ${target.id}`
  const injectionFailed = (detail: string) => fail(new InjectionFailed({ fault: id, target: target.id, detail }))
  const planned = perRun<{ readonly handle: string; readonly interfaces: ReadonlyMap<number, ReadonlyArray<string>>; readonly namespaces: ReadonlyArray<NsFault.Entered> }>()

  return DockerFault.make({
    id,
    title: `limit ${target.id} to ${typeof options.rate === "number" ? `${options.rate} B/s` : options.rate}`,
    target,
    kind: "docker.tc-restore",
    preflight: NsFault.preflight(target.id, { fault: "bandwidth limit", changes: "replace the root queueing discipline (tc qdisc) of" }),
    capture: (list) =>
      Effect.gen(function* () {
        const runId = (yield* RunContext).runId
        const handle = tbfHandle(ruleTag(runId, id))
        const namespaces = yield* NsFault.capture(id, target.id, list, "shape")
        const interfaces = new Map<number, ReadonlyArray<string>>()
        const originals: Array<Json> = []
        for (const e of namespaces) {
          const seen = yield* NsFault.inCaptured(e, (ns) => Effect.all([Netns.interfaces(ns), Netns.qdiscs(ns)])).pipe(Effect.mapError((x) => injectionFailed(`container ${e.name}: ${x.detail}`)))
          const [names, qdiscs] = seen
          if (names.length === 0) return yield* Effect.fail(injectionFailed(`container ${e.name} has no network interface but loopback`))
          const roots = qdiscs.filter((q) => q.root)
          for (const dev of names) {
            const root = roots.find((q) => q.dev === dev)
            if (root !== undefined && root.handle !== "0:")
              return yield* Effect.fail(
                injectionFailed(
                  `container ${e.name}: ${dev} already has a configured root qdisc (${root.kind} ${root.handle}); shiftup can only put back the kernel's default qdisc, so it refuses to replace this one`,
                ),
              )
            originals.push({ container: e.container, name: e.name, dev, kind: root?.kind ?? "none", handle: root?.handle ?? "" })
          }
          interfaces.set(e.netns, names)
        }
        planned.put(runId, { handle, interfaces, namespaces })
        const kinds = [...new Set(objs(originals).map((o) => str(o["kind"])))]
        return {
          description: `delete the tbf qdisc ${handle} from ${objs(originals).map((o) => `${str(o["name"])}/${str(o["dev"])}`).join(", ")} where it is still there, putting back the default (${kinds.join(", ")})`,
          handle,
          rateBits: rate,
          burst,
          latencyMs,
          originals,
          namespaces: namespaces.map((e) => ({ ...e })),
        }
      }),
    inject: () =>
      Effect.gen(function* () {
        const runId = (yield* RunContext).runId
        const plan = planned.take(runId)
        if (plan === undefined) return yield* Effect.fail(injectionFailed("the interfaces were not planned (compensation not captured)"))
        yield* DockerFault.eachOf(plan.namespaces, (e) =>
          NsFault.inCaptured(e, (ns) =>
            Effect.forEach(plan.interfaces.get(e.netns) ?? [], (dev) =>
              Netns.inNetns(ns, "tc", ["qdisc", "replace", "dev", dev, "root", "handle", plan.handle, "tbf", "rate", `${rate}bit`, "burst", String(burst), "latency", `${latencyMs}ms`]),
            ),
          ).pipe(Effect.mapError((x) => injectionFailed(`container ${e.name}: ${x.detail}`))),
        )
      }),
    compensators,
  })
}
