/**
 * The egress allowlist (invariant 7): a destination is allowed only if every address its name
 * resolves to lies in an allowed network. Callers connect to the address that was checked, so a
 * DNS answer cannot change between the check and the connection.
 */
import { lookup } from "node:dns/promises"
import { BlockList, isIPv4 } from "node:net"
import { Effect } from "effect"
import { EgressDenied, fail, type ShiftupError } from "../ShiftupError.ts"

/**
 * `net.isIP` without its IPv6 regular expression, whose compilation at first use costs 10–20 ms
 * (most of a cold plan: the default allowlist holds `::1`); the URL parser checks an IPv6
 * literal in microseconds. Zone ids (`fe80::1%eth0`) are no address an allowlist can hold.
 */
const isIP = (s: string): 0 | 4 | 6 => (isIPv4(s) ? 4 : /^[0-9a-f:.]+$/i.test(s) && s.includes(":") && URL.canParse(`http://[${s}]/`) ? 6 : 0)

/** Loopback only. The Docker adapter adds the engine's own container networks when it is used. */
export const defaultEgress: ReadonlyArray<string> = ["127.0.0.0/8", "::1/128"]

/** A host written as a loopback address or name (`localhost`, 127.0.0.0/8, `::1`), by its text alone: no lookup. */
export const isLoopbackHost = (host: string): boolean => host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)

export interface Egress {
  readonly allowed: ReadonlyArray<string>
  readonly list: BlockList
}

/** Builds an allowlist from CIDRs and addresses; throws a readable error for a malformed entry. */
export const makeEgress = (entries: ReadonlyArray<string>): Egress => {
  const list = new BlockList()
  for (const entry of entries) {
    const [address = "", bits] = entry.split("/")
    const family = isIP(address)
    if (family === 0) throw new Error(`egress entry "${entry}" is not an IP address or CIDR (names are checked after resolution, so list their networks)`)
    const type = family === 4 ? "ipv4" : "ipv6"
    if (bits === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(bits), type)
  }
  return { allowed: entries, list }
}

export const isEgressEntry = (entry: string): boolean => {
  const [address = "", bits, extra] = entry.split("/")
  const family = isIP(address)
  if (family === 0 || extra !== undefined) return false
  if (bits === undefined) return true
  const n = Number(bits)
  return Number.isInteger(n) && n >= 0 && n <= (family === 4 ? 32 : 128)
}

const allows = (egress: Egress, address: string): boolean => {
  const family = isIP(address)
  return family !== 0 && egress.list.check(address, family === 4 ? "ipv4" : "ipv6")
}

/** Resolves `host` and returns the address to connect to, or fails with `EgressDenied`. */
export const checkEgress = (egress: Egress, host: string): Effect.Effect<{ readonly address: string; readonly family: 4 | 6 }, ShiftupError> =>
  Effect.gen(function* () {
    const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
    const addresses =
      isIP(bare) !== 0
        ? [{ address: bare, family: isIP(bare) }]
        : yield* Effect.tryPromise({
            try: () => lookup(bare, { all: true, verbatim: true }),
            catch: () => fail(new EgressDenied({ host, address: "unresolvable", allowed: egress.allowed })),
          })
    const denied = addresses.find((a) => !allows(egress, a.address))
    const first = addresses[0]
    if (denied !== undefined || first === undefined)
      return yield* Effect.fail(fail(new EgressDenied({ host, address: denied?.address ?? "none", allowed: egress.allowed })))
    return { address: first.address, family: first.family === 6 ? 6 : 4 }
  })
