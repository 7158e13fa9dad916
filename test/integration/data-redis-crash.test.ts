/**
 * Invariants 2 and 5 for Redis data faults, through real processes: a `shiftup run` holding three
 * faults on a real, password-protected redis-server (corrupt, encrypt with a ransom note, expire)
 * is SIGKILLed at a random point after its first intent (a seeded choice, printed), then
 * `shiftup recover` — a fresh process that reconnects through `passwordEnv` — must bring every
 * key back exactly, leave nothing pending, and a second `recover` finds nothing to do. The
 * password is in no output, ledger or journal.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "vitest"
import { ledgerFiles, pendingIntents, readLedger, runCli, spawnCli, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"
import { seedSessions, snapshot, useRedisServer } from "../support/redis-data.ts"

useProcessCleanup()

const password = `crash-${Math.random().toString(36).slice(2)}-pw`
const redis = useRedisServer(password)

const experiment = `import { Experiment, Step } from "shiftup"
import * as Data from "shiftup/data"

const sessions = Data.Redis.target("sessions", { url: process.env.CRASH_REDIS_URL ?? "redis://127.0.0.1:6379", passwordEnv: "CRASH_REDIS_PASSWORD", environment: "lab", keys: "session:*" })

export default Experiment.make({
  id: "data.redis.crash",
  title: "three Redis data faults held, then rolled back",
  targets: { sessions },
  budget: { maxConcurrentFaults: 3, maxDestroySteps: 2, maxDuration: "1 minute" },
  method: [
    Data.Redis.corrupt(sessions, { mode: "garble-json", sample: 0.75, seed: 3 }),
    Step.wait(30, "gap 1"),
    Data.Redis.encrypt(sessions, { note: "session:README" }),
    Step.wait(30, "gap 2"),
    Data.Redis.expire(sessions, { ttl: 0, sample: 0.5, seed: 9 }),
    Step.wait(400, "hold"),
  ],
})
`

/** mulberry32: a seeded choice of kill points, printed so a failure can be replayed. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

it("SIGKILL of a real run at random points after injection, then `shiftup recover`: identical keyspace", async () => {
  const seed = Number(process.env["SHIFTUP_TEST_SEED"] ?? Date.now() % 1_000_000)
  const random = prng(seed)
  console.log(`data-redis-crash: seed ${seed} (SHIFTUP_TEST_SEED=${seed} replays it)`)
  const dir = tempDir("shiftup-redis-crash-")
  const file = join(dir, "crash.ts")
  writeFileSync(file, experiment)
  const env = { CRASH_REDIS_URL: `redis://127.0.0.1:${redis.server.port}`, CRASH_REDIS_PASSWORD: password }
  const outputs: Array<string> = []
  const trials = 6
  for (let i = 0; i < trials; i++) {
    await seedSessions(redis.client)
    const before = await snapshot(redis.client)
    const state = tempDir("shiftup-redis-crash-state-")
    // After intent 1 (record 2) up to the first rolled-back (record 8); plus up to 60 ms.
    const records = 2 + Math.floor(random() * 7)
    const delay = Math.floor(random() * 60)
    const child = spawnCli(["run", file, "--state-dir", state], { env, cwd: dir })
    const ledger = () => ledgerFiles(state)[0]
    await waitFor(`${records} ledger records`, () => (ledger() === undefined ? 0 : readLedger(ledger() as string).length) >= records || !child.running(), { everyMs: 2, timeoutMs: 60_000 })
    await new Promise((r) => setTimeout(r, delay))
    const byItself = !child.running()
    child.child.kill("SIGKILL")
    await child.exited
    const left = ledger() === undefined ? [] : readLedger(ledger() as string)
    const context = `trial ${i} (seed ${seed}): kill after ${records} records + ${delay} ms → ${left.length} records, last ${left.at(-1)?.type}${byItself ? " (had exited by itself)" : ""}\n${child.output()}`
    console.log(context.split("\n")[0])
    const rec = await runCli(["recover", "--state-dir", state], { env, cwd: dir })
    outputs.push(child.output(), rec.output)
    expect(rec.code, `${context}\nrecover:\n${rec.output}`).toBe(0)
    expect(await snapshot(redis.client), context).toEqual(before)
    expect(pendingIntents(state), context).toEqual([])
    const again = await runCli(["recover", "--state-dir", state], { env, cwd: dir })
    expect(again.code, again.output).toBe(0)
    expect(again.stdout).toMatch(/nothing to recover/)
    const journalDir = join(state, "journals")
    for (const f of [...ledgerFiles(state), ...(existsSync(journalDir) ? readdirSync(journalDir).map((j) => join(journalDir, j)) : [])])
      expect(readFileSync(f, "utf8").includes(password), f).toBe(false)
  }
  for (const o of outputs) expect(o.includes(password)).toBe(false)
}, 300_000)
