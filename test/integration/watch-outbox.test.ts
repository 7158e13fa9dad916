/**
 * Webhook deliveries survive a crash: a real `shiftup watch` (SQLite store) finds a weakness
 * while the webhook receiver is down, so the delivery stays in the store's outbox, retried with
 * backoff; the watcher is killed with SIGKILL; the receiver comes up; the restarted watcher
 * sends the delivery — once, with the same delivery id and a valid signature.
 */
import { createHmac } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { expect, it, onTestFinished } from "vitest"
import { fixture, spawnCli, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"
import { events } from "../support/watch-cli.ts"
import { freePort } from "../support/servers.ts"

useProcessCleanup()


const listen = async (server: http.Server, port = 0) => {
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()))
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())))
  return (server.address() as AddressInfo).port
}

it("a delivery the receiver could not take before a kill -9 is sent after the restart, once, with the same id", async () => {
  const probe = http.createServer((_, res) => res.writeHead(403).end("no"))
  const probeUrl = `http://127.0.0.1:${await listen(probe)}`
  const hookPort = await freePort()
  const secret = "outbox-secret-for-this-test"
  const dir = tempDir("shiftup-watch-outbox-")
  writeFileSync(
    join(dir, "shiftup.config.ts"),
    `import { defineConfig } from "shiftup"
export default defineConfig({
  watch: {
    port: 0,
    webhooks: [{ url: "http://127.0.0.1:${hookPort}/hook", secretEnv: "OUTBOX_HOOK_SECRET", attempts: 20, backoffMs: 100 }],
    jobs: [{ name: "probe", experiment: ${JSON.stringify(fixture("watch", "lease-probe.ts"))}, every: 1000 }],
  },
})
`,
  )
  const env = { LEASE_PROBE_URL: probeUrl, WATCHER_NAME: "outbox", OUTBOX_HOOK_SECRET: secret }
  const args = ["watch", "--state-dir", join(dir, "state"), "--log", "json"]
  const first = spawnCli(args, { cwd: dir, env })
  const retries = () => events(first).filter((e) => e.event === "webhook.retrying")
  await waitFor("the delivery retried while the receiver is down", () => retries().length >= 2, { timeoutMs: 30_000, proc: first })
  const id = retries()[0]?.["delivery"] as string
  expect(retries().every((e) => e["delivery"] === id), "one delivery, retried under its id").toBe(true)
  expect(events(first).filter((e) => e.event === "finding.changed").map((e) => e["to"])).toEqual(["new"])
  first.child.kill("SIGKILL")
  await first.exited

  const got: Array<{ readonly headers: http.IncomingHttpHeaders; readonly body: string }> = []
  const receiver = http.createServer((req, res) => {
    let body = ""
    req.on("data", (c: Buffer) => (body += c.toString("utf8")))
    req.on("end", () => {
      got.push({ headers: req.headers, body })
      res.writeHead(204).end()
    })
  })
  await listen(receiver, hookPort)
  const second = spawnCli(args, { cwd: dir, env })
  onTestFinished(async () => {
    second.child.kill("SIGTERM")
    await second.exited
  })
  await waitFor("the pending delivery sent after the restart", () => got.length >= 1, { timeoutMs: 30_000, proc: second })
  // Two more scans (the finding is open now: no new deliveries by default) and nothing is sent twice.
  const scans = events(second).filter((e) => e.event === "job.finished").length
  await waitFor("two more scans", () => events(second).filter((e) => e.event === "job.finished").length >= scans + 2, { timeoutMs: 30_000, proc: second })
  expect(got).toHaveLength(1)
  const [d] = got as [(typeof got)[0]]
  expect(d.headers["x-shiftup-delivery"]).toBe(id)
  expect(d.headers["x-shiftup-signature"]).toBe(`sha256=${createHmac("sha256", secret).update(d.body).digest("hex")}`)
  expect(JSON.parse(d.body)).toMatchObject({ schema: "shiftup.watch-event/v1", id, event: "finding.new", job: "probe", finding: { rule: "watch.lease-probe/probe-ok", state: "new" } })
  expect(events(second).filter((e) => e.event === "webhook.delivered").map((e) => e["delivery"])).toEqual([id])
})
