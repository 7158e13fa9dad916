/**
 * Chaos Toolkit experiment files (test/fixtures/ctk) run by the CLI against a live loopback
 * service (test/support/ctk-server.ts): each construct's semantics, seen from the service's
 * side — what it was sent, in which order — and from the journal. Each test has its own
 * service and state directory (`runCtk` says how the runs are made).
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, test } from "vitest"
import { runCtk as run, type CtkServer } from "../support/ctk-server.ts"
import { ledgerFiles, pendingIntents, testScope, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

const paths = (s: CtkServer) => s.seen().map((x) => `${x.method} ${x.path}`)

describe("Chaos Toolkit experiments under shiftup", () => {
  test("an exact status tolerance holds and a method probe is sent; probes only, nothing injected", async (context) => {
    const { expect } = context
    const { r, server, journal } = await run(context, "01-probe-only.json")
    expect(r.code, r.output).toBe(0)
    expect(paths(server)).toEqual(["GET /health", "GET /text", "GET /health"])
    expect(journal.experiment.tags).toContain("chaostoolkit")
    // Every request carries the run id (invariant 6), as shiftup's own probes do.
    expect(server.seen().every((s) => String(s.headers["user-agent"]).includes(journal.runId) || JSON.stringify(s.headers).includes(journal.runId))).toBe(true)
  })

  test("a two-number list is an inclusive range: 204 holds in [200, 299], which membership would refuse", async (context) => {
    const { expect } = context
    const { r, journal } = await run(context, "02-range-tolerance.json")
    expect(r.code, r.output).toBe(0)
    expect(r.stderr).toContain("inclusive range")
    expect(journal.findings).toEqual([])
  })

  test("a failed steady state before the method: no action or rollback is sent and the exit is 1 (Chaos Toolkit exits 0)", async (context) => {
    const { expect } = context
    const { r, server, journal, state } = await run(context, "03-failed-steady-state.json")
    expect(r.code, r.output).toBe(1)
    expect(journal.status).toBe("failed")
    expect(paths(server)).toEqual(["GET /status/503"])
    expect(server.faulty()).toBe(false)
    expect(pendingIntents(state)).toEqual([])
  })

  test("a longer list is membership: 204 is listed, 202 is not", async (context) => {
    const { expect } = context
    const { r, server, journal } = await run(context, "04-list-membership.json")
    expect(r.code, r.output).toBe(1)
    expect(journal.findings.map((f) => f.id)).toEqual([expect.stringMatching(/^202-is-not-listed/)])
    expect(server.to("/fault/on")).toEqual([])
  })

  test("regex tolerances search the targeted key", async (context) => {
    const { expect } = context
    const { r, journal } = await run(context, "05-regex.json")
    expect(r.code, r.output).toBe(1)
    expect(journal.findings.map((f) => f.id)).toEqual([expect.stringMatching(/^no-such-word/)])
    expect(journal.steps.filter((s) => s.outcome === "held").map((s) => s.id.split(":")[0])).toEqual(["version-in-text", "metric", "version-in-text"])
  })

  test("JSONPath tolerances: expect a value, expect a list through a filter, count (recursive descent and wildcard)", async (context) => {
    const { expect } = context
    const { r, journal } = await run(context, "06-jsonpath.json")
    expect(r.code, r.output).toBe(1)
    expect(journal.findings.map((f) => f.id)).toEqual([expect.stringMatching(/^three-items/)])
    expect(journal.steps.filter((s) => s.phase === "before").map((s) => s.outcome)).toEqual(["held", "held", "held"])
  })

  test("a range tolerance converts the body to a number", async (context) => {
    const { expect } = context
    const { r, journal } = await run(context, "07-range-typed.json")
    expect(r.code, r.output).toBe(1)
    expect(journal.findings.map((f) => f.id)).toEqual([expect.stringMatching(/^metric-in-0-10/)])
  })

  test("a probe tolerance is given the value and decides by its exit status", async (context) => {
    const { expect } = context
    const { r, journal } = await run(context, "08-probe-tolerance.json")
    expect(r.code, r.output).toBe(1)
    expect(journal.steps.filter((s) => s.phase === "before").map((s) => s.outcome)).toEqual(["held"])
    expect(journal.findings.map((f) => f.id)).toEqual([expect.stringMatching(/^text-page/)])
  })

  test("rollbacks run after the method: the service sees the action's JSON body, then the rollback", async (context) => {
    const { expect } = context
    const { r, server, state } = await run(context, "09-rollback-http.json")
    expect(r.code, r.output).toBe(0)
    expect(paths(server)).toEqual(["GET /health", "POST /fault/on", "GET /health", "POST /fault/off", "GET /health"])
    const on = server.to("/fault/on")[0]
    expect(on?.headers["content-type"]).toBe("application/json")
    expect(JSON.parse(on?.body ?? "")).toEqual({ mode: "slow", level: 3 })
    expect(JSON.parse(server.to("/fault/off")[0]?.body ?? "")).toEqual({ mode: "normal" })
    expect(server.faulty()).toBe(false)
    expect(pendingIntents(state)).toEqual([])
  })

  test("http arguments: query string for GET, a form without a JSON content type, JSON with one", async (context) => {
    const { expect } = context
    const { r, server } = await run(context, "10-http-arguments.json")
    expect(r.code, r.output).toBe(0)
    expect(server.to("/search")[0]?.query).toEqual({ fixed: "1", q: "chaos", n: "2" })
    const form = server.to("/form")[0]
    expect(form?.headers["content-type"]).toBe("application/x-www-form-urlencoded")
    expect(Object.fromEntries(new URLSearchParams(form?.body))).toEqual({ name: "shiftup", mode: "x y" })
    expect(JSON.parse(server.to("/json-put")[0]?.body ?? "")).toEqual({ enabled: false, list: [1, 2] })
  })

  test("process providers: string, list and pair arguments, exit status and stdout tolerances; the rollback process runs", async (context) => {
    const { expect } = context
    const scope = testScope(context)
    const marker = join(scope.tempDir("shiftup-ctk-marker-"), "marker")
    const { r, journal } = await run(context, "11-process.json", [], { CTK_MARKER: marker })
    expect(r.code, r.output).toBe(0)
    expect(journal.steps.filter((s) => s.phase === "before").map((s) => s.outcome)).toEqual(["held", "held", "held"])
    expect(existsSync(marker)).toBe(false)
    expect(readFileSync(`${marker}.rolled-back`, "utf8")).toBe("on\n")
  })

  test("configuration and secrets (inline and env) reach the service, never the journal or the ledger", async (context) => {
    const { expect } = context
    const { r, server, state } = await run(context, "12-secrets.json", [], { CTK_TOKEN: "tok-9f8e7d" })
    expect(r.code, r.output).toBe(0)
    expect(server.to("/echo-auth")[0]?.headers["authorization"]).toBe("Bearer tok-9f8e7d")
    expect(JSON.parse(server.to("/login")[0]?.body ?? "")).toEqual({ password: "inline-s3cret-pw", retries: 2 })
    expect(server.to("/logout")[0]?.headers["x-admin"]).toBe("inline-s3cret-pw")
    const written = [...ledgerFiles(state), join(state, "run.json")].map((f) => readFileSync(f, "utf8")).join("\n")
    expect(written).toContain("logout")
    expect(written).not.toContain("tok-9f8e7d")
    expect(written).not.toContain("inline-s3cret-pw")
  })

  test("pauses before and after an action are waits in the method", async (context) => {
    const { expect } = context
    const { r, server, journal } = await run(context, "13-pauses.json")
    expect(r.code, r.output).toBe(0)
    const method = journal.steps.filter((s) => s.phase === "method").map((s) => `${s.kind} ${s.id}`)
    expect(method).toEqual(["fault rollback fault-off", "wait wait 300ms", "fault fault-on", "wait wait 400ms", "probe health-after-the-pause"])
    expect(server.to("/fault/off")).toHaveLength(1)
  })

  test("a YAML experiment runs the same way", async (context) => {
    const { expect } = context
    const { r, server } = await run(context, "14-rollback.yaml")
    expect(r.code, r.output).toBe(0)
    expect(paths(server)).toEqual(["GET /health", "POST /fault/on", "POST /fault/off", "GET /health"])
  })

  test("an action answered with another status than expected aborts the run (exit 3) and the rollbacks still run", async (context) => {
    const { expect } = context
    const { r, server, journal } = await run(context, "19-expected-status.json")
    expect(r.code, r.output).toBe(3)
    expect(journal.abort?.detail).toContain("answered 500, expected 200")
    expect(paths(server)).toEqual(["POST /fault/on", "POST /status/500", "POST /fault/off"])
  })

  test("a rollback strategy of never is overridden: the rollbacks run in the file's order and the journal says why", async (context) => {
    const { expect } = context
    const { r, server, journal } = await run(context, "20-rollback-strategy.json")
    expect(r.code, r.output).toBe(0)
    expect(paths(server)).toEqual(["POST /fault/on", "POST /fault/off", "POST /second"])
    const doc = JSON.parse(JSON.stringify(journal)) as { experiment: { description: string }; rollbacks: ReadonlyArray<{ compensation: string }> }
    expect(doc.experiment.description).toContain('strategy "never" is overridden')
    expect(doc.rollbacks.filter((x) => x.compensation.includes("overridden"))).toHaveLength(2)
  })

  test("a method step can refer to a declared probe; its tolerance is checked while the fault is on", async (context) => {
    const { expect } = context
    const { r, server, journal } = await run(context, "21-ref.json")
    expect(r.code, r.output).toBe(1)
    expect(journal.steps.filter((s) => s.id.startsWith("health-is-200")).map((s) => `${s.phase} ${s.outcome}`)).toEqual(["before held", "method violated", "after held"])
    expect(server.to("/fault/off")).toHaveLength(1)
  })

  test("a rollback that answers 500 has failed: the next one still runs, exit 5, and the ledger keeps it pending for recover", async (context) => {
    const { expect } = context
    const { r, server, journal, state } = await run(context, "23-failing-rollback.json")
    expect(r.code, r.output).toBe(5)
    expect(paths(server)).toEqual(["POST /fault/on", "POST /status/500", "POST /fault/off"])
    expect(journal.rollbacks.map((x) => `${x.fault} ${x.outcome}`)).toEqual(["fault-on restored", "rollback broken-rollback failed", "rollback fault-off restored"])
    expect(pendingIntents(state).map((i) => JSON.stringify(i))).toEqual([expect.stringContaining("broken-rollback")])
  })

  test("timeouts: a process past its timeout is killed and the action fails (exit 3, rolled back); an HTTP probe past its timeout fails", async (context) => {
    const { expect } = context
    const t0 = performance.now()
    const slow = await run(context, "24-timeouts.json")
    expect(slow.r.code, slow.r.output).toBe(3)
    expect(slow.journal.abort?.detail).toContain("took longer than 0.3 s and was killed")
    expect(performance.now() - t0, "the sleep was not waited for").toBeLessThan(15_000)
    expect(slow.server.to("/fault/off")).toHaveLength(1)
    const http = await run(context, "25-http-timeout.json")
    expect(http.r.code, http.r.output).toBe(3)
    expect(http.journal.abort?.detail).toContain("no complete answer within 200 ms")
    expect(http.server.to("/fault/on")).toEqual([])
  })
})
