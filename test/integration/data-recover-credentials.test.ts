/**
 * `shiftup recover` after a SIGKILL, when the credentials are wrong: the restore must not retry
 * until its 30-second deadline (no retry can fix a refused password) but fail at once with a
 * message saying which variable to set, leave the intent pending, and a later `recover` with the
 * right password must restore exactly. Against a real redis-server (a run holding
 * `evictionPressure`, keys evicted meanwhile: config and keys come back) and a real PostgreSQL
 * (a run holding a corruption: the rows come back). Real processes: `shiftup run`, SIGKILL,
 * `shiftup recover`.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { users } from "../support/pg-tables.ts"
import { type PgLab, startPgLab } from "../support/postgres.ts"
import { fixture, ledgerFiles, pendingIntents, readLedger, runCli, spawnCli, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"
import { seedSessions, snapshot, type TestClient, useRedisServer } from "../support/redis-data.ts"

useProcessCleanup()

const password = `creds-${Math.random().toString(36).slice(2)}-pw`
const redis = useRedisServer(password)
let pg: PgLab
beforeAll(async () => {
  pg = await startPgLab("SHIFTUP_TEST_CREDS_PG_PASSWORD")
})
afterAll(async () => {
  await pg?.stop()
})

const config = async (c: TestClient) => (await c.sendCommand(["CONFIG", "GET", "maxmemory*"])) as Array<string>

const holding = `import { Experiment, Step } from "shiftup"
import * as Data from "shiftup/data"

const cache = Data.Redis.target("cache", { url: process.env.CREDS_REDIS_URL ?? "redis://127.0.0.1:6379", passwordEnv: "CREDS_REDIS_PASSWORD", environment: "lab", keys: ["session:*", "config:*"] })

export default Experiment.make({
  id: "data.redis.creds",
  title: "eviction pressure held",
  targets: { cache },
  budget: { maxDuration: "5 minutes", maxFaultTime: "5 minutes" },
  method: [Data.Redis.evictionPressure(cache, { maxmemory: 1, policy: "allkeys-lru" }), Step.wait(120_000, "hold")],
})
`

/** `shiftup recover` that must fail fast: well under the 30 s deadline, naming the variable, the intent still pending. */
const recoverRefused = async (state: string, env: Readonly<Record<string, string>>, variable: string, why: RegExp) => {
  const t0 = Date.now()
  const rec = await runCli(["recover", "--state-dir", state], { env })
  const ms = Date.now() - t0
  expect(rec.code, rec.output).toBe(5)
  // The deadline it no longer waits for is 30 s; a CLI start is ~1-2 s here, up to ~8 s on a
  // loaded machine, so 20 s tells "failed at once" from "retried until the deadline".
  expect(ms, rec.output).toBeLessThan(20_000)
  expect(rec.output).toMatch(new RegExp(`set ${variable} to the password of`))
  expect(rec.output).toMatch(why)
  expect(rec.output).toMatch(/run `shiftup recover` again/)
  expect(pendingIntents(state)).toHaveLength(1)
  return { ms, output: rec.output }
}

it("Redis: SIGKILL of a run holding evictionPressure; recover with a wrong password, then none, fails at once and keeps the intent; with the right one, config and keys come back", async () => {
  await seedSessions(redis.client)
  const before = await snapshot(redis.client)
  const params = await config(redis.client)
  const dir = tempDir("shiftup-creds-")
  const file = join(dir, "hold.ts")
  writeFileSync(file, holding)
  const state = tempDir("shiftup-creds-state-")
  const env = { CREDS_REDIS_URL: `redis://127.0.0.1:${redis.server.port}`, CREDS_REDIS_PASSWORD: password }
  const run = spawnCli(["run", file, "--state-dir", state], { env, cwd: dir })
  await waitFor("the fault applied", () => ledgerFiles(state).some((f) => readLedger(f).some((r) => r.type === "applied")), { proc: run, timeoutMs: 30_000 })
  // Memory pressure at work: a write makes Redis evict keys of the scope.
  await redis.client.set("session:trigger", "x").catch(() => undefined)
  run.child.kill("SIGKILL")
  await run.exited
  expect(Object.keys(await snapshot(redis.client)).length).toBeLessThan(Object.keys(before).length)
  expect(await config(redis.client)).not.toEqual(params)

  const wrong = await recoverRefused(state, { ...env, CREDS_REDIS_PASSWORD: "not-the-password" }, "CREDS_REDIS_PASSWORD", /the server refused the one it holds \(WRONGPASS/)
  const unset = await recoverRefused(state, { CREDS_REDIS_URL: env.CREDS_REDIS_URL }, "CREDS_REDIS_PASSWORD", /it is not set in this process/)
  console.log(`data-recover-credentials (redis): wrong password failed after ${wrong.ms} ms, unset variable after ${unset.ms} ms`)
  expect(await config(redis.client)).not.toEqual(params)

  const rec = await runCli(["recover", "--state-dir", state], { env })
  expect(rec.code, rec.output).toBe(0)
  expect(pendingIntents(state)).toEqual([])
  expect(await config(redis.client)).toEqual(params)
  expect(await snapshot(redis.client)).toEqual(before)
  for (const o of [wrong.output, unset.output, rec.output, run.output()]) expect(o.includes(password)).toBe(false)
}, 60_000)

it("PostgreSQL: SIGKILL of a run holding a corruption; recover with a wrong password (28P01) fails at once and keeps the intent; with the right one, the rows come back", async () => {
  const schema = "creds"
  await pg.schema(schema, users(schema))
  const table = `${schema}.users`
  const rows = await pg.rows(table)
  const state = tempDir("shiftup-creds-pg-state-")
  const env = { SHIFTUP_CRASH_URL: pg.url, SHIFTUP_CRASH_PASSWORD_ENV: pg.passwordEnv, [pg.passwordEnv]: pg.password, SHIFTUP_CRASH_TABLE: table, SHIFTUP_CRASH_FAULTS: "corrupt", SHIFTUP_CRASH_HOLD: "120000" }
  const run = spawnCli(["run", fixture("crash", "postgres.ts"), "--state-dir", state], { env })
  await waitFor("the fault applied", () => ledgerFiles(state).some((f) => readLedger(f).some((r) => r.type === "applied")), { proc: run, timeoutMs: 30_000 })
  run.child.kill("SIGKILL")
  await run.exited
  expect(await pg.rows(table)).not.toEqual(rows)

  const wrong = await recoverRefused(state, { [pg.passwordEnv]: "not-the-password" }, pg.passwordEnv, /password authentication failed/)
  const unset = await recoverRefused(state, { [pg.passwordEnv]: "" }, pg.passwordEnv, /it is not set in this process/)
  console.log(`data-recover-credentials (postgres): wrong password failed after ${wrong.ms} ms, unset variable after ${unset.ms} ms`)
  expect(await pg.rows(table)).not.toEqual(rows)

  const rec = await runCli(["recover", "--state-dir", state], { env: { [pg.passwordEnv]: pg.password } })
  expect(rec.code, rec.output).toBe(0)
  expect(pendingIntents(state)).toEqual([])
  expect(await pg.rows(table)).toEqual(rows)
  for (const o of [wrong.output, unset.output, rec.output, run.output()]) expect(o.includes(pg.password)).toBe(false)
}, 60_000)
