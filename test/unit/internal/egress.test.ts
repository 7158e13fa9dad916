import { lookup } from "node:dns/promises"
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import type { ShiftupError } from "shiftup"
import { checkEgress, defaultEgress, isEgressEntry, makeEgress } from "../../../src/internal/egress.ts"

const check = (allowed: ReadonlyArray<string>, host: string) => Effect.runPromiseExit(checkEgress(makeEgress(allowed), host))

const denial = async (allowed: ReadonlyArray<string>, host: string) => {
  const exit = await check(allowed, host)
  if (Exit.isSuccess(exit)) return expect.fail(`${host} was allowed by [${allowed.join(", ")}]`)
  const e = await Effect.runPromise(Effect.flip(checkEgress(makeEgress(allowed), host)))
  return e as ShiftupError
}

describe("egress allowlist (invariant 7)", () => {
  it("the default allows loopback only", async () => {
    expect(defaultEgress).toEqual(["127.0.0.0/8", "::1/128"])
    for (const host of ["127.0.0.1", "127.8.9.10", "::1", "[::1]"]) {
      const exit = await check(defaultEgress, host)
      expect(Exit.isSuccess(exit), host).toBe(true)
    }
    expect(await Effect.runPromise(checkEgress(makeEgress(defaultEgress), "[::1]"))).toEqual({ address: "::1", family: 6 })
    expect(await Effect.runPromise(checkEgress(makeEgress(defaultEgress), "127.0.0.1"))).toEqual({ address: "127.0.0.1", family: 4 })
  })

  it("denies any other address with EgressDenied, naming it and the allowlist", async () => {
    for (const host of ["10.0.0.1", "10.255.255.1", "192.168.1.1", "8.8.8.8", "0.0.0.0", "::", "2001:db8::1", "::ffff:10.0.0.1"]) {
      const reason = await denial(defaultEgress, host)
      expect(reason).toMatchObject({ _tag: "EgressDenied", host, allowed: defaultEgress })
    }
    expect(await denial(defaultEgress, "10.0.0.1")).toMatchObject({ address: "10.0.0.1" })
  })

  it("a DNS name is resolved and every address it resolves to is checked", async () => {
    const addresses = (await lookup("localhost", { all: true, verbatim: true })).map((a) => a.address)
    expect(addresses.length).toBeGreaterThan(0)
    const ok = await Effect.runPromise(checkEgress(makeEgress(defaultEgress), "localhost"))
    expect(addresses).toContain(ok.address)
    // The name itself is never on the list: narrowed to a network it does not resolve into, it is denied.
    const reason = await denial(["10.0.0.0/8"], "localhost")
    expect(reason).toMatchObject({ _tag: "EgressDenied", host: "localhost" })
    expect(addresses).toContain((reason as { address: string }).address)
    // Allowed only if *every* address is allowed.
    const only = addresses[0]?.includes(":") === true ? "::1/128" : "127.0.0.1"
    const exit = await check([only], "localhost")
    expect(Exit.isSuccess(exit)).toBe(addresses.every((a) => (only === "::1/128" ? a === "::1" : a === "127.0.0.1")))
  })

  it("custom networks and single addresses", async () => {
    expect(Exit.isSuccess(await check(["10.1.0.0/16"], "10.1.2.3"))).toBe(true)
    expect(Exit.isSuccess(await check(["10.1.0.0/16"], "10.2.0.1"))).toBe(false)
    expect(Exit.isSuccess(await check(["::1"], "::1"))).toBe(true)
    expect(Exit.isSuccess(await check(["::1"], "127.0.0.1"))).toBe(false)
    expect(Exit.isSuccess(await check([], "127.0.0.1"))).toBe(false)
  })

  it("entries are IPs or CIDRs; a name is rejected with a readable error", () => {
    expect(() => makeEgress(["example.com"])).toThrow(/not an IP address or CIDR/)
    for (const ok of ["10.0.0.0/8", "192.168.1.7", "::1/128", "fd00::/8", "0.0.0.0/0"]) expect(isEgressEntry(ok), ok).toBe(true)
    for (const bad of ["10.0.0.0/33", "::1/129", "example.com", "10.0.0.0/8/1", "10.0.0.0/x", ""]) expect(isEgressEntry(bad), bad).toBe(false)
  })
})
