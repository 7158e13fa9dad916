/**
 * `shiftup watch` against real servers the test starts: a redis-server and Debian's nginx on
 * 127.0.0.1 free ports, both in the config's inventory (environment staging), judged by a
 * misconfiguration job every second under the `web` profile. The Redis without a password is a
 * new `datastore.redis-no-auth` finding; the test sets a password over its own connection
 * (`CONFIG SET requirepass`) and the finding resolves; it clears the password and the finding
 * regresses — each transition reaches the webhook receiver (a real HTTP server here) once,
 * signed. nginx, sending none of the headers the profile requires, has its
 * `http.required-header` finding all along. SIGTERM stops the watcher with exit 0; the store
 * keeps both findings; the password never appears in the watcher's output, the store or a
 * webhook.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { expect, it, onTestFinished } from "vitest"
import { startNginx } from "../fixtures/http/nginx.ts"
import { finish, runCli, spawnCli, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"
import { connect } from "../support/redis-data.ts"
import { startRedis } from "../support/servers.ts"
import { changed, events, receiver, signedEvents } from "../support/watch-cli.ts"

useProcessCleanup()

const noAuth = "misconfig/datastore.redis-no-auth"
const header = "misconfig/http.required-header"
// Generous: one scan is a few probes, but the machine may be busy running other suites.
const scanMs = 30_000

it("a real Redis found without auth, resolved once a password is set, regressed once it is cleared, each transition signed to the webhook once; nginx's missing headers found; SIGTERM exits 0; the password leaks nowhere", async () => {
  const dir = tempDir("shiftup-watch-ds-")
  const state = join(dir, "state")
  const www = tempDir("shiftup-watch-nginx-")
  // A self-signed P-256 certificate for nginx's HTTPS listener (not scanned: the HTTP port is).
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", join(www, "k.pem"), "-out", join(www, "c.pem")], { stdio: "ignore" })
  const [redis, nginx, hook] = await Promise.all([startRedis(), startNginx(www, "bad", { key: readFileSync(join(www, "k.pem"), "utf8"), cert: readFileSync(join(www, "c.pem"), "utf8") }), receiver()])
  onTestFinished(() => Promise.all([redis.stop(), nginx.stop(), hook.close()]).then(() => undefined))
  const nginxPort = Number(new URL(nginx.http).port)
  const secret = `hook-${randomBytes(12).toString("hex")}`
  const password = `planted-${randomBytes(12).toString("hex")}`
  writeFileSync(
    join(dir, "shiftup.config.ts"),
    `import { defineConfig } from "shiftup"
export default defineConfig({
  inventory: { endpoints: [{ target: "127.0.0.1:${redis.port}", environment: "staging" }, { target: "127.0.0.1:${nginxPort}", environment: "staging" }] },
  watch: {
    port: 0,
    shutdownTimeout: "6 seconds",
    webhooks: [{ url: ${JSON.stringify(hook.url)}, secretEnv: "WATCH_HOOK_SECRET", backoffMs: 50 }],
    jobs: [{ name: "datastores", misconfig: { from: "inventory", profile: "web" }, every: 1000 }],
  },
})
`,
  )
  const watch = spawnCli(["watch", "--state-dir", state, "--log", "json"], { cwd: dir, env: { WATCH_HOOK_SECRET: secret } })
  const redisAsset = `tcp:127.0.0.1:${redis.port}`
  const nginxAsset = `tcp:127.0.0.1:${nginxPort}`

  // The open Redis and nginx's missing headers, found by the first scans.
  await waitFor("the open Redis found", () => changed(watch, noAuth, "new").length === 1, { proc: watch, timeoutMs: scanMs })
  expect(changed(watch, noAuth, "new")[0]).toMatchObject({ asset: redisAsset, severity: "critical", job: "datastores" })
  await waitFor("nginx's missing headers found", () => changed(watch, header, "new").length === 1, { proc: watch, timeoutMs: scanMs })
  expect(changed(watch, header, "new")[0]).toMatchObject({ asset: nginxAsset, severity: "medium" })

  // Fixed: a password, set over the test's own connection → the next scan no longer sees it.
  const own = await connect(redis.port)
  onTestFinished(() => own.close().catch(() => undefined))
  expect(await own.sendCommand(["CONFIG", "SET", "requirepass", password])).toBe("OK")
  await waitFor("the Redis finding resolved", () => changed(watch, noAuth, "resolved").length === 1, { proc: watch, timeoutMs: scanMs })

  // Broken again: AUTH, then the password cleared → the same finding regresses.
  expect(await own.sendCommand(["AUTH", password])).toBe("OK")
  expect(await own.sendCommand(["CONFIG", "SET", "requirepass", ""])).toBe("OK")
  await waitFor("the Redis finding regressed", () => changed(watch, noAuth, "regressed").length === 1, { proc: watch, timeoutMs: scanMs })
  const fp = changed(watch, noAuth, "new")[0]?.["fingerprint"]
  expect([changed(watch, noAuth, "resolved")[0]?.["fingerprint"], changed(watch, noAuth, "regressed")[0]?.["fingerprint"]], "one fingerprint through the lifecycle").toEqual([fp, fp])

  // Every transition delivered before the stop (new ×2, resolved, regressed), then SIGTERM.
  await waitFor("four webhook deliveries", () => hook.got.length >= 4, { proc: watch, timeoutMs: scanMs })
  watch.child.kill("SIGTERM")
  const r = await finish(watch, 20_000)
  expect(r.code, r.output).toBe(0)
  expect(events(watch).map((e) => e.event)).toContain("watch.stopped")

  // Each transition once, signed over the exact body, in the order it happened.
  const bodies = signedEvents(hook.got, secret)
  expect(hook.requests()).toBe(hook.got.length)
  expect(bodies.filter((e) => e.finding.rule === noAuth).map((e) => [e.event, e.finding.fingerprint])).toEqual([
    ["finding.new", fp],
    ["finding.resolved", fp],
    ["finding.regressed", fp],
  ])
  expect(bodies.filter((e) => e.finding.rule === header).map((e) => e.event)).toEqual(["finding.new"])
  expect(new Set(bodies.map((e) => e.id)).size).toBe(bodies.length)

  // The store outlives the process: the Redis finding regressed, nginx's still open.
  const listed = await runCli(["findings", "--state-dir", state, "--format", "json"], { cwd: dir })
  expect(listed.code, listed.output).toBe(0)
  const open = (JSON.parse(listed.stdout) as { findings: Array<{ rule: string; asset: string; state: string; detail: string }> }).findings
  expect(open.find((f) => f.rule === noAuth)).toMatchObject({ asset: redisAsset, state: "regressed" })
  expect(open.find((f) => f.rule === header)).toMatchObject({ asset: nginxAsset, state: "open", detail: expect.stringContaining("no content-security-policy header") })

  // The planted password: not in the watcher's output, any file of its state dir (the SQLite store and its WAL), or a delivery.
  expect(watch.output()).not.toContain(password)
  const files = readdirSync(state, { recursive: true, withFileTypes: true }).filter((f) => f.isFile())
  expect(files.map((f) => f.name)).toContain("watch.sqlite")
  for (const f of files) expect(readFileSync(join(f.parentPath, f.name)).includes(password), f.name).toBe(false)
  for (const d of hook.got) expect(JSON.stringify(d), "a webhook delivery").not.toContain(password)
}, 120_000)
