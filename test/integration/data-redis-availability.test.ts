/**
 * `shiftup/data` Redis availability and stale-data faults, through the real runner against a real
 * redis-server with a password: `evictionPressure` (writes fail with OOM, or keys are evicted),
 * `flushDb` (every key gone) and `replay` (older values back) change what they say while held,
 * and the rollback restores every key (type, content, expiry instant) and every server parameter
 * exactly. The floor (production and unknown: zero commands at the server; staging refuses
 * `flushDb`), the scope rules (a key outside the scope refuses eviction and FLUSHDB; a scope over
 * its bound) and the plan's record of its read-only scope scan (`plan.contacts`), which never runs
 * once the budget or the policy refuses the run. A compensation that cannot log in stops at once.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Compensation, Expect, Experiment, Probe, Runner, type Fault, type Journal, type Target } from "../../src/index.ts"
import * as Data from "../../src/data/index.ts"
import { ledgerRecords } from "../support/proc-cli.ts"
import { counters, seedSessions, snapshot, type TestClient, useRedisServer } from "../support/redis-data.ts"

const { Redis } = Data
const password = `pw-${Math.random().toString(36).slice(2)}-avail`
const passwordEnv = "SHIFTUP_TEST_REDIS_AVAIL_PASSWORD"
const redis = useRedisServer(password)
const states: Array<string> = []

beforeAll(() => {
  process.env[passwordEnv] = password
})

afterAll(() => {
  for (const s of states) rmSync(s, { recursive: true, force: true })
})

const url = () => `redis://127.0.0.1:${redis.server.port}`
/** Every key seedSessions writes is in this scope. */
const whole = ["session:*", "config:*"]
const target = (keys: string | ReadonlyArray<string> = whole, environment: Target.Environment | "none" = "lab") =>
  Redis.target("cache", { url: url(), passwordEnv, keys, ...(environment === "none" ? {} : { environment }) })

const stateDir = () => {
  const s = mkdtempSync(join(tmpdir(), "shiftup-redis-avail-"))
  states.push(s)
  return s
}

/** The server parameters the faults set, as CONFIG GET reads them. */
const config = async (c: TestClient) => ({
  maxmemory: String(((await c.sendCommand(["CONFIG", "GET", "maxmemory"])) as Array<string>)[1]),
  policy: String(((await c.sendCommand(["CONFIG", "GET", "maxmemory-policy"])) as Array<string>)[1]),
})

const ledgered = (state: string) => (readdirSync(state).includes("ledger") ? readdirSync(join(state, "ledger")) : [])

const passed = (j: Journal.Journal) => expect(j.status, JSON.stringify({ summary: j.summary, errors: j.errors, rollbacks: j.rollbacks, refusal: j.refusal }, null, 1)).toBe("passed")

/** Runs `faults` then `during` (what the test observes while they are held) on the lab target. */
const hold = async (t: Data.Redis.RedisTarget, faults: ReadonlyArray<Fault.Fault>, during: () => Promise<void>) => {
  const spy = Probe.make({ id: "while held", target: t, observe: async () => (await during(), true) })
  const state = stateDir()
  const journal = await Runner.runPromise(
    Experiment.make({
      id: "data.redis.avail",
      title: "availability faults",
      targets: { t },
      budget: { maxConcurrentFaults: faults.length, maxDestroySteps: faults.filter((f) => f.safety === "destroy").length },
      method: [...faults, Expect.that(spy, true)],
    }),
    { stateDir: state },
  )
  return { journal, state }
}

/** Every intent's compensation replayed twice more: converges at once, changes nothing. */
const replayTwice = async (state: string) => {
  for (const intent of ledgerRecords(state).filter((r) => r.type === "intent")) {
    const c = intent["compensation"] as Compensation.Compensation
    for (let i = 0; i < 2; i++) expect(await Effect.runPromise(Compensation.restore(Data.compensators[c.kind], c))).toEqual({ _tag: "restored", attempts: 1 })
  }
}

