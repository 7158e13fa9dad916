/**
 * Invariants 2 and 5 for the PostgreSQL availability faults through real processes: `shiftup
 * run` holding a table lock, a long transaction, exhausted connections and read-only mode is
 * SIGKILLed (after every fault is applied, or mid-way after an intent), then `shiftup recover` —
 * a fresh process with nothing but the state dir and the password's variable — leaves no
 * session carrying a shiftup marker, the database's settings as they were, writes going through
 * and the rows identical; a second recover finds nothing to do, and the password is nowhere.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type AvailLab, startAvailLab } from "../support/pg-avail.ts"
import { fixture, ledgerFiles, makeScope, pendingIntents, readLedger, runCli, spawnCli, useProcessCleanup, waitFor } from "../support/proc-cli.ts"

useProcessCleanup()

let lab: AvailLab
const keep = makeScope()
let state = ""
beforeAll(async () => {
  lab = await startAvailLab("SHIFTUP_TEST_PG_AVAIL_CRASH_PASSWORD")
  state = keep.tempDir("shiftup-state-")
})
afterAll(async () => {
  await keep.cleanup()
  await lab?.stop()
})

const everything = (dir: string): string => {
  const out: Array<string> = []
  const walk = (d: string) => readdirSync(d).forEach((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : out.push(readFileSync(join(d, f), "utf8"))))
  walk(dir)
  return out.join("\n")
}

describe("SIGKILL of a real `shiftup run` holding availability faults, then `shiftup recover`", () => {
  it.each([
    ["every fault applied", "lock,longtx,exhaust,readonly", { applied: 4 }],
    ["mid-way, after the exhaust intent", "readonly,exhaust", { intents: 2 }],
  ] as const)("%s: no marked session, the same setting and rows, writes go through", async (_, faults, killAt) => {
    const table = await lab.table()
    const rows = await lab.rows(table)
    const settings = await lab.settings()
    const pw = lab.lab.passwordEnv
    const env = { SHIFTUP_PG_URL: lab.url, SHIFTUP_PG_PASSWORD_ENV: pw, [pw]: lab.lab.password, SHIFTUP_PG_TABLE: table, SHIFTUP_PG_FAULTS: faults, SHIFTUP_PG_HOLD: "60000" }
    const runner = spawnCli(["run", fixture("data-postgres-avail-hold.ts"), "--state-dir", state], { env })
    const mine = () => ledgerFiles(state).map(readLedger).find((records) => records[0]?.pid === runner.pid) ?? []
    if ("applied" in killAt) {
      await waitFor(`${killAt.applied} applied`, () => mine().filter((r) => r.type === "applied").length >= killAt.applied, { proc: runner, timeoutMs: 30_000 })
      // Held while the runner lives: the lock blocks a writer, the database is read-only for new sessions.
      expect(await lab.attempt(`UPDATE ${table} SET name = name WHERE id = 1`)).toMatch(/^(55P03|25006)$/)
      expect(await lab.marked()).toBe(1 + 1 + 4)
    } else await waitFor(`intent ${killAt.intents}`, () => mine().filter((r) => r.type === "intent").length >= killAt.intents, { proc: runner, timeoutMs: 30_000, everyMs: 1 })
    runner.child.kill("SIGKILL")
    await runner.exited
    const rec = await runCli(["recover", "--state-dir", state], { env: { [pw]: lab.lab.password } })
    expect(rec.code, rec.output).toBe(0)
    expect(await lab.marked()).toBe(0)
    expect(await lab.settings()).toBe(settings)
    expect(await lab.attempt(`UPDATE ${table} SET name = name WHERE id = 1`)).toBe("ok")
    expect(await lab.rows(table)).toEqual(rows)
    expect(pendingIntents(state)).toEqual([])
    for (const text of [everything(state), runner.output(), rec.output]) expect(text.includes(lab.lab.password), "the password leaked").toBe(false)
    if ("applied" in killAt) {
      const again = await runCli(["recover", "--state-dir", state], { env: { [pw]: lab.lab.password } })
      expect(again.stdout).toMatch(/nothing to recover/)
    }
  }, 60_000)
})
