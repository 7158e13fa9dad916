/**
 * The catalogue's PostgreSQL experiments (experiments/data/postgres-*.ts) through the real CLI,
 * against the data lab (src/demo/data-lab.ts: a real PostgreSQL, a real redis-server and the shop
 * app using both). Its app signs roles (HMAC of id:role) and raises an integrity alert from the
 * database's audit trigger, so a role flipped to 'admin' is detected and fails closed (409): the
 * run passes (exit 0). A lab whose app trusts the role column is the finding (exit 1). Either way
 * the table's rows and definition are as they were and nothing is owed. `experiments/data` is
 * left out of the demo-lab catalogue test, which has no database.
 */
import { execFileSync } from "node:child_process"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type DataLab, startDataLab } from "../../src/demo/data-lab.ts"
import { postgresBin } from "../../src/demo/servers.ts"
import { journals, pendingIntents, repoRoot, runCli, tempDir, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

/** Every row of `table` as JSON text, sorted, and `pg_dump --schema-only` of it: read by the test's own client and PostgreSQL's own tool. */
const look = async (lab: DataLab, table: string) => {
  const client = new pg.Client({ host: lab.postgres.dir, port: lab.postgres.port, user: "postgres", database: "shop" })
  await client.connect()
  try {
    const rows = (await client.query(`SELECT to_jsonb(r)::text AS j FROM ${table} AS r`)).rows.map((r: { j: string }) => r.j).sort()
    const dump = execFileSync(postgresBin("pg_dump"), ["--schema-only", "--no-comments", `--table=${table}`, "-h", lab.postgres.dir, "-p", String(lab.postgres.port), "-U", "postgres", "shop"], { encoding: "utf8" })
      .split("\n")
      .filter((l) => !l.startsWith("-- Dumped") && !/^\\(un)?restrict /.test(l))
      .join("\n")
    return { rows, dump }
  } finally {
    await client.end()
  }
}

const runAgainst = async (lab: DataLab, file: string, table: string) => {
  const state = tempDir("shiftup-state-")
  const before = await look(lab, table)
  const r = await runCli(["run", `${repoRoot}experiments/data/${file}`, "--state-dir", state], { env: lab.env, timeoutMs: 60_000 })
  expect(await look(lab, table), r.output).toEqual(before)
  expect(pendingIntents(state)).toEqual([])
  expect(r.output).not.toContain(lab.env["SHIFTUP_PG_PASSWORD"])
  return { r, journal: journals(state)[0] }
}

describe("against a lab whose app signs roles and checks order rows", () => {
  let lab: DataLab
  beforeAll(async () => {
    lab = await startDataLab({ ordersPerUser: 50 })
  }, 60_000)
  afterAll(() => lab?.stop())

  it("a role flipped to admin: the audit trigger's alert is detected, the app fails closed — the experiment passes, the table is as it was", async () => {
    const { r, journal } = await runAgainst(lab, "postgres-role-flip.ts", "public.users")
    expect(r.code, r.output).toBe(0)
    expect(journal?.status).toBe("passed")
    expect(journal?.steps.find((s) => s.id.startsWith("integrity alerts raised by this run detected within"))?.outcome).toBe("held")
    expect(journal?.rollbacks.map((x) => x.outcome)).toEqual(["restored"])
  }, 90_000)

  it("the orders encrypted: the app fails closed (503, nothing leaked) and the rows come back — the experiment passes", async () => {
    const { r, journal } = await runAgainst(lab, "postgres-orders-encrypted.ts", "public.orders")
    expect(r.code, r.output).toBe(0)
    expect(journal?.status).toBe("passed")
    expect(journal?.rollbacks.map((x) => [x.fault, x.outcome])).toEqual([["orders encrypted (ransomware)", "restored"]])
  }, 90_000)
})

describe("against a lab whose app trusts the role column", () => {
  let lab: DataLab
  beforeAll(async () => {
    lab = await startDataLab({ signedRoles: false, ordersPerUser: 1 })
  }, 60_000)
  afterAll(() => lab?.stop())

  it("grants admin: a finding (exit 1), the alert still fires, and the table is still restored", async () => {
    const { r, journal } = await runAgainst(lab, "postgres-role-flip.ts", "public.users")
    expect(r.code, r.output).toBe(1)
    expect(journal?.findings.map((f) => f.id)).toEqual([expect.stringMatching(/^user 2 on \/staff during faults/)])
    expect(journal?.steps.find((s) => s.id.startsWith("integrity alerts raised by this run detected within"))?.outcome).toBe("held")
  }, 90_000)
})
