/**
 * `npm run demo:data`: data chaos against a real Redis on this machine. Starts the host's
 * `redis-server` (loopback, a free port, no persistence, a random password) and a small session
 * API that keeps its sessions there and trusts the role it reads back (the planted weakness),
 * then runs `experiments/data/redis-session-corruption.ts` through the real CLI. The store's
 * checksum (`Data.Redis.checksum`) is printed before and after: the data fault finds the
 * weakness, and the rollback puts every session back exactly. Both processes are stopped by pid
 * at the end, also on Ctrl-C.
 *
 * Needs `redis-server` (Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install
 * redis`), or SHIFTUP_REDIS_SERVER naming its path.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs"
import * as http from "node:http"
import { type AddressInfo, createServer } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"
import { fileURLToPath } from "node:url"
import { main } from "../cli/main.ts"
import * as Redis from "../data/redis/index.ts"
import * as Expect from "../Expect.ts"
import * as Experiment from "../Experiment.ts"
import { runPromise } from "../Runner.ts"

const experiment = fileURLToPath(new URL("../../experiments/data/redis-session-corruption.ts", import.meta.url))
const out = (s: string) => void process.stdout.write(s)
const fail = (code: number, s: string): never => {
  process.stderr.write(`shiftup demo:data: ${s}\n`)
  process.exit(code)
}

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

const redisServer = (): string => {
  const named = process.env["SHIFTUP_REDIS_SERVER"]
  if (named !== undefined) return executable(named) ? named : fail(4, `SHIFTUP_REDIS_SERVER=${named} is not an executable file`)
  const found = [...(process.env["PATH"] ?? "").split(delimiter), "/usr/sbin", "/usr/local/bin"].map((d) => join(d, "redis-server")).find(executable)
  return found ?? fail(4, "this demo runs a real Redis and found no redis-server: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set SHIFTUP_REDIS_SERVER to its path")
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port
      s.close(() => resolve(port))
    })
  })

type Client = Awaited<ReturnType<typeof connect>>
const connect = async (port: number, password?: string) => {
  const { createClient } = await import("redis")
  const client = createClient({ url: `redis://127.0.0.1:${port}`, ...(password === undefined ? {} : { password }), socket: { reconnectStrategy: false } })
  client.on("error", () => undefined)
  await client.connect()
  return client
}

/** Connects once the server accepts connections (it takes a few milliseconds to start). */
const connectWhenUp = async (port: number, password: string | undefined, child: ChildProcess): Promise<Client> => {
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      return await connect(port, password)
    } catch (e) {
      if (child.exitCode !== null) return fail(4, `redis-server exited with code ${child.exitCode} before it accepted connections`)
      if (Date.now() > deadline) return fail(4, `redis-server did not accept connections on 127.0.0.1:${port} within 10 s (${String(e)})`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

/** The session API with the planted weakness: it serves /admin to whatever role the stored session says. */
const startApi = (store: Client) =>
  new Promise<http.Server>((resolve) => {
    const api = http.createServer((req, res) => {
      const end = (status: number) => res.writeHead(status).end()
      const sid = /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie ?? "")?.[1]
      void (async () => {
        const raw = sid === undefined ? null : await store.get(`session:${sid}`)
        if (raw === null) return end(401)
        let session: { readonly role?: unknown }
        try {
          session = JSON.parse(raw) as typeof session
        } catch {
          return end(401)
        }
        return end(session.role === "admin" ? 200 : 403)
      })().catch(() => end(401))
    })
    api.listen(0, "127.0.0.1", () => resolve(api))
  })

const port = await freePort()
const password = randomBytes(12).toString("hex")
const dir = mkdtempSync(join(tmpdir(), "shiftup-demo-data-"))
const redis = spawn(redisServer(), ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" })
// The password on the command line would show in `ps`: it is set over the connection instead.
const bootstrap = await connectWhenUp(port, undefined, redis)
await bootstrap.configSet("requirepass", password)
bootstrap.destroy()
const store = await connect(port, password)
const api = await startApi(store)
const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`

const stopAll = async () => {
  api.closeAllConnections()
  await new Promise((r) => api.close(r))
  store.destroy()
  // Stopped by its pid, and waited for: nothing of the demo is left running when it exits.
  const exited = new Promise<void>((resolve) => (redis.exitCode !== null || redis.signalCode !== null ? resolve() : redis.once("exit", () => resolve())))
  redis.kill("SIGTERM")
  const killer = setTimeout(() => redis.kill("SIGKILL"), 5000)
  await exited
  clearTimeout(killer)
  rmSync(dir, { recursive: true, force: true })
}
const controller = new AbortController()
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => controller.abort(sig))

for (const [user, role] of [["alice", "admin"], ["bob", "user"], ["carol", "user"]] as const) await store.set(`session:${user}`, JSON.stringify({ user, role }))

process.env["SHIFTUP_SESSIONS_REDIS_URL"] = `redis://127.0.0.1:${port}`
process.env["SHIFTUP_SESSIONS_REDIS_PASSWORD"] = password
process.env["SHIFTUP_SESSIONS_APP_URL"] = apiUrl

// The checksum through shiftup's own probe, in an observe-only run (no ledger, no fault).
const sessions = Redis.target("sessions", { url: `redis://127.0.0.1:${port}`, passwordEnv: "SHIFTUP_SESSIONS_REDIS_PASSWORD", environment: "lab", keys: "session:*" })
const checksum = async (): Promise<Redis.Checksum> => {
  const probe = Redis.checksum(sessions)
  const observed = Experiment.make({ id: "demo.data.checksum", title: "checksum of the session store", targets: { sessions }, hypothesis: [Expect.that(probe, Expect.predicate("any", () => true))], method: [] })
  const journal = await runPromise(observed, { journal: false })
  const step = journal.steps[0]
  if (journal.exitCode !== 0 || step?.observed === undefined) return fail(4, `could not take the checksum: ${journal.summary}`)
  return step.observed as Redis.Checksum
}

out(
  `shiftup demo:data — a real Redis (redis-server pid ${redis.pid}, 127.0.0.1:${port}, password-protected) holds the sessions\n` +
    `of a small API (${apiUrl}). The API has ONE planted weakness: it trusts the role it reads back from its store.\n\n`,
)
const before = await checksum()
out(`  checksum before: ${before.digest.slice(0, 16)}… over ${before.keys} keys\n\n`)
const code = await main(["run", experiment], { signal: controller.signal })
const after = await checksum()
out(`\n  checksum after:  ${after.digest.slice(0, 16)}… over ${after.keys} keys — ${after.digest === before.digest ? "restored exactly" : "DIFFERENT: the data was not restored"}\n`)
await stopAll()

if (after.digest !== before.digest) fail(5, "the session store's checksum differs after the rollback; run `shiftup recover` and see the journal in .shiftup/journals/")
if (code !== 1) fail(code === 0 ? 1 : code, `expected the experiment to find the planted weakness (exit 1) but it ended with exit ${code}; see the output above`)
out(
  `\nThe data fault found the planted weakness: with a session's role rewritten to "admin" in the store, the API\n` +
    `served /admin to bob. Every session was put back from its before-image; the checksums match.\n` +
    `Next: read experiments/data/redis-session-corruption.ts and docs/data.md.\n`,
)
process.exit(0)
