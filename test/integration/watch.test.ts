/**
 * `shiftup watch` as a user runs it: the real bin, a config with three jobs on 1 s intervals
 * against the demo lab (a real HTTP system on 127.0.0.1). Its findings go into the store through
 * their lifecycle (the test breaks, fixes and re-breaks the lab) and to a signed webhook (once
 * each, after a retry); a slow job never overlaps itself; /healthz and /metrics answer; SIGTERM
 * stops it within the deadline with its state written, abandoning a job past the deadline;
 * kill -9 loses no recorded finding. And a job whose experiment injects a fault is refused
 * before anything starts.
 */
import * as http from "node:http"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it, onTestFinished } from "vitest"
import { finish, fixture, runCli, spawnCli, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"
import { labForThisFile } from "../support/proc-lab.ts"
import { freePort } from "../support/servers.ts"
import { changed, events, receiver, signedEvents } from "../support/watch-cli.ts"
import { fingerprint, openSqlite, type Observation } from "shiftup/watch"

useProcessCleanup()

const lab = labForThisFile()

const setAuth = async (mode: "ok" | "slow") => {
  const r = await fetch(`${lab().urls.control}/faults`, { method: "POST", body: JSON.stringify({ auth: mode }) })
  expect(r.status).toBe(200)
}

const config = (jobs: string, inventory = "", shutdownTimeout = "6 seconds", webhooks = "[]") => `import { defineConfig } from "shiftup"
export default defineConfig({
  ${inventory}
  watch: { port: 0, shutdownTimeout: "${shutdownTimeout}", webhooks: ${webhooks}, jobs: [${jobs}] },
})
`

const anonymousRule = "watch.gateway-denies-anonymous/anonymous-denied"
const portRule = "inventory.rule/no new ports"

describe("shiftup watch", () => {
  it("runs observe-only jobs on schedule, records findings through their lifecycle, never overlaps a job, serves /healthz and /metrics, and stops on SIGTERM within the deadline", async () => {
    const dir = tempDir("shiftup-watch-")
    const state = join(dir, "state")
    const extraPort = await freePort()
    const hook = await receiver({ failFirst: 1 })
    onTestFinished(() => hook.close())
    const secret = "s3cret-for-this-test"
    writeFileSync(
      join(dir, "shiftup.config.ts"),
      config(
        `{ name: "gateway-auth", experiment: ${JSON.stringify(fixture("watch", "gateway-auth.ts"))}, every: 1000 },
         { name: "slow", experiment: ${JSON.stringify(fixture("watch", "slow.ts"))}, every: "1 second" },
         { name: "inventory", inventory: true, every: 1000, jitter: 100 }`,
        `inventory: { endpoints: [{ target: "127.0.0.1", ports: [${lab().ports.gateway}, ${extraPort}], environment: "staging" }], rules: [{ name: "no new ports", kinds: ["port-opened"] }] },`,
        "6 seconds",
        `[{ url: ${JSON.stringify(hook.url)}, secretEnv: "WATCH_HOOK_SECRET", backoffMs: 50 }]`,
      ),
    )
    const watch = spawnCli(["watch", "--state-dir", state, "--log", "json"], { cwd: dir, env: { SHIFTUP_LAB_PORT: String(lab().base), WATCH_HOOK_SECRET: secret } })
    await waitFor("the watcher to start", () => events(watch).some((e) => e.event === "watch.started"), { proc: watch })
    const url = events(watch).find((e) => e.event === "watch.started")?.["url"] as string
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

    const health = await fetch(`${url}/healthz`)
    expect(health.status).toBe(200)
    expect(Object.keys(((await health.json()) as { jobs: object }).jobs).sort()).toEqual(["gateway-auth", "inventory", "slow"])

    // A clean scan first, then the lab breaks (slow auth: the gateway fails open), is fixed, breaks again.
    await waitFor("a clean gateway scan", () => events(watch).some((e) => e.event === "job.finished" && e["job"] === "gateway-auth"), { proc: watch })
    expect(changed(watch, anonymousRule, "new")).toEqual([])
    await setAuth("slow")
    await waitFor("the weakness found", () => changed(watch, anonymousRule, "new").length === 1, { proc: watch })
    const metrics = await (await fetch(`${url}/metrics`)).text()
    expect(metrics).toContain(`shiftup_watch_open_findings{severity="critical",rule="${anonymousRule}"} 1`)
    await setAuth("ok")
    await waitFor("the weakness resolved", () => changed(watch, anonymousRule, "resolved").length === 1, { proc: watch })
    await setAuth("slow")
    await waitFor("the weakness regressed", () => changed(watch, anonymousRule, "regressed").length === 1, { proc: watch })
    await setAuth("ok")
    const fp = changed(watch, anonymousRule, "new")[0]?.["fingerprint"]
    expect(changed(watch, anonymousRule, "regressed")[0]?.["fingerprint"], "one fingerprint across runs").toBe(fp)

    // Inventory drift: a port opens under the watched host → the rule's finding; no change since → resolved.
    await waitFor("an inventory scan", () => events(watch).some((e) => e.event === "job.finished" && e["job"] === "inventory"), { proc: watch })
    const extra = http.createServer((_, res) => res.end("ok")).listen(extraPort, "127.0.0.1")
    try {
      await waitFor("the new port found", () => changed(watch, portRule, "new").length === 1, { proc: watch })
      await waitFor("the drift finding resolved", () => changed(watch, portRule, "resolved").length === 1, { proc: watch })
    } finally {
      extra.close()
    }

    // The slow job (2.5 s on a 1 s interval) skipped ticks and never ran twice at once.
    await waitFor("a skipped tick", () => events(watch).some((e) => e.event === "job.skipped" && e["job"] === "slow"), { proc: watch })
    const slow = events(watch).filter((e) => e["job"] === "slow" && (e.event === "job.started" || e.event === "job.finished" || e.event === "job.incomplete"))
    slow.forEach((e, i) => expect(e.event, `event ${i} of the slow job`).toBe(i % 2 === 0 ? "job.started" : "job.finished"))

    const text = await (await fetch(`${url}/metrics`)).text()
    // Every line is a comment (# HELP / # TYPE) or a sample of the Prometheus text format.
    for (const line of text.split("\n").filter((l) => l !== "")) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_]\w*="(\\.|[^"\\])*",?)*\})? -?(\d+(\.\d+)?(e[+-]?\d+)?|\+Inf|NaN))$/)
    expect(text).toMatch(/^shiftup_watch_job_skipped_total\{job="slow"\} [1-9]/m)
    expect(text).toMatch(/^shiftup_watch_job_duration_seconds_count\{job="slow",outcome="ok"\} [1-9]/m)
    expect(text).toMatch(/^shiftup_watch_job_last_success_timestamp_seconds\{job="inventory"\} \d{10}/m)
    expect(text).toMatch(/^shiftup_watch_job_last_success_timestamp_seconds\{job="gateway-auth"\} \d{10}/m)
    expect(text).toMatch(/^shiftup_watch_finding_transitions_total\{to="regressed"\} 1$/m)

    // SIGTERM while the slow job runs: it finishes within the deadline (6 s), the state is written.
    await waitFor("the slow job running", () => events(watch).at(-1) !== undefined && events(watch).filter((e) => e["job"] === "slow" && e.event !== "job.skipped").at(-1)?.event === "job.started", { proc: watch })
    const stopAt = Date.now()
    watch.child.kill("SIGTERM")
    const r = await finish(watch, 20_000)
    const tookMs = Date.now() - stopAt
    expect(r.code, r.output).toBe(0)
    expect(tookMs).toBeLessThan(6_000)
    expect(events(watch).map((e) => e.event)).toContain("watch.stopped")
    // A watcher injects nothing: the signal stops it, no "rolling back every fault" notice.
    expect(watch.stderr()).toContain("SIGTERM received — stopping")
    expect(watch.stderr()).not.toContain("rolling back")
    const written = JSON.parse(readFileSync(join(state, "watch-state.json"), "utf8")) as { schema: string; clean: boolean; jobs: Record<string, { runs: number; lastSuccess?: string }>; inventory: Record<string, { assets: unknown[] }> }
    expect(written.schema).toBe("shiftup.watch-state/v1")
    expect(written.clean).toBe(true)
    expect(written.jobs["slow"]?.lastSuccess).toBeDefined()
    expect(written.inventory["inventory"]?.assets.length).toBeGreaterThan(0)
    expect(existsSync(join(state, "watch.sqlite"))).toBe(true)

    // The webhook got each transition once (after one retry of the first), signed over the exact body.
    const bodies = signedEvents(hook.got, secret)
    expect(hook.requests()).toBe(hook.got.length + 1)
    expect(bodies.filter((e) => e.finding.rule === anonymousRule).map((e) => e.event)).toEqual(["finding.new", "finding.resolved", "finding.regressed", "finding.resolved"])
    expect(bodies.filter((e) => e.finding.rule === portRule).map((e) => e.event)).toEqual(["finding.new", "finding.resolved"])
    expect(new Set(bodies.map((e) => e.id)).size).toBe(bodies.length)
    expect(events(watch).filter((e) => e.event === "webhook.retrying")).toHaveLength(1)

    // The store outlives the process: `shiftup findings` lists what is still open (nothing: all resolved).
    const listed = await runCli(["findings", "--state-dir", state, "--format", "json"], { cwd: dir })
    expect(listed.code, listed.output).toBe(0)
    expect((JSON.parse(listed.stdout) as { findings: Array<{ rule: string }> }).findings.filter((f) => f.rule === anonymousRule)).toEqual([])
  })

  it("a job still running at the shutdown deadline is abandoned (aborted, nothing recorded): exit 3 within the deadline, state written", async () => {
    const dir = tempDir("shiftup-watch-")
    const state = join(dir, "state")
    writeFileSync(join(dir, "shiftup.config.ts"), config(`{ name: "slow", experiment: ${JSON.stringify(fixture("watch", "slow.ts"))}, every: 1000 }`, "", "1 second"))
    const watch = spawnCli(["watch", "--state-dir", state, "--log", "json"], { cwd: dir, env: { SHIFTUP_LAB_PORT: String(lab().base) } })
    await waitFor("the slow job running", () => events(watch).some((e) => e.event === "job.started"), { proc: watch })
    const stopAt = Date.now()
    watch.child.kill("SIGTERM")
    const r = await finish(watch, 20_000)
    const tookMs = Date.now() - stopAt
    expect(r.code, r.output).toBe(3)
    expect(tookMs).toBeLessThan(1_500)
    expect(events(watch).map((e) => e.event)).toEqual(expect.arrayContaining(["watch.abandoning", "job.incomplete", "watch.stopped"]))
    expect(events(watch).map((e) => e.event)).not.toContain("job.finished")
    const written = JSON.parse(readFileSync(join(state, "watch-state.json"), "utf8")) as { clean: boolean; jobs: Record<string, { runs: number; lastOutcome?: string }> }
    expect(written.clean).toBe(false)
    expect(written.jobs["slow"]).toMatchObject({ runs: 1 })
  })

  it("kill -9 loses no recorded finding, and the next start continues its lifecycle", async () => {
    const dir = tempDir("shiftup-watch-")
    const state = join(dir, "state")
    writeFileSync(join(dir, "shiftup.config.ts"), config(`{ name: "gateway-auth", experiment: ${JSON.stringify(fixture("watch", "gateway-auth.ts"))}, every: 1000 }`))
    const env = { SHIFTUP_LAB_PORT: String(lab().base) }
    await setAuth("slow")
    onTestFinished(() => setAuth("ok"))
    const first = spawnCli(["watch", "--state-dir", state, "--log", "json"], { cwd: dir, env })
    await waitFor("the weakness found", () => changed(first, anonymousRule, "new").length === 1, { proc: first })
    first.child.kill("SIGKILL")
    await first.exited
    const fp = changed(first, anonymousRule, "new")[0]?.["fingerprint"]
    const listed = JSON.parse((await runCli(["findings", "--state-dir", state, "--format", "json"], { cwd: dir })).stdout) as { findings: Array<{ fingerprint: string; state: string }> }
    expect(listed.findings.map((f) => [f.fingerprint, f.state])).toEqual([[fp, "new"]])
    const second = spawnCli(["watch", "--state-dir", state, "--log", "json"], { cwd: dir, env })
    await waitFor("the same finding seen again", () => changed(second, anonymousRule, "open").length === 1, { proc: second })
    expect(changed(second, anonymousRule, "open")[0]?.["fingerprint"]).toBe(fp)
    expect(changed(second, anonymousRule, "new")).toEqual([])
    second.child.kill("SIGTERM")
    expect((await finish(second, 20_000)).code).toBe(0)
  })

  it("refuses at start a job whose experiment injects a fault, before anything runs", async () => {
    const dir = tempDir("shiftup-watch-")
    writeFileSync(
      join(dir, "shiftup.config.ts"),
      config(`{ name: "fine", experiment: ${JSON.stringify(fixture("watch", "gateway-auth.ts"))}, every: 1000 }, { name: "faulty", experiment: ${JSON.stringify(fixture("watch", "with-fault.ts"))}, every: 1000 }`),
    )
    const before = { ...lab().hits }
    const r = await runCli(["watch", "--state-dir", join(dir, "state"), "--log", "json"], { cwd: dir, env: { SHIFTUP_LAB_PORT: String(lab().base) }, timeoutMs: 20_000 })
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toContain("watch.jobs[1] (faulty)")
    expect(r.stderr).toContain('experiment "watch.with-fault" has disrupt step')
    expect(r.stderr).toContain("a watch job runs observe-only experiments")
    expect(r.stdout).not.toContain("watch.started")
    expect(lab().hits, "nothing was contacted").toEqual(before)
    expect(existsSync(join(dir, "state", "watch.sqlite"))).toBe(false)
  })

  it("refuses at start a job whose plan the floor refuses (a production data store, even observed)", async () => {
    const dir = tempDir("shiftup-watch-")
    writeFileSync(join(dir, "shiftup.config.ts"), config(`{ name: "orders", experiment: ${JSON.stringify(fixture("watch", "production-store.ts"))}, every: 1000 }`))
    const r = await runCli(["watch", "--state-dir", join(dir, "state"), "--log", "json"], { cwd: dir, timeoutMs: 20_000 })
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toContain('watch.jobs[0] (orders): experiment "watch.production-store" is refused by its plan: floor.production-data-store')
    expect(r.stdout).not.toContain("watch.started")
  })

  it("shiftup findings: the open set as text, JSON and SARIF; accept a risk until a date", async () => {
    const state = tempDir("shiftup-watch-state-")
    const seen: Observation = { rule: anonymousRule, asset: "gateway", location: "before", severity: "critical", title: "The gateway denies anonymous callers", detail: "observed 200" }
    const store = openSqlite(join(state, "watch.sqlite"))
    await store.record("gateway-auth", [seen], new Date())
    await store.close()
    const fp = fingerprint(seen)
    const text = await runCli(["findings", "--state-dir", state])
    expect(text.stdout).toContain(`CRITICAL new           ${anonymousRule} on gateway (before)`)
    expect(text.stdout).toContain(`[${fp}]`)
    const sarif = JSON.parse((await runCli(["findings", "--state-dir", state, "--format", "sarif"])).stdout) as { version: string; runs: Array<{ results: Array<{ ruleId: string; level: string; partialFingerprints: Record<string, string> }> }> }
    expect(sarif.version).toBe("2.1.0")
    expect(sarif.runs[0]?.results).toEqual([expect.objectContaining({ ruleId: anonymousRule, level: "error", partialFingerprints: { "shiftup/v1": fp } })])
    const past = await runCli(["findings", "accept", fp, "--until", "2020-01-01", "--state-dir", state, "WAF", "rule"])
    expect(past.code).toBe(4)
    expect(past.stderr).toContain("must expire after now")
    const accepted = await runCli(["findings", "accept", fp, "--until", "2099-01-01", "--state-dir", state, "WAF", "rule", "OPS-7"])
    expect(accepted.code, accepted.output).toBe(0)
    const json = JSON.parse((await runCli(["findings", "--state-dir", state, "--format", "json"])).stdout) as { findings: Array<{ state: string; acceptedReason: string }> }
    expect(json.findings).toEqual([expect.objectContaining({ state: "accepted-risk", acceptedReason: "WAF rule OPS-7" })])
  })
})
