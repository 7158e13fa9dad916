/**
 * The iptables rules of a partition, and the marks that tell a fault's own changes from anyone
 * else's: the comment on its rules (`shiftup:<runId>:<faultId>`) and the handle of its tbf. Pure:
 * no engine, no namespace.
 */
import { createHash } from "node:crypto"
import { isIP } from "node:net"

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

/** What shapes a partition's rules (see `PartitionOptions`). */
export interface RuleOptions {
  readonly direction?: "ingress" | "egress" | "both"
  readonly action?: "drop" | "reject"
  readonly probability?: number
  readonly ports?: ReadonlyArray<number>
}

export interface Rule {
  readonly chain: "INPUT" | "OUTPUT"
  readonly args: ReadonlyArray<string>
}

/** The address family of an address or CIDR. */
export const family = (cidr: string): 4 | 6 => (isIP(cidr.split("/")[0] ?? "") === 6 ? 6 : 4)

/** Whether `s` is an IP address or a CIDR. */
export const validCidr = (s: string): boolean => {
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
export const rulesFor = (o: RuleOptions, peers: ReadonlyArray<string> | undefined, tag: string, v: 4 | 6): ReadonlyArray<Rule> => {
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
