/**
 * `shiftup/data` Redis, through the real runner against a real redis-server with a password:
 * each fault changes what it says during the method and the rollback restores every key exactly
 * (type, value, expiry instant); its compensation replayed twice more changes nothing; the
 * checksum probe proves it. The floor: production and unknown are refused for every step with no
 * command reaching the server, staging refuses `destroy`, a scope over maxKeys or maxBytes is
 * refused before anything is written. Bad connection options are typed errors. The password
 * never reaches a ledger or a journal.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Compensation, Expect, Experiment, Probe, Runner, type Fault, type Journal, type Target } from "../../src/index.ts"
import * as Data from "../../src/data/index.ts"
import { ledgerRecords } from "../support/proc-cli.ts"
import { counters, seedSessions, snapshot, useRedisServer } from "../support/redis-data.ts"

const { Redis } = Data
const password = `pw-${Math.random().toString(36).slice(2)}-secret`
const passwordEnv = "SHIFTUP_TEST_REDIS_DATA_PASSWORD"
const redis = useRedisServer(password)
const states: Array<string> = []

beforeAll(() => {
  process.env[passwordEnv] = password
})

afterAll(() => {
  for (const s of states) rmSync(s, { recursive: true, force: true })
})

const url = () => `redis://127.0.0.1:${redis.server.port}`
/** `environment: "none"`: no environment declared at all (unknown). */
const lab = (keys: string | ReadonlyArray<string> = "session:*", environment: Target.Environment | "none" = "lab") =>
  Redis.target("sessions", { url: url(), passwordEnv, keys, ...(environment === "none" ? {} : { environment }) })

const stateDir = () => {
  // Kept until the end of the file: the last test scans every one of them for the password.
  const s = mkdtempSync(join(tmpdir(), "shiftup-redis-state-"))
  states.push(s)
  return s
}

const inScope = (snap: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(snap).filter(([k]) => k.startsWith("session:")))

/** Runs `faults` on the lab target; `during` is the keyspace while they are held. */
const runFaults = async (target: Data.Redis.RedisTarget, faults: ReadonlyArray<Fault.Fault>) => {
  let during: Readonly<Record<string, string>> = {}
  let raw: Record<string, string | null> = {}
  const spy = Probe.make({
    id: "spy",
    target,
    observe: async () => {
      during = await snapshot(redis.client)
      raw = {}
      for (const k of Object.keys(during)) raw[k] = (await redis.client.type(k)) === "string" ? await redis.client.get(k) : null
      return true
    },
  })
  const state = stateDir()
  const journal = await Runner.runPromise(
    Experiment.make({
      id: "data.redis.test",
      title: "redis faults",
      targets: { target },
      budget: { maxConcurrentFaults: faults.length, maxDestroySteps: faults.filter((f) => f.safety === "destroy").length },
      method: [...faults, Expect.that(spy, true)],
    }),
    { stateDir: state, runId: `redis-${Math.random().toString(36).slice(2)}` },
  )
  return { journal, during, raw, state }
}

/** Replays every intent's compensation of `state` through the registered compensators: must converge at once. */
const replayTwice = async (state: string) => {
  for (const intent of ledgerRecords(state).filter((r) => r.type === "intent")) {
    const c = intent["compensation"] as Compensation.Compensation
    for (let i = 0; i < 2; i++) expect(await Effect.runPromise(Compensation.restore(Data.compensators[c.kind], c))).toEqual({ _tag: "restored", attempts: 1 })
  }
}

const passed = (j: Journal.Journal) => expect(j.status, JSON.stringify({ summary: j.summary, errors: j.errors, rollbacks: j.rollbacks }, null, 1)).toBe("passed")

