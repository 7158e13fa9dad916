/**
 * Crash trials on PostgreSQL (test/support/crash-trials.ts): a real `shiftup run` holding a random
 * sequence of data faults on a real server (role `app` with a scram password) is SIGKILLed at a
 * random ledger point; `shiftup recover` in a fresh process must give back the very same rows
 * (sorted JSON) and definition (`pg_dump --schema-only`). Plus: recover without the password's
 * variable names the variable, gives up at once, and restores once it is there.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { crashTrials } from "../support/crash-trials.ts"
import { startPgLab, type PgLab } from "../support/postgres.ts"
import { users } from "../support/pg-tables.ts"
import { fixture, ledgerFiles, readLedger, runCli, spawnCli, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"

useProcessCleanup()

let lab: PgLab
beforeAll(async () => {
  lab = await startPgLab()
})
afterAll(async () => {
  await lab?.stop()
})

let table = ""
crashTrials(
  () => ({
    name: "postgres",
    fixture: fixture("crash", "postgres.ts"),
    faults: ["constraint", "corrupt", "negate", "encrypt", "index", "trigger", "policy", "rls"],
    // A negative price violates the check: `negate` only after `constraint` dropped it.
    order: (drawn) => (drawn.includes("negate") && !drawn.includes("constraint") ? ["constraint", ...drawn] : drawn),
    setup: async (seed) => {
      await lab.schema(`crash_${seed}`, users(`crash_${seed}`))
      table = `crash_${seed}.users`
      return { SHIFTUP_CRASH_URL: lab.url, SHIFTUP_CRASH_PASSWORD_ENV: lab.passwordEnv, SHIFTUP_CRASH_TABLE: table }
    },
    snapshot: async () => ({ rows: await lab.rows(table), definition: lab.dump(table) }),
    password: { env: lab.passwordEnv, value: lab.password },
  }),
  { trials: 25, name: "PostgreSQL" },
)

it("recover without the password's variable names the variable at once, and restores once it is there", async () => {
  await lab.schema("crash_nopw", users("crash_nopw"))
  const table = "crash_nopw.users"
  const rows = await lab.rows(table)
  const state = tempDir("shiftup-crash-nopw-")
  const runner = spawnCli(["run", fixture("crash", "postgres.ts"), "--state-dir", state], {
    env: { SHIFTUP_CRASH_URL: lab.url, SHIFTUP_CRASH_PASSWORD_ENV: lab.passwordEnv, [lab.passwordEnv]: lab.password, SHIFTUP_CRASH_TABLE: table, SHIFTUP_CRASH_FAULTS: "corrupt", SHIFTUP_CRASH_HOLD: "60000" },
  })
  await waitFor("applied", () => ledgerFiles(state).flatMap(readLedger).some((r) => r.type === "applied"), { proc: runner, timeoutMs: 60_000, everyMs: 1 })
  runner.child.kill("SIGKILL")
  await runner.exited
  const started = Date.now()
  // An empty value is no password: the message names the variable, not a value.
  const without = await runCli(["recover", "--state-dir", state], { env: { [lab.passwordEnv]: "" } })
  // An empty value is no password: the message names the variable to set, not a value.
  expect(without.code, without.output).toBe(5)
  expect(without.output).toMatch(new RegExp(`set ${lab.passwordEnv} to the password of app@127\\.0\\.0\\.1:\\d+`))
  // Retrying cannot make a variable appear: recover says so at once, not after its 30 s deadline.
  expect(Date.now() - started, without.output).toBeLessThan(15_000)
  const wrong = await runCli(["recover", "--state-dir", state], { env: { [lab.passwordEnv]: "not-the-password" } })
  expect(wrong.code, wrong.output).toBe(5)
  expect(wrong.output).toMatch(new RegExp(`set ${lab.passwordEnv} to the password of app@127\\.0\\.0\\.1:\\d+`))
  expect(Date.now() - started, wrong.output).toBeLessThan(25_000)
  const rec = await runCli(["recover", "--state-dir", state], { env: { [lab.passwordEnv]: lab.password } })
  expect(rec.code, rec.output).toBe(0)
  expect(await lab.rows(table)).toEqual(rows)
}, 120_000)
