/**
 * experiments/data/redis-session-corruption.ts through the real CLI, against a real
 * password-protected redis-server and a tiny HTTP API that keeps its sessions there. An API that
 * signs its sessions and treats an unparsable one as none passes (exit 0); one that trusts the
 * role it reads back is caught (exit 1, a finding). Either way the rollback restores every
 * session exactly, and the password is in no output, ledger or journal.
 */
import { createHmac } from "node:crypto"
import { readdirSync, readFileSync, statSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { expect, it } from "vitest"
import { journals, pendingIntents, repoRoot, runCli, tempDir, useProcessCleanup } from "../support/proc-cli.ts"
import { connect, snapshot, useRedisServer } from "../support/redis-data.ts"

useProcessCleanup()

const file = join(repoRoot, "experiments", "data", "redis-session-corruption.ts")
const password = `exp-${Math.random().toString(36).slice(2)}-pw`
const secret = "app-signing-secret"
const redis = useRedisServer(password)

const sign = (user: string, role: string) => createHmac("sha256", secret).update(`${user}\u0000${role}`).digest("hex")

const seed = async () => {
  await redis.client.sendCommand(["FLUSHALL"])
  for (const [user, role] of [["alice", "admin"], ["bob", "user"], ["carol", "user"]] as const) await redis.client.set(`session:${user}`, JSON.stringify({ user, role, sig: sign(user, role) }))
  await redis.client.sendCommand(["PEXPIREAT", "session:carol", String(Date.now() + 600_000)])
  await redis.client.set("rate:bob", "3")
}

/** The API: GET /admin with cookie sid=<id> reads session:<id>. `verify`: it checks the signature. */
const startApp = async (verify: boolean) => {
  const store = await connect(redis.server.port, password)
  const app = http.createServer((req, res) => {
    const end = (status: number) => res.writeHead(status).end()
    const sid = /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie ?? "")?.[1]
    void (async () => {
      const raw = sid === undefined ? null : await store.get(`session:${sid}`)
      if (raw === null) return end(401)
      let s: { user?: unknown; role?: unknown; sig?: unknown }
      try {
        s = JSON.parse(raw) as typeof s
      } catch {
        return end(401)
      }
      if (verify && s.sig !== sign(String(s.user), String(s.role))) return end(401)
      return end(s.role === "admin" ? 200 : 403)
    })().catch(() => end(401))
  })
  await new Promise<void>((r) => app.listen(0, "127.0.0.1", r))
  return {
    url: `http://127.0.0.1:${(app.address() as AddressInfo).port}`,
    close: async () => {
      app.closeAllConnections()
      await new Promise((r) => app.close(r))
      await store.close()
    },
  }
}

for (const [name, verify, code, status] of [
  ["an API that signs its sessions holds: exit 0", true, 0, "passed"],
  ["an API that trusts the role in its store is caught: exit 1, a finding", false, 1, "failed"],
] as const)
  it(`${name}; the store is restored exactly either way`, async () => {
    await seed()
    const before = await snapshot(redis.client)
    const app = await startApp(verify)
    try {
      const state = tempDir("shiftup-redis-exp-")
      const r = await runCli(["run", file, "--state-dir", state, "--report", "html,junit,sarif,md"], {
        env: { SHIFTUP_SESSIONS_REDIS_URL: `redis://127.0.0.1:${redis.server.port}`, SHIFTUP_SESSIONS_REDIS_PASSWORD: password, SHIFTUP_SESSIONS_APP_URL: app.url },
        timeoutMs: 60_000,
      })
      expect(r.code, r.output).toBe(code)
      const [j] = journals(state)
      expect(j?.status, r.output).toBe(status)
      if (!verify) expect(j?.findings.length).toBeGreaterThan(0)
      expect(j?.rollbacks.map((x) => x.outcome)).toEqual(["restored", "restored"])
      expect(await snapshot(redis.client)).toEqual(before)
      expect(pendingIntents(state)).toEqual([])
      expect(r.output.includes(password)).toBe(false)
      // Ledger, journal and every report (HTML, JUnit, SARIF, Markdown): no password anywhere.
      const files = (readdirSync(state, { recursive: true, encoding: "utf8" }) as ReadonlyArray<string>).map((f) => join(state, f)).filter((f) => statSync(f).isFile())
      expect(files.filter((f) => f.endsWith(".jsonl")).length).toBe(1)
      expect(files.filter((f) => f.includes(`${join(state, "reports")}`)).length).toBeGreaterThanOrEqual(4)
      for (const f of files) expect(readFileSync(f, "utf8").includes(password), f).toBe(false)
    } finally {
      await app.close()
    }
  })