describe("Redis data faults on a real server", () => {
  const cases: ReadonlyArray<readonly [string, () => Fault.Fault, (raw: Record<string, string | null>, during: Readonly<Record<string, string>>) => void]> = [
    [
      "corrupt garble-json: no session parses",
      () => Redis.corrupt(lab(), { mode: "garble-json" }),
      (raw) => {
        for (const user of ["alice", "bob", "carol", "dave"]) expect(() => JSON.parse(raw[`session:${user}`] ?? ""), user).toThrow()
      },
    ],
    ["corrupt truncate", () => Redis.corrupt(lab(), { mode: "truncate" }), (raw) => expect(raw["session:alice"]?.length).toBeLessThan(JSON.stringify({ user: "alice", role: "admin", csrf: "t0" }).length)],
    ["corrupt type-confuse", () => Redis.corrupt(lab(), { mode: "type-confuse" }), (_, during) => expect(during["session:alice"]?.startsWith("list|")).toBe(true)],
    [
      "corrupt set role=admin",
      () => Redis.corrupt(lab(), { mode: "set", field: "role", value: "admin" }),
      (raw, during) => {
        expect(JSON.parse(raw["session:bob"] ?? "{}")).toMatchObject({ user: "bob", role: "admin" })
        expect(during["session:h:erin"]?.startsWith("hash|")).toBe(true)
      },
    ],
    [
      "encrypt with a ransom note",
      () => Redis.encrypt(lab(), { note: "session:README" }),
      (raw) => {
        expect(raw["session:alice"]?.startsWith(Redis.encryptedPrefix)).toBe(true)
        expect(raw["session:README"]).toMatch(/encrypted/)
      },
    ],
    ["expire now (ttl 0)", () => Redis.expire(lab(), { ttl: 0 }), (_, during) => expect(Object.keys(during).filter((k) => k.startsWith("session:"))).toEqual([])],
    ["corrupt a sample of half the keys", () => Redis.corrupt(lab(), { mode: "garble-json", sample: 0.5, seed: 7 }), () => undefined],
  ]

  for (const [name, fault, check] of cases)
    it(`${name}: changed during the method, restored exactly by the rollback, replays converge`, async () => {
      await seedSessions(redis.client)
      const before = await snapshot(redis.client)
      const { journal, during, raw, state } = await runFaults(lab(), [fault()])
      passed(journal)
      expect(inScope(during)).not.toEqual(inScope(before))
      expect(during["config:feature"], "a key out of scope is never touched").toBe(before["config:feature"])
      check(raw, during)
      expect(await snapshot(redis.client)).toEqual(before)
      await replayTwice(state)
      expect(await snapshot(redis.client)).toEqual(before)
    })

  it("a sample with a seed picks the same keys every time", async () => {
    await seedSessions(redis.client)
    const changed = async () => {
      const before = await snapshot(redis.client)
      const { during } = await runFaults(lab(), [Redis.corrupt(lab(), { mode: "truncate", sample: 0.5, seed: 42 })])
      return Object.keys(before).filter((k) => during[k] !== before[k])
    }
    const first = await changed()
    expect(first.length).toBe(Math.ceil(0.5 * 8))
    expect(await changed()).toEqual(first)
  })

  it("the checksum probe: equal before and after rollback, different during", async () => {
    await seedSessions(redis.client)
    let before: Data.Redis.Checksum | undefined
    const target = lab()
    const sum = Redis.checksum(target)
    const record = await Runner.runPromise(Experiment.make({ id: "data.redis.sum", title: "sum", targets: { target }, hypothesis: [Expect.that(sum, Expect.predicate("recorded", (c: Data.Redis.Checksum) => ((before = c), true)))], method: [] }), { stateDir: stateDir() })
    passed(record)
    expect(before?.keys).toBe(8)
    const j = await Runner.runPromise(
      Experiment.make({
        id: "data.redis.sum2",
        title: "sum during",
        targets: { target },
        budget: { maxDestroySteps: 1 },
        hypothesis: [Expect.that(sum, Expect.equals(before))],
        method: [
          Redis.encrypt(target, { note: "session:README" }),
          Expect.that(sum, Expect.predicate("differs", (c: Data.Redis.Checksum) => c.digest !== before?.digest && c.keys === 9)),
          Expect.that(Redis.value(target, "session:README"), Expect.predicate("a ransom note", (v: Data.Redis.KeyValue) => v.type === "string" && /encrypted/.test(v.value ?? ""))),
          Expect.that(Redis.value(target, "session:h:erin"), Expect.predicate("encrypted into a string", (v: Data.Redis.KeyValue) => v.value?.startsWith(Redis.encryptedPrefix) === true)),
        ],
      }),
      { stateDir: stateDir() },
    )
    passed(j)
    // The hypothesis held after rollback too: the journal has two hypothesis checks.
    expect(j.steps.filter((s) => s.kind === "check" && s.phase !== "method").length).toBeGreaterThanOrEqual(2)
  })
})

