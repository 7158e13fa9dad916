/**
 * Partition: iptables rules inside each container's network namespace, entered from the host as
 * root (`nsenter`), so the image needs no tools and no capabilities. Refused at plan time on a
 * container using the host's network, sharing an unplanned container's namespace, or with no
 * network (`internal/nsfault.ts`). Its compensation, `docker.iptables-remove`, names exactly
 * the rules it added (the comment `shiftup:<runId>:<faultId>`) and the namespaces it added them
 * to (by identity), so a rollback never removes anything it did not add, never enters another
 * namespace, and proves the rules gone.
 */
import { Effect, Schema } from "effect"
import { RunContext } from "../../RunContext.ts"
import { fail, InjectionFailed, type Issue, type ShiftupError } from "../../ShiftupError.ts"
import * as DockerFault from "../internal/fault.ts"
import type { FaultOptions } from "../internal/fault.ts"
import { declare, NamespaceRecord, Strings } from "../internal/kind.ts"
import { members } from "../internal/members.ts"
import * as Netns from "../internal/netns.ts"
import * as NsFault from "../internal/nsfault.ts"
import { family, type Rule, type RuleOptions, ruleTag, rulesFor, validCidr } from "../internal/rules.ts"
import type { ContainerTarget } from "../targets.ts"

export { ruleTag } from "../internal/rules.ts"

const Tag = Schema.String.check(Schema.isPattern(/^shiftup:[\w.:@+=/-]{1,247}$/, { message: "a rule tag shiftup:<runId>:<faultId>" }))

type Tool = "iptables" | "ip6tables"

/** The first of `checks` (in order) that finds something left. */
const firstLeft = (checks: ReadonlyArray<Effect.Effect<string | undefined, Netns.CommandFailed>>) => Effect.forEach(checks, (x) => x).pipe(Effect.map((found) => found.find((l) => l !== undefined)))

/** Deletes exactly the rules commented with the fault's tag, in exactly the namespaces it entered, and proves them gone. */
export const IptablesRemove = declare({
  kind: "docker.iptables-remove",
  fields: {
    tag: Tag,
    tools: Schema.Array(Schema.Literals(["iptables", "ip6tables"])).check(Schema.isMinLength(1)),
    backend: Schema.String,
    rules: Schema.Array(Strings),
    namespaces: Schema.Array(NamespaceRecord),
  },
  undo: (r, engine) => NsFault.proveGone(r, engine, (ns) => firstLeft(r.tools.map((tool) => NsFault.removeTagged(ns, tool, r.tag)))),
  verify: (r, engine) => NsFault.inEachNamespace(r, engine, (ns) => firstLeft(r.tools.map((tool) => NsFault.rulesLeft(ns, tool, r.tag)))),
  // An insert in flight when the runner died waits at most 5 s for the xtables lock (`-w 5`).
  settleMs: 6000,
})

export interface PartitionOptions extends FaultOptions, RuleOptions {
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

const commandError = (fault: string, target: string) => (e: Netns.CommandFailed): ShiftupError => fail(new InjectionFailed({ fault, target, detail: e.detail }))

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
  DockerFault.invalidOptions("partition", issues)

  const id = options.id ?? `partition ${target.id}`
  const injectionFailed = (detail: string) => fail(new InjectionFailed({ fault: id, target: target.id, detail }))
  return DockerFault.make({
    id,
    title: `partition ${target.id} (${describePartition(options)})`,
    target,
    kind: IptablesRemove,
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
        const byTool: Array<readonly [Tool, ReadonlyArray<Rule>]> = []
        if (v4 === undefined || v4.length > 0) byTool.push(["iptables", rulesFor(options, v4, tag, 4)])
        if (anyIpv6) byTool.push(["ip6tables", rulesFor(options, v6, tag, 6)])
        return {
          record: {
            description: `delete the iptables rules commented ${tag} in the network namespace of ${DockerFault.names(list)} (recorded by identity; a namespace destroyed since took its rules with it)`,
            tag,
            tools: byTool.map(([tool]) => tool),
            backend: Netns.backendOf(version),
            rules: byTool.flatMap(([tool, rules]) => rules.map((r) => [tool, r.chain, ...r.args])),
            namespaces: namespaces.map((e) => ({ ...e })),
          },
          plan: { byTool, namespaces },
        }
      }),
    inject: (_list, _engine, plan) =>
      Effect.gen(function* () {
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
  })
}
