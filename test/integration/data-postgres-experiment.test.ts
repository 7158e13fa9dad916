/**
 * The catalogue's data experiment (experiments/data/postgres-role-flip.ts) through the real CLI,
 * against a real PostgreSQL and a tiny HTTP application using it: rows carry an HMAC of id:role,
 * so a role flipped to 'admin' in the database fails closed (409). The run must pass (exit 0),
 * leave the table's rows and definition as they were, and owe nothing. A second application that
 * trusts the role column is the finding (exit 1). `experiments/data` is left out of the demo-lab
 * catalogue test, which has no database.
 */
import { createHmac } from "node:crypto"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import pg from "pg"
import { afterAll, beforeAll, expect, it } from "vitest"
import { startPgLab, type PgLab } from "../support/postgres.ts"
import { journals, pendingIntents, repoRoot, runCli, tempDir, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

const key = "app-signing-key"
const sign = (id: number, role: string) => createHmac("sha256", key).update(`${id}:${role}`).digest("hex")

let lab: PgLab
let pool: pg.Pool
const apps: Array<Server> = []

/** The application: `/admin?user=N` is 200 for an admin, 403 for others, 409 when a row's signature does not match (unless `trusting`). */
const startApp = async (trusting: boolean): Promise<string> => {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x")
    const id = Number(url.searchParams.get("user"))
    pool
      .query("SELECT role, role_sig FROM users WHERE id = $1", [id])
      .then(({ rows }) => {
        const row = rows[0] as { role: string; role_sig: string } | undefined
        if (row === undefined) return res.writeHead(404).end()
        if (!trusting && row.role_sig !== sign(id, row.role)) return res.writeHead(409).end("integrity check failed")
        res.writeHead(row.role === "admin" ? 200 : 403).end()
      })
      .catch(() => res.writeHead(500).end())
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  apps.push(server)
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

beforeAll(async () => {
  lab = await startPgLab()
  await lab.admin.query("GRANT CREATE ON SCHEMA public TO app")
  await lab.admin.query("SET ROLE app")
  await lab.admin.query("CREATE TABLE public.users (id int PRIMARY KEY, name text NOT NULL, role text NOT NULL, role_sig text NOT NULL)")
  for (const [id, name, role] of [[1, "ada", "admin"], [2, "bob", "user"], [3, "cy", "user"]] as const)
    await lab.admin.query("INSERT INTO public.users VALUES ($1, $2, $3, $4)", [id, name, role, sign(id, role)])
  await lab.admin.query("RESET ROLE")
  pool = new pg.Pool({ host: "127.0.0.1", port: lab.port, user: "app", password: lab.password, database: "postgres", max: 4 })
})
afterAll(async () => {
  await Promise.all(apps.map((s) => new Promise((r) => s.close(r))))
  await pool?.end()
  await lab?.stop()
})

const file = `${repoRoot}experiments/data/postgres-role-flip.ts`

const runAgainst = async (appUrl: string) => {
  const state = tempDir("shiftup-state-")
  const rows = await lab.rows("public.users")
  const dump = lab.dump("public.users")
  const r = await runCli(["run", file, "--state-dir", state], {
    env: { SHIFTUP_PG_URL: lab.url, SHIFTUP_PG_PASSWORD_ENV: lab.passwordEnv, [lab.passwordEnv]: lab.password, SHIFTUP_APP_URL: appUrl },
    timeoutMs: 60_000,
  })
  expect(await lab.rows("public.users"), r.output).toEqual(rows)
  expect(lab.dump("public.users")).toBe(dump)
  expect(pendingIntents(state)).toEqual([])
  expect(r.output).not.toContain(lab.password)
  return { r, journal: journals(state)[0] }
}

it("an application that signs roles fails closed: the experiment passes, the table is as it was", async () => {
  const { r, journal } = await runAgainst(await startApp(false))
  expect(r.code, r.output).toBe(0)
  expect(journal?.status).toBe("passed")
  expect(journal?.rollbacks.map((x) => x.outcome)).toEqual(["restored"])
}, 90_000)

it("an application that trusts the role column grants admin: a finding (exit 1), and the table is still restored", async () => {
  const { r, journal } = await runAgainst(await startApp(true))
  expect(r.code, r.output).toBe(1)
  expect(journal?.findings.length).toBeGreaterThan(0)
}, 90_000)