describe("the client is a service", () => {
  it("a RedisClient provided to the run carries every connection of the run (capture, injection, rollback, verify)", async () => {
    await seedSessions(redis.client)
    const before = await snapshot(redis.client)
    const target = lab()
    const addresses: Array<string> = []
    const counting: Data.Redis.RedisClient = {
      withSession: (connection, address, body) => {
        addresses.push(address)
        return Data.Redis.Client.withSession(connection, address, body)
      },
    }
    const j = await Effect.runPromise(
      Runner.run(Experiment.make({ id: "data.redis.client", title: "client", targets: { target }, method: [Redis.corrupt(target, { mode: "truncate" })] }), { stateDir: stateDir() }).pipe(
        Effect.provide(Data.Redis.Client.layer(counting)),
      ),
    )
    passed(j)
    // preflight, capture, injection, rollback's apply and verify: all through the provided client, to the checked address.
    expect(addresses.length).toBeGreaterThanOrEqual(5)
    expect(new Set(addresses)).toEqual(new Set(["127.0.0.1"]))
    expect(await snapshot(redis.client)).toEqual(before)
  })
})

describe("the floor and the bounds: refused before anything reaches the server", () => {
  const everyStep = (t: Data.Redis.RedisTarget) => [Redis.corrupt(t, { mode: "garble-json" }), Redis.encrypt(t), Redis.expire(t, { ttl: "1 second" })]

  for (const environment of ["production", "none"] as const)
    it(`${environment === "none" ? "unknown" : environment}: every data fault and the checksum are refused, zero connections and zero commands at the server`, async () => {
      await seedSessions(redis.client)
      const before = await snapshot(redis.client)
      for (const step of [...everyStep(lab("session:*", environment)), Redis.checksum(lab("session:*", environment))]) {
        const target = lab("session:*", environment)
        const c0 = await counters(redis.client)
        const state = stateDir()
        const j = await Runner.runPromise(
          Experiment.make({ id: "data.redis.floor", title: "floor", targets: { target }, budget: { maxDestroySteps: 1 }, method: [step._tag === "Fault" ? step : Expect.that(step, Expect.predicate("any", () => true))] }),
          { stateDir: state },
        )
        const c1 = await counters(redis.client)
        expect(j.status).toBe("refused")
        expect(j.refusal?.rule).toBe("floor.production-data-store")
        // Our own INFO is the one command between the readings; nobody else connected.
        expect(c1).toEqual({ connections: c0.connections, commands: c0.commands + 1 })
        expect(readdirSync(state).includes("ledger") ? readdirSync(join(state, "ledger")) : []).toEqual([])
      }
      expect(await snapshot(redis.client)).toEqual(before)
    })

  it("staging: encrypt and expire (destroy) are refused by floor.destroy-lab-only; corrupt (disrupt) is allowed", async () => {
    const t = lab("session:*", "staging")
    for (const f of [Redis.encrypt(t), Redis.expire(t, { ttl: 5 })]) {
      const c0 = await counters(redis.client)
      const j = await Runner.plan(Experiment.make({ id: "data.redis.staging", title: "staging", targets: { t }, budget: { maxDestroySteps: 1 }, method: [f] }), { stateDir: stateDir() })
      expect(j.refusal?.rule).toBe("floor.destroy-lab-only")
      expect(await counters(redis.client)).toEqual({ connections: c0.connections, commands: c0.commands + 1 })
    }
    const ok = await Runner.plan(Experiment.make({ id: "data.redis.staging2", title: "staging", targets: { t }, method: [Redis.corrupt(t, { mode: "truncate" })] }), { stateDir: stateDir() })
    expect(ok.status, ok.summary).toBe("passed")
  })

  it("a server outside the egress allowlist (192.0.2.1, TEST-NET) is refused at plan time: egress.not-allowed", async () => {
    const target = Redis.target("far", { url: "redis://192.0.2.1:6379", environment: "lab", keys: "session:*" })
    const j = await Runner.runPromise(Experiment.make({ id: "data.redis.egress", title: "egress", targets: { target }, method: [Redis.corrupt(target, { mode: "truncate" })] }), { stateDir: stateDir() })
    expect(j.status).toBe("refused")
    expect(j.refusal?.rule).toBe("egress.not-allowed")
  })

  for (const [bound, options, rule] of [
    ["maxKeys", { maxKeys: 7 }, "data.redis.max-keys"],
    ["maxBytes", { maxBytes: 100 }, "data.redis.max-bytes"],
  ] as const)
    it(`a scope over ${bound} is refused at plan time (${rule}): no ledger, nothing written`, async () => {
      await seedSessions(redis.client)
      const before = await snapshot(redis.client)
      const target = lab()
      const state = stateDir()
      const j = await Runner.runPromise(Experiment.make({ id: "data.redis.bound", title: "bound", targets: { target }, method: [Redis.corrupt(target, { mode: "garble-json", ...options })] }), { stateDir: state })
      expect(j.status).toBe("refused")
      expect(j.refusal?.rule).toBe(rule)
      expect(j.refusal?.reason).toMatch(new RegExp(`raise the fault's \`${bound}\``))
      expect(readdirSync(state).includes("ledger") ? readdirSync(join(state, "ledger")) : []).toEqual([])
      expect(await snapshot(redis.client)).toEqual(before)
    })
})

