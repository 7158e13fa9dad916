/**
 * Invariants 2 and 5 for MySQL data faults through real processes: `shiftup run` applying a
 * random sequence of data faults on a real MariaDB is SIGKILLed at a random point (after some of
 * them are applied, or mid-way), then `shiftup recover` — a fresh process with nothing but the
 * state dir and the password's variable — must give back the very same rows (a sorted
 * `mariadb-dump`) and the very same definition (`SHOW CREATE TABLE`, triggers, grants), and a
 * second recover finds nothing to do. The password appears in no ledger, journal or output.
 * Seeds are printed: `SHIFTUP_SEED=<n>` replays one.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startMariaLab, type MariaLab } from "../support/mariadb.ts"
import { users } from "../support/mysql-tables.ts"
import { fixture, ledgerFiles, makeScope, pendingIntents, readLedger, runCli, spawnCli, useProcessCleanup, waitFor } from "../support/proc-cli.ts"

useProcessCleanup()

let lab: MariaLab
// One state dir for every trial, kept to the end of the file: every run targets the same server
// (one lease member), and a later run takes a dead run's lease over once its ledger shows nothing pending.
const keep = makeScope()
let state = ""
beforeAll(async () => {
  lab = await startMariaLab()
  state = keep.tempDir("shiftup-state-")
})
afterAll(async () => {
  await keep.cleanup()
  await lab?.stop()
})

const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const kinds = ["check", "corrupt", "negate", "encrypt", "index", "fk", "trigger", "grant"] as const

const everything = (dir: string): string => {
  const out: Array<string> = []
  const walk = (d: string) => readdirSync(d).forEach((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : out.push(readFileSync(join(d, f), "utf8"))))
  walk(dir)
  return out.join("\n")
}

const trial = async (seed: number) => {
  const pick = rng(seed)
  const chosen = kinds.filter(() => pick() < 0.5)
  // `negate` would violate the price check unless the check is dropped first (it is listed first).
  const list = chosen.filter((k) => k !== "negate" || chosen.includes("check"))
  const faults = list.length === 0 ? ["corrupt" as const] : list
  const name = `crash_${seed}`
  await lab.database(name, users)
  const table = `${name}.users`
  const rows = await lab.rows(table)
  const definition = await lab.definition(table)
  const env = { SHIFTUP_MYSQL_URL: `${lab.url}${name}`, SHIFTUP_MYSQL_PASSWORD_ENV: lab.passwordEnv, [lab.passwordEnv]: lab.password, SHIFTUP_MYSQL_TABLE: table, SHIFTUP_MYSQL_FAULTS: faults.join(","), SHIFTUP_MYSQL_HOLD: "60000" }
  const runner = spawnCli(["run", fixture("data-mysql-hold.ts"), "--state-dir", state], { env })
  const mine = () => ledgerFiles(state).map(readLedger).find((records) => records[0]?.pid === runner.pid) ?? []
  const applied = () => mine().filter((r) => r.type === "applied").length
  const intents = () => mine().filter((r) => r.type === "intent").length
  const killAfter = 1 + Math.floor(pick() * faults.length)
  // One seed in five kills mid-injection (an intent on disk, its change maybe committed).
  const midway = seed % 5 === 0
  const context = `seed ${seed}: faults ${faults.join(",")}, kill ${midway ? `after intent ${killAfter}` : `after ${killAfter} applied`}`
  if (midway) await waitFor(`intent ${killAfter}`, () => intents() >= killAfter, { proc: runner, timeoutMs: 60_000, everyMs: 1 })
  else await waitFor(`${killAfter} applied`, () => applied() >= killAfter, { proc: runner, timeoutMs: 60_000 })
  runner.child.kill("SIGKILL")
  await runner.exited
  const changed = (await lab.rows(table)).join() !== rows.join() || (await lab.definition(table)) !== definition
  if (!midway) expect(changed, context).toBe(true)
  const rec = await runCli(["recover", "--state-dir", state], { env: { [lab.passwordEnv]: lab.password } })
  expect(rec.code, `${context}\n${rec.output}`).toBe(0)
  expect(await lab.rows(table), context).toEqual(rows)
  expect(await lab.definition(table), context).toBe(definition)
  expect(pendingIntents(state), context).toEqual([])
  const again = await runCli(["recover", "--state-dir", state], { env: { [lab.passwordEnv]: lab.password } })
  expect(again.stdout, context).toMatch(/nothing to recover/)
  for (const text of [everything(state), runner.output(), rec.output, again.output]) expect(text.includes(lab.password), `${context}: the password leaked`).toBe(false)
  return context
}

describe("SIGKILL of a real `shiftup run` holding MySQL data faults, then `shiftup recover`", () => {
  const base = Number(process.env["SHIFTUP_SEED"] ?? Date.now() % 100_000)
  const seeds = process.env["SHIFTUP_SEED"] === undefined ? [0, 1, 2, 3, 4].map((i) => base + i) : [base]
  for (const seed of seeds)
    it(`restores the same rows and definition (seed ${seed})`, async () => {
      console.log(await trial(seed))
    }, 120_000)
})
