/**
 * Restored exactly, whatever the data and the faults: fast-check builds a random keyspace (strings
 * with binary values, hashes, lists, sets, zsets; some with expiries, some out of scope) and a
 * random sequence of Redis faults (every corrupt mode, encrypt with or without a note, expire;
 * random samples and seeds), runs them through the real runner on a real redis-server, and
 * checks that after rollback every key — in scope or not — has the same type, DUMP payload and
 * expiry instant as before. Coverage counters make sure every fault and type was exercised.
 */
import fc from "fast-check"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, expect, it } from "vitest"
import { Experiment, Runner, type Fault } from "../../src/index.ts"
import * as Data from "../../src/data/index.ts"
import { snapshot, useRedisServer } from "../support/redis-data.ts"

const { Redis } = Data
const redis = useRedisServer()
const dirs: Array<string> = []

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const bytes = fc.uint8Array({ minLength: 0, maxLength: 40 }).map((a) => Buffer.from(a))
const text = fc.oneof(fc.string({ maxLength: 20 }), fc.json({ maxDepth: 2 }))
const element = fc.oneof(text.map((t) => Buffer.from(t)), bytes)
const name = fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.constantFrom("", "é", "🔑", ":x")).map(([a, b]) => a + b)

const keyspec = fc.record({
  scoped: fc.boolean(),
  name,
  ttl: fc.option(fc.integer({ min: 5_000, max: 3_600_000 }), { nil: undefined }),
  value: fc.oneof(
    element.map((v) => ({ type: "string" as const, v })),
    fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), element), { minLength: 1, maxLength: 6 }).map((v) => ({ type: "hash" as const, v })),
    fc.array(element, { minLength: 1, maxLength: 6 }).map((v) => ({ type: "list" as const, v })),
    fc.array(fc.oneof(element, fc.integer({ min: -50, max: 50 }).map((n) => Buffer.from(String(n)))), { minLength: 1, maxLength: 6 }).map((v) => ({ type: "set" as const, v })),
    fc.array(fc.tuple(element, fc.double({ min: -1e6, max: 1e6, noNaN: true })), { minLength: 1, maxLength: 6 }).map((v) => ({ type: "zset" as const, v })),
  ),
})

const faultspec = fc.record({
  kind: fc.constantFrom("garble-json", "truncate", "type-confuse", "set", "set-field", "encrypt", "encrypt-note", "expire"),
  sample: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
})

const seen = new Map<string, number>()
const count = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1)

const toFault = (t: Data.Redis.RedisTarget, f: { readonly kind: string; readonly sample: number; readonly seed: number }, i: number): Fault.Fault => {
  const common = { id: `f${i} ${f.kind}`, sample: f.sample, seed: f.seed }
  switch (f.kind) {
    case "set":
      return Redis.corrupt(t, { ...common, mode: "set", value: "admin" })
    case "set-field":
      return Redis.corrupt(t, { ...common, mode: "set", field: "role", value: "admin" })
    case "encrypt":
      return Redis.encrypt(t, common)
    case "encrypt-note":
      return Redis.encrypt(t, { ...common, note: "p:README" })
    case "expire":
      return Redis.expire(t, { ...common, ttl: f.seed % 2 === 0 ? 0 : 1 })
    default:
      return Redis.corrupt(t, { ...common, mode: f.kind as "garble-json" | "truncate" | "type-confuse" })
  }
}

it("any keyspace, any fault sequence: the rollback restores every key exactly (type, content, expiry)", async () => {
  const target = Redis.target("prop", { url: `redis://127.0.0.1:${redis.server.port}`, environment: "lab", keys: "p:*" })
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(keyspec, { minLength: 1, maxLength: 12, selector: (k) => `${k.scoped}${k.name}` }), fc.array(faultspec, { minLength: 1, maxLength: 3 }), async (keys, faults) => {
      await redis.client.sendCommand(["FLUSHALL"])
      const now = Date.now()
      for (const k of keys) {
        const key = `${k.scoped ? "p:" : "q:"}${k.name}`
        const v = k.value
        count(`type ${v.type}${k.ttl === undefined ? "" : " ttl"}`)
        if (v.type === "string") await redis.client.sendCommand(["SET", key, v.v])
        else if (v.type === "hash") await redis.client.sendCommand(["HSET", key, ...v.v.flatMap(([f, x]) => [f, x])])
        else if (v.type === "list") await redis.client.sendCommand(["RPUSH", key, ...v.v])
        else if (v.type === "set") await redis.client.sendCommand(["SADD", key, ...v.v])
        else await redis.client.sendCommand(["ZADD", key, ...v.v.flatMap(([m, s]) => [String(s), m])])
        if (k.ttl !== undefined) await redis.client.sendCommand(["PEXPIREAT", key, String(now + k.ttl)])
      }
      const before = await snapshot(redis.client)
      const list = faults.map((f, i) => toFault(target, f, i))
      for (const f of faults) count(`fault ${f.kind}`)
      const state = mkdtempSync(join(tmpdir(), "shiftup-redis-prop-"))
      dirs.push(state)
      const j = await Runner.runPromise(
        Experiment.make({ id: "data.redis.prop", title: "prop", targets: { target }, budget: { maxConcurrentFaults: list.length, maxDestroySteps: list.length }, method: list }),
        { stateDir: state, journal: false },
      )
      expect(j.status, JSON.stringify({ summary: j.summary, errors: j.errors, rollbacks: j.rollbacks })).toBe("passed")
      expect(await snapshot(redis.client)).toEqual(before)
    }),
    { numRuns: 30, endOnFailure: true },
  )
  for (const k of ["garble-json", "truncate", "type-confuse", "set", "set-field", "encrypt", "encrypt-note", "expire"]) expect(seen.get(`fault ${k}`) ?? 0, `fault ${k} exercised`).toBeGreaterThan(0)
  for (const t of ["string", "hash", "list", "set", "zset"]) expect(seen.get(`type ${t}`) ?? 0, `type ${t} exercised`).toBeGreaterThan(0)
}, 240_000)