describe("connection options: typed errors that say what to change, nothing touched", () => {
  it("a password in the URL, another scheme, an empty scope: InvalidExperiment listing every issue", () => {
    const issues = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return e as { _tag: string; message: string }
      }
      throw new Error("no error")
    }
    const inUrl = issues(() => Redis.target("r", { url: `redis://:${password}@127.0.0.1:${redis.server.port}`, keys: "a*" }))
    expect(inUrl._tag).toBe("InvalidExperiment")
    expect(inUrl.message).toMatch(/passwordEnv/)
    const scheme = issues(() => Redis.target("r", { url: "http://127.0.0.1:6379", keys: [] }))
    expect(scheme._tag).toBe("InvalidExperiment")
    expect(scheme.message).toMatch(/scheme is http; expected redis or rediss/)
    expect(scheme.message).toMatch(/name the keys faults may touch/)
    const mode = issues(() => Redis.corrupt(lab(), { mode: "set" }))
    expect(mode.message).toMatch(/needs `value`/)
    const note = issues(() => Redis.encrypt(lab(), { note: "README" }))
    expect(note.message).toMatch(/not in the target's scope/)
  })

  it("passwordEnv naming an unset variable: TargetUnresolved naming it, zero commands", async () => {
    const target = Redis.target("r", { url: url(), passwordEnv: "SHIFTUP_TEST_UNSET_VARIABLE_X", environment: "lab", keys: "session:*" })
    const c0 = await counters(redis.client)
    const j = await Runner.runPromise(Experiment.make({ id: "data.redis.unset", title: "unset", targets: { target }, method: [Redis.corrupt(target, { mode: "truncate" })] }), { stateDir: stateDir() })
    expect(j.errors.map((e) => e.message).join("\n")).toMatch(/SHIFTUP_TEST_UNSET_VARIABLE_X .*is not set/)
    expect(j.errors[0]?.tag).toBe("TargetUnresolved")
    expect(await counters(redis.client)).toEqual({ connections: c0.connections, commands: c0.commands + 1 })
  })

  it("a compensation replayed where its passwordEnv is not set (a recover without the variable): incomplete, naming the variable, never a password", async () => {
    const c = { kind: "data.redis.corrupt", description: "restore", target: "sessions", url: url(), passwordEnv: "SHIFTUP_TEST_UNSET_VARIABLE_Y", images: [{ key: "session:alice", dump: null, content: null, expireAt: -1 }] }
    const outcome = await Effect.runPromise(Compensation.restore(Data.compensators["data.redis.corrupt"], c, { deadlineMs: 300 }))
    expect(outcome._tag).toBe("incomplete")
    expect(outcome._tag === "incomplete" ? outcome.detail : "").toMatch(/set SHIFTUP_TEST_UNSET_VARIABLE_Y to the password of 127\.0\.0\.1:\d+: it is not set in this process/)
  })

  it("a wrong password: refused at plan time, saying the password in the variable was refused", async () => {
    process.env["SHIFTUP_TEST_WRONG_PW"] = "nope"
    await seedSessions(redis.client)
    const before = await snapshot(redis.client)
    const target = Redis.target("r", { url: url(), passwordEnv: "SHIFTUP_TEST_WRONG_PW", environment: "lab", keys: "session:*" })
    const j = await Runner.runPromise(Experiment.make({ id: "data.redis.wrong", title: "wrong", targets: { target }, method: [Redis.corrupt(target, { mode: "truncate" })] }), { stateDir: stateDir() })
    expect(j.errors.map((e) => e.message).join("\n")).toMatch(/refused the password in \$SHIFTUP_TEST_WRONG_PW/)
    expect(await snapshot(redis.client)).toEqual(before)
  })
})

describe("secrets", () => {
  it("the password is in no ledger and no journal of any run of this file", () => {
    expect(states.length).toBeGreaterThan(5)
    const files = states.flatMap((s) => {
      const walk = (d: string): Array<string> => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]))
      try {
        return walk(s)
      } catch {
        return []
      }
    })
    expect(files.some((f) => f.endsWith(".jsonl"))).toBe(true)
    for (const f of files) expect(readFileSync(f, "utf8").includes(password), f).toBe(false)
  })
})