describe("evictionPressure", () => {
  it("noeviction under a tiny maxmemory: writes fail with OOM while held; rollback restores maxmemory, the policy and every key exactly", async () => {
    await seedSessions(redis.client)
    const before = await snapshot(redis.client)
    const params = await config(redis.client)
    let oom = ""
    let held = { maxmemory: "", policy: "" }
    const { journal, state } = await hold(target(), [Redis.evictionPressure(target(), { maxmemory: "1kb", policy: "noeviction" })], async () => {
      held = await config(redis.client)
      oom = await redis.client.set("session:new", "x").then(
        () => "accepted",
        (e: unknown) => String(e),
      )
    })
    passed(journal)
    expect(held).toEqual({ maxmemory: "1024", policy: "noeviction" })
    expect(oom).toMatch(/OOM/)
    expect(await config(redis.client)).toEqual(params)
    expect(await snapshot(redis.client)).toEqual(before)
    await replayTwice(state)
    expect(await snapshot(redis.client)).toEqual(before)
    expect(await config(redis.client)).toEqual(params)
  })

  it("allkeys-lru under a tiny maxmemory: keys are evicted while held, and the rollback brings the evicted keys back", async () => {
    await seedSessions(redis.client)
    const before = await snapshot(redis.client)
    const params = await config(redis.client)
    let left = -1
    const { journal } = await hold(target(), [Redis.evictionPressure(target(), { maxmemory: 1, policy: "allkeys-lru" })], async () => {
      // A write makes Redis evict down to the limit (and then refuse: nothing is left to evict).
      await redis.client.set("session:trigger", "x").catch(() => undefined)
      left = Object.keys(await snapshot(redis.client)).length
    })
    passed(journal)
    expect(left).toBeLessThan(Object.keys(before).length)
    expect(await snapshot(redis.client)).toEqual(before)
    expect(await config(redis.client)).toEqual(params)
  })

  it("a key outside the scope anywhere on the server (eviction is server-wide) is refused at plan time: data.redis.keys-outside-scope, nothing set", async () => {
    await seedSessions(redis.client)
    const params = await config(redis.client)
    const state = stateDir()
    const t = target("session:*")
    const j = await Runner.runPromise(Experiment.make({ id: "data.redis.outside", title: "outside", targets: { t }, method: [Redis.evictionPressure(t, { maxmemory: "1mb" })] }), { stateDir: state })
    expect(j.status).toBe("refused")
    expect(j.refusal?.rule).toBe("data.redis.keys-outside-scope")
    expect(j.refusal?.reason).toMatch(/1 key outside the scope session:\*/)
    expect(ledgered(state)).toEqual([])
    expect(await config(redis.client)).toEqual(params)
  })

  it("bad options are InvalidExperiment listing every issue", () => {
    const thrown = (() => {
      try {
        Redis.evictionPressure(target(), { maxmemory: 0, policy: "lru" as never })
      } catch (e) {
        return e as Error
      }
      return undefined
    })()
    expect(thrown?.message).toMatch(/maxmemory: 0 is not a memory limit/)
    expect(thrown?.message).toMatch(/policy: "lru" is not an eviction policy/)
  })
})

describe("flushDb", () => {
  it("every key gone while held; rollback restores each with its type, content and expiry instant", async () => {
    await seedSessions(redis.client)
    const before = await snapshot(redis.client)
    let size = -1
    const { journal, state } = await hold(target("*"), [Redis.flushDb(target("*"))], async () => {
      size = Number(await redis.client.sendCommand(["DBSIZE"]))
    })
    passed(journal)
    expect(size).toBe(0)
    expect(await snapshot(redis.client)).toEqual(before)
    await replayTwice(state)
    expect(await snapshot(redis.client)).toEqual(before)
  })

  it("a database holding keys outside the scope is refused at plan time (unless the scope is `*`); a scope over maxKeys too", async () => {
    await seedSessions(redis.client)
    const before = await snapshot(redis.client)
    for (const [t, options, rule] of [
      [target("session:*"), {}, "data.redis.keys-outside-scope"],
      [target("*"), { maxKeys: 3 }, "data.redis.max-keys"],
      [target("*"), { maxBytes: 50 }, "data.redis.max-bytes"],
    ] as const) {
      const state = stateDir()
      const j = await Runner.runPromise(Experiment.make({ id: "data.redis.flush-refused", title: "refused", targets: { t }, budget: { maxDestroySteps: 1 }, method: [Redis.flushDb(t, options)] }), { stateDir: state })
      expect(j.refusal?.rule).toBe(rule)
      expect(ledgered(state)).toEqual([])
    }
    expect(await snapshot(redis.client)).toEqual(before)
  })
})

