/**
 * The Redis scope and sample, without a server: glob patterns match as Redis's own MATCH does
 * (for the patterns a scope uses), a seeded sample is stable and of the promised size, and the
 * target refuses bad options with every issue at once and declares its endpoint.
 */
import fc from "fast-check"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { globMatches } from "../../../src/data/redis/internal/scope.ts"
import { pick } from "../../../src/data/redis/internal/fault.ts"
import { target } from "../../../src/data/redis/targets.ts"
import * as Data from "../../../src/data/index.ts"
import { Compensation } from "../../../src/index.ts"

describe("globMatches", () => {
  it.each([
    ["session:*", "session:alice", true],
    ["session:*", "session:", true],
    ["session:*", "sessions:alice", false],
    ["user:?", "user:1", true],
    ["user:?", "user:12", false],
    ["h[ae]llo", "hallo", true],
    ["h[^e]llo", "hello", false],
    ["h[a-c]llo", "hbllo", true],
    ["a\\*b", "a*b", true],
    ["a\\*b", "axb", false],
    ["k.*", "kx", false],
    ["🔑*", "🔑x", true],
  ] as const)("%s ~ %s is %s", (pattern, key, expected) => {
    expect(globMatches(pattern, key)).toBe(expected)
  })
})

describe("pick", () => {
  it("takes ceil(sample × n) keys, the same ones for the same seed, sorted", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string(), { maxLength: 40 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer(), (keys, sample, seed) => {
        const sorted = [...keys].sort()
        const a = pick(sorted, sample, seed)
        expect(a.length).toBe(Math.ceil(sample * keys.length))
        expect(pick(sorted, sample, seed)).toEqual(a)
        expect([...a].sort()).toEqual(a)
        for (const k of a) expect(keys).toContain(k)
      }),
    )
  })
})

describe("target", () => {
  it("is a data store with its endpoint declared, and no secret in its member", async () => {
    const t = target("s", { url: "redis://app@127.0.0.1:6390/2", environment: "lab", keys: ["a:*", "b:*"] })
    expect(t.dataStore).toBe("redis")
    expect(t.endpoint).toBe("127.0.0.1:6390")
    const r = await Effect.runPromise(t.resolve)
    expect(r.members).toEqual([expect.objectContaining({ id: "redis://127.0.0.1:6390/2", endpoints: [{ host: "127.0.0.1", port: 6390, protocol: "tcp" }] })])
  })

  it("refuses every issue at once", () => {
    let message = ""
    try {
      target("s", { url: "http://u:secret@127.0.0.1", passwordEnv: "1bad", keys: [] })
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toMatch(/scheme is http/)
    expect(message).toMatch(/holds a password/)
    expect(message).toMatch(/not an environment variable name/)
    expect(message).toMatch(/name the keys faults may touch/)
  })
})

describe("the data.redis.* records", () => {
  const good = { kind: "data.redis.corrupt", description: "d", target: "t", url: "redis://127.0.0.1:6390", passwordEnv: "PW", images: [{ key: "a", dump: null, content: null, expireAt: -1 }] }

  it("every Redis kind is registered under shiftup/data's compensators", () => {
    expect(Object.keys(Data.compensators).filter((k) => k.startsWith("data.redis.")).sort()).toEqual(["data.redis.corrupt", "data.redis.encrypt", "data.redis.eviction-pressure", "data.redis.expire", "data.redis.flushdb", "data.redis.replay"])
  })

  it.each([
    ["a password in the url", { ...good, url: "redis://:hunter2@127.0.0.1:6390" }],
    ["another scheme", { ...good, url: "http://127.0.0.1:6390" }],
    ["a dump that is not base64", { ...good, images: [{ key: "a", dump: "not base64!", expireAt: -1 }] }],
    ["an expiry that is not an instant", { ...good, images: [{ key: "a", dump: null, expireAt: -5 }] }],
    ["a bad variable name", { ...good, passwordEnv: "1X" }],
  ])("a forged record (%s) is refused before anything runs", async (_, forged) => {
    const exit = await Effect.runPromiseExit(Compensation.restore(Data.compensators["data.redis.corrupt"], forged))
    expect(exit._tag).toBe("Failure")
    expect(JSON.stringify(exit)).toMatch(/InvalidCompensation/)
  })
})