describe("replay", () => {
  it("given values: an old token written back over the current one, a revoked (deleted) key back; rollback restores the current state exactly", async () => {
    await seedSessions(redis.client)
    const before = await snapshot(redis.client)
    let seen: Record<string, string | null> = {}
    const t = target()
    const bobExpires = String(await redis.client.sendCommand(["PEXPIRETIME", "session:bob"]))
    const { journal, state } = await hold(t, [Redis.replay(t, { from: { "session:alice": "old-token", "session:bob": "old-bob", "session:zed": "revoked-token" } })], async () => {
      seen = { alice: await redis.client.get("session:alice"), bob: await redis.client.get("session:bob"), zed: await redis.client.get("session:zed"), bobExpires: String(await redis.client.sendCommand(["PEXPIRETIME", "session:bob"])) }
    })
    passed(journal)
    // A given string keeps the key's expiry instant (SET … KEEPTTL).
    expect(seen).toEqual({ alice: "old-token", bob: "old-bob", zed: "revoked-token", bobExpires })
    expect(Number(bobExpires)).toBeGreaterThan(0)
    expect(await snapshot(redis.client)).toEqual(before)
    await replayTwice(state)
    expect(await snapshot(redis.client)).toEqual(before)
  })

  it("from a snapshot observed earlier in a generator experiment: the password hash before its rotation comes back while held; rollback leaves the rotated one", async () => {
    await seedSessions(redis.client)
    await redis.client.hSet("config:user:alice", { hash: "$argon2id$old", role: "admin" })
    const t = target()
    let during: Record<string, string> = {}
    const j = await Runner.runPromise(
      Experiment.gen({ id: "data.redis.replay-gen", title: "replay an old password hash", targets: { t }, mayInject: { t: "disrupt" } }, function* (ctx) {
        const old = yield* ctx.observe(Redis.snapshot(t, ["config:user:alice"]))
        // The application rotates the password: the store holds the new hash.
        yield* ctx.observe(Probe.make({ id: "rotate", target: t, observe: () => redis.client.hSet("config:user:alice", "hash", "$argon2id$new") }))
        yield* ctx.inject(Redis.replay(t, { from: old }))
        yield* ctx.observe(Probe.make({ id: "look", target: t, observe: async () => (during = await redis.client.hGetAll("config:user:alice")) }))
      }),
      { stateDir: stateDir() },
    )
    passed(j)
    expect(during).toEqual({ hash: "$argon2id$old", role: "admin" })
    expect(await redis.client.hGetAll("config:user:alice")).toEqual({ hash: "$argon2id$new", role: "admin" })
  })

  it("a key outside the scope, or without an older value, is InvalidExperiment", () => {
    expect(() => Redis.replay(target("session:*"), { from: { "user:x": "v" } })).toThrow(/"user:x" is not in the target's scope/)
    expect(() => Redis.replay(target(), { from: { "session:a": "v" }, keys: ["session:b"] })).toThrow(/"session:b" has no older value/)
  })
})

describe("the floor: refused before anything reaches the server", () => {
  const every = (t: Data.Redis.RedisTarget) => [Redis.evictionPressure(t, { maxmemory: "1mb" }), Redis.flushDb(t), Redis.replay(t, { from: { "session:alice": "old" } })]

  for (const environment of ["production", "none"] as const)
    it(`${environment === "none" ? "unknown" : environment}: evictionPressure, flushDb and replay are refused, zero connections and zero commands at the server`, async () => {
      await seedSessions(redis.client)
      const before = await snapshot(redis.client)
      const params = await config(redis.client)
      for (const fault of every(target(whole, environment))) {
        const t = fault.target
        const c0 = await counters(redis.client)
        const j = await Runner.runPromise(Experiment.make({ id: "data.redis.avail-floor", title: "floor", targets: { t }, budget: { maxDestroySteps: 1 }, method: [fault] }), { stateDir: stateDir() })
        const c1 = await counters(redis.client)
        expect(j.refusal?.rule, fault.id).toBe("floor.production-data-store")
        // Our own INFO is the one command between the readings.
        expect(c1).toEqual({ connections: c0.connections, commands: c0.commands + 1 })
      }
      expect(await snapshot(redis.client)).toEqual(before)
      expect(await config(redis.client)).toEqual(params)
    })

  it("staging: flushDb (destroy) is refused with zero commands; evictionPressure and replay (disrupt) are planned", async () => {
    await seedSessions(redis.client)
    const t = target(whole, "staging")
    const c0 = await counters(redis.client)
    const refused = await Runner.plan(Experiment.make({ id: "data.redis.staging-flush", title: "staging", targets: { t }, budget: { maxDestroySteps: 1 }, method: [Redis.flushDb(t)] }), { stateDir: stateDir() })
    expect(refused.refusal?.rule).toBe("floor.destroy-lab-only")
    expect(await counters(redis.client)).toEqual({ connections: c0.connections, commands: c0.commands + 1 })
    for (const f of [Redis.evictionPressure(t, { maxmemory: "1mb" }), Redis.replay(t, { from: { "session:alice": "old" } })]) {
      const ok = await Runner.plan(Experiment.make({ id: "data.redis.staging-ok", title: "staging", targets: { t }, method: [f] }), { stateDir: stateDir() })
      expect(ok.status, ok.summary).toBe("passed")
    }
  })
})

describe("the plan's contacts: the read-only scope scan", () => {
  it("is listed in plan.contacts (address, commands, bytes) when it runs", async () => {
    await seedSessions(redis.client)
    const t = target()
    const c0 = await counters(redis.client)
    const j = await Runner.plan(Experiment.make({ id: "data.redis.contacts", title: "contacts", targets: { t }, method: [Redis.evictionPressure(t, { maxmemory: "1mb" })] }), { stateDir: stateDir() })
    const c1 = await counters(redis.client)
    expect(j.status, j.summary).toBe("passed")
    const contacts = j.plan?.contacts ?? []
    expect(contacts).toHaveLength(1)
    expect(contacts[0]).toMatchObject({ address: `127.0.0.1:${redis.server.port}`, target: "cache", evidence: 'preflight of "evictionPressure cache": passed' })
    expect(contacts[0]?.sent).toMatch(/^SCAN ×2, INFO ×1, DUMP ×9 \(\d+ bytes\)$/)
    expect(contacts[0]?.bytesReceived).toBeGreaterThan(0)
    // The one connection the plan opened is the one it lists (AUTH, then the scan's commands).
    expect(c1.connections - c0.connections).toBe(1)
  })

  for (const [why, build] of [
    ["the budget refuses the run (a destroy step over budget.maxDestroySteps)", (t: Data.Redis.RedisTarget) => Experiment.make({ id: "data.redis.nobudget", title: "b", targets: { t }, method: [Redis.flushDb(t)] })],
    [
      "the policy refuses another step of the run (a probe of a production store)",
      (t: Data.Redis.RedisTarget) => {
        const prod = Redis.target("prod", { url: url(), passwordEnv, keys: "*", environment: "production" })
        return Experiment.make({ id: "data.redis.nopolicy", title: "p", targets: { t, prod }, hypothesis: [Expect.that(Redis.checksum(prod), Expect.predicate("any", () => true))], method: [Redis.evictionPressure(t, { maxmemory: "1mb" })] })
      },
    ],
  ] as const)
    it(`does not run when ${why}: zero commands at the server, no contact`, async () => {
      await seedSessions(redis.client)
      const c0 = await counters(redis.client)
      const j = await Runner.plan(build(target()), { stateDir: stateDir() })
      expect(j.status).toBe("refused")
      expect(j.plan?.contacts ?? []).toEqual([])
      expect(await counters(redis.client)).toEqual({ connections: c0.connections, commands: c0.commands + 1 })
    })
})

describe("a compensation that cannot log in stops at once (CredentialsRefused), well before its deadline", () => {
  const record = (env: string) => ({ kind: "data.redis.flushdb", description: "restore", target: "cache", url: url(), passwordEnv: env, images: [{ key: "session:gone", dump: null, content: null, expireAt: -1 }] })

  for (const [problem, env, value, expected] of [
    ["a wrong password (WRONGPASS)", "SHIFTUP_TEST_AVAIL_WRONG", "nope", /set SHIFTUP_TEST_AVAIL_WRONG to the password of 127\.0\.0\.1:\d+: the server refused the one it holds \(WRONGPASS/],
    ["the variable unset", "SHIFTUP_TEST_AVAIL_UNSET", undefined, /set SHIFTUP_TEST_AVAIL_UNSET to the password of 127\.0\.0\.1:\d+: it is not set in this process/],
  ] as const)
    it(`${problem}: incomplete after one attempt, saying what to set and that recover can finish later`, async () => {
      if (value === undefined) delete process.env[env]
      else process.env[env] = value
      const t0 = Date.now()
      const outcome = await Effect.runPromise(Compensation.restore(Data.compensators["data.redis.flushdb"], record(env), { deadlineMs: 30_000 }))
      expect(Date.now() - t0).toBeLessThan(3000)
      expect(outcome).toMatchObject({ _tag: "incomplete", attempts: 1 })
      const detail = outcome._tag === "incomplete" ? outcome.detail : ""
      expect(detail).toMatch(expected)
      expect(detail).toMatch(/the ledger still holds the before-image: run `shiftup recover` again/)
      expect(detail.includes(password)).toBe(false)
    })
})
