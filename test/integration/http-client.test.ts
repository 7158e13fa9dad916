/**
 * The client of `shiftup/http` through the real runner and real servers: correlation headers,
 * the egress allowlist enforced in the connector after DNS resolution (the listener must see no
 * connection), precise deadlines, secrets kept out of the journal file, and a violated rule
 * becoming a journal finding with its CWE.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Cause, Effect, Exit } from "effect"
import { Experiment, Expect, Probe, Runner, run } from "shiftup"
import { RunContext } from "shiftup/advanced"
import * as Http from "shiftup/http"
import { consoleReporter, html, junit, markdown, sarif } from "shiftup/report"
import { getEventListeners } from "node:events"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { correlationHeaders, makeStore, unpaced } from "../../src/RunContext.ts"
import { makeEgress } from "../../src/internal/egress.ts"
import { observeOf } from "../../src/internal/capability.ts"
import { password as sessionPassword, startSessionApi, user as sessionUser } from "../fixtures/http/session-api.ts"
import { startRedis } from "../support/servers.ts"

interface Seen {
  connections: number
  requests: Array<http.IncomingHttpHeaders & { path: string }>
}

let server: http.Server
let port = 0
const seen: Seen = { connections: 0, requests: [] }
const hung: Array<http.IncomingMessage> = []
const inFlight = { now: 0, max: 0 }
const dirs: Array<string> = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "shiftup-http-client-"))
  dirs.push(d)
  return d
}

const token = "tok-3f9a1c77e2b54d0a9c1e-SECRET"

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.requests.push({ ...req.headers, path: req.url ?? "" })
    if (req.url === "/slow") return void setTimeout(() => res.end("late"), 2000).unref()
    if (req.url === "/big") return void res.end("x".repeat(200_000))
    if (req.url?.startsWith("/n/") === true) {
      // Answers its number after 10 ms; counts how many are in flight at once.
      inFlight.now++
      inFlight.max = Math.max(inFlight.max, inFlight.now)
      return void setTimeout(() => {
        inFlight.now--
        res.end(req.url?.slice(3))
      }, 10)
    }
    if (req.url === "/hang") {
      hung.push(req)
      return
    }
    // Echoes the credential and the body back, as a careless server might: they must not reach the journal.
    let body = ""
    req.on("data", (c: Buffer) => (body += c.toString("utf8")))
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/plain", "x-echo": String(req.headers.authorization ?? "") })
      res.end(`hello ${String(req.headers.authorization ?? "")} ${Buffer.from(String(req.headers.authorization ?? "")).toString("base64")} ${body}`)
    })
  })
  server.on("connection", () => seen.connections++)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  port = (server.address() as AddressInfo).port
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const api = () => Http.target("api", { url: `http://127.0.0.1:${port}`, environment: "lab" })

describe("egress allowlist in the connector", () => {
  it("a name resolving outside the allowlist is refused before any connection", async () => {
    // An allowlist without 127.0.0.1: `localhost` resolves to 127.0.0.1 (and ::1), both outside it.
    const ctx: RunContext = { runId: "20261127T000000-abcdef", headers: correlationHeaders("20261127T000000-abcdef"), egress: makeEgress(["10.99.0.0/16"]), ...unpaced, store: makeStore() }
    const before = seen.connections
    const target = Http.target("named", { url: `http://localhost:${port}`, environment: "lab" })
    const exit = await Effect.runPromise(Effect.exit(Http.request(target, { path: "/" }).pipe(Effect.provideService(RunContext, ctx))))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(JSON.stringify(exit)).toContain("EgressDenied")
    // The TLS probe and the port scan check egress the same way.
    const tlsExit = await Effect.runPromise(Effect.exit(observeOf(Http.Tls.probe(target)).pipe(Effect.provideService(RunContext, ctx))))
    const portsExit = await Effect.runPromise(Effect.exit(observeOf(Http.Ports.probe(target, { host: "localhost", ports: [port], inventory: [] })).pipe(Effect.provideService(RunContext, ctx))))
    expect([Exit.isFailure(tlsExit), Exit.isFailure(portsExit)]).toEqual([true, true])
    await new Promise((r) => setTimeout(r, 50))
    expect(seen.connections).toBe(before)
  })
  it("the same name inside the allowlist connects to the address that was checked", async () => {
    const before = seen.connections
    const r = await Effect.runPromise(Http.request(Http.target("named", { url: `http://localhost:${port}`, environment: "lab" }), { path: "/named" }))
    expect(r.status).toBe(200)
    expect(seen.connections).toBeGreaterThan(before)
    expect(seen.requests.at(-1)?.host).toBe(`localhost:${port}`)
  })
})

describe("deadlines", () => {
  it("an answer later than the deadline fails the probe at the deadline, not at undici's 1 s resolution", async () => {
    const t0 = performance.now()
    const exit = await Effect.runPromise(Effect.exit(Http.request(api(), { path: "/slow", timeoutMs: 150 })))
    const ms = performance.now() - t0
    expect(Exit.isFailure(exit)).toBe(true)
    expect(JSON.stringify(exit)).toContain("no complete answer within 150 ms")
    expect(ms).toBeGreaterThanOrEqual(140)
    expect(ms).toBeLessThan(600)
  })

  it("an interrupted request is aborted at once: the server sees its connection closed", async () => {
    const closed = new Promise<number>((resolve) => {
      const t0 = performance.now()
      const wait = () => (hung.length > 0 ? hung[hung.length - 1]?.socket.once("close", () => resolve(performance.now() - t0)) : setTimeout(wait, 5))
      wait()
    })
    const r = await Effect.runPromise(Http.request(api(), { path: "/hang", timeoutMs: 5000 }).pipe(Effect.timeoutOption(100)))
    expect(r._tag).toBe("None")
    expect(await closed).toBeLessThan(1000)
  })
})

describe("a caller's AbortSignal", () => {
  it("aborts the exchange when it fires, with its reason", async () => {
    const t0 = performance.now()
    const exit = await Effect.runPromise(Effect.exit(Http.request(api(), { path: "/slow", timeoutMs: 5000, signal: AbortSignal.timeout(120) })))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(JSON.stringify(exit)).toMatch(/TimeoutError|timeout|aborted/i)
    expect(performance.now() - t0).toBeLessThan(1000)
  })
})

/** Resolves once every socket of the hung requests from index `from` on has closed; with the ms it took. */
const hungClosed = (from: number, count: number) =>
  new Promise<number>((resolve) => {
    const t0 = performance.now()
    const wait = () => {
      if (hung.length < from + count) return void setTimeout(wait, 5)
      const sockets = hung.slice(from, from + count).map((r) => r.socket)
      void Promise.all(sockets.map((s) => (s.destroyed ? undefined : new Promise((r) => s.once("close", r))))).then(() => resolve(performance.now() - t0))
    }
    wait()
  })

describe("bursts", () => {
  it("answers in the order asked, never more than `concurrency` in flight, each with the run's headers", async () => {
    inFlight.max = 0
    const before = seen.requests.length
    const answers = await Effect.runPromise(Http.burst(api(), 40, 4, (i) => ({ path: `/n/${i}` })))
    expect(answers.map((a) => a.body)).toEqual(Array.from({ length: 40 }, (_, i) => String(i)))
    expect(inFlight.max).toBe(4)
    const sent = seen.requests.slice(before)
    expect(sent.length).toBe(40)
    expect(sent.every((r) => r["x-shiftup-run-id"] === "no-run")).toBe(true)
  })

  it("the first failed request fails the burst and aborts the ones in flight", async () => {
    const from = hung.length
    const t0 = performance.now()
    const closed = hungClosed(from, 3)
    const exit = await Effect.runPromise(Effect.exit(Http.burst(api(), 4, 4, (i) => (i < 3 ? { path: "/hang", timeoutMs: 5000 } : { path: "/slow", timeoutMs: 100 }))))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(JSON.stringify(exit)).toContain("no complete answer within 100 ms")
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(await closed).toBeLessThan(1000)
  })

  it("interrupted, it aborts every request in flight and starts no more", async () => {
    const from = hung.length
    const before = seen.requests.length
    const closed = hungClosed(from, 3)
    const r = await Effect.runPromise(Http.burst(api(), 10, 3, () => ({ path: "/hang", timeoutMs: 5000 })).pipe(Effect.timeoutOption(100)))
    expect(r._tag).toBe("None")
    expect(await closed).toBeLessThan(1000)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(seen.requests.length - before).toBe(3)
  })

  it("a signal that has already fired fails the burst at once and sends nothing", async () => {
    const before = seen.requests.length
    const exit = await Effect.runPromise(Effect.exit(Http.burst(api(), 3, 2, (i) => ({ path: `/n/${i}`, signal: AbortSignal.abort(new Error("stopped before it began")) }))))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(JSON.stringify(exit)).toContain("stopped before it began")
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(seen.requests.length).toBe(before)
  })

  it("a request that cannot be built ends the burst as a defect (no hang), aborting the ones in flight", async () => {
    const from = hung.length
    const closed = hungClosed(from, 1)
    const t0 = performance.now()
    // #0 answers in 10 ms; #1 hangs; #2, built when #0 is answered, is no URL.
    const paths = ["/n/0", "/hang", "http://[not-a-url"]
    const exit = await Effect.runPromise(Effect.exit(Http.burst(api(), 3, 2, (i) => ({ path: paths[i] as string, timeoutMs: 5000 }))))
    expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(await closed).toBeLessThan(1000)
  })

  it("refuses a count that is not a whole number, or no concurrency", async () => {
    for (const [n, c] of [
      [2.5, 2],
      [Number.NaN, 2],
      [-1, 2],
      [3, 0],
    ] as const) {
      const exit = await Effect.runPromise(Effect.exit(Http.burst(api(), n, c, () => ({ path: "/" }))))
      expect(JSON.stringify(exit)).toContain("a burst needs a whole number of requests")
    }
  })

  it("a caller's signal shared by many requests keeps no listener once they are answered", async () => {
    const controller = new AbortController()
    await Effect.runPromise(Http.burst(api(), 30, 5, (i) => ({ path: `/n/${i}`, signal: controller.signal })))
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0)
  })
})

describe("bodies", () => {
  it("keeps at most maxBody bytes (64 KiB by default) of a larger body", async () => {
    const r = await Effect.runPromise(Http.request(api(), { path: "/big" }))
    expect(r.body.length).toBe(64 * 1024)
    const small = await Effect.runPromise(Http.request(api(), { path: "/big", maxBody: 10 }))
    expect(small.body).toBe("x".repeat(10))
  })
})

describe("through the runner", () => {
  it("every request carries the run id; a token given to a probe never reaches the journal file; a failed rule is a finding with its CWE", async () => {
    const dir = tempDir()
    const journalPath = join(dir, "journal.json")
    const target = api()
    const secret = Http.secret(token)
    const echo = Probe.make({
      id: "echo with credentials",
      target,
      observe: Http.request(target, { path: "/echo", headers: { authorization: Http.secret(`Bearer ${secret.reveal()}`) } }),
    })
    // A password inside a form body the probe built: declared in `secrets`, redacted from the echo.
    const password = Http.secret("correct-horse-battery-staple")
    const login = Probe.make({
      id: "login form",
      target,
      observe: Http.request(target, { method: "POST", path: "/login", body: `user=alice&password=${password.reveal()}`, secrets: [password] }),
    })
    const experiment = Experiment.make({
      id: "test.http.client",
      title: "client invariants",
      targets: { api: target },
      method: [
        echo,
        login,
        Expect.that(Probe.map(echo, (r) => r.body), Expect.regex(/never matches/)),
        ...Http.Findings.expectNoneOf(Http.Auth.probe(target, { path: "/admin", token: secret }), ["auth.anonymous-allowed"]),
      ],
    })
    let live = ""
    const reporter = consoleReporter({ write: (t) => void (live += t), tty: false, color: false })
    const journal = await Effect.runPromise(Runner.run(experiment, { stateDir: dir, journal: journalPath, runId: "20261127T000001-c0ffee", onEvent: reporter.onEvent }))
    reporter.stop()
    expect(journal.status).toBe("failed")
    const text = readFileSync(journalPath, "utf8")
    // Neither the journal file nor any report shows the token.
    for (const report of [live, html([journal]), junit([journal]), markdown([journal]), JSON.stringify(sarif([journal]))]) {
      expect(report.length).toBeGreaterThan(0)
      expect(report).not.toContain(token)
    }
    expect(live).toContain("auth.anonymous-allowed")
    expect(text).not.toContain(token)
    expect(text).not.toContain("correct-horse-battery-staple")
    expect(text).not.toContain(Buffer.from(`Bearer ${token}`).toString("base64"))
    expect(text).toContain("[redacted]")
    const anonymous = journal.findings.find((f) => f.id.endsWith("auth.anonymous-allowed"))
    expect(anonymous).toMatchObject({ severity: "critical", cwe: "CWE-306" })
    const mine = seen.requests.filter((r) => r["x-shiftup-run-id"] === "20261127T000001-c0ffee")
    expect(mine.length).toBeGreaterThanOrEqual(5)
    expect(mine.every((r) => r["user-agent"] === "shiftup/0.1.0 (run 20261127T000001-c0ffee)")).toBe(true)
    // The probe's own user agent cannot override the correlation headers.
    expect(seen.requests.some((r) => r["x-shiftup-run-id"] === "20261127T000001-c0ffee" && r.authorization === `Bearer ${token}`)).toBe(true)
  })
  it("a burst is paced by the budget's probe rate", async () => {
    const target = api()
    const probe = Http.RateLimit.probe(target, { path: "/", burst: 21, limit: 20, concurrency: 21 })
    const experiment = Experiment.make({ id: "test.http.rate", title: "paced", targets: { api: target }, budget: { maxProbeRate: 100 }, method: [probe] })
    const journal = await Effect.runPromise(Runner.run(experiment, { stateDir: tempDir(), journal: false }))
    const step = journal.steps.find((s) => s.kind === "probe")
    // 21 requests at 100/s: the first at once, the next 20 spaced by 10 ms.
    expect(step?.durationMs).toBeGreaterThanOrEqual(190)
    expect(step?.durationMs).toBeLessThan(1000)
  })
})

/**
 * The Promise helper of `Probe.make`: a probe written as an async function gets a ProbeContext
 * whose `request` goes through the run's client. Against the session API fixture (a real Redis
 * behind it): a JSON login, then /admin with the session cookie; the password the login echoes is
 * redacted; and aborting the run aborts the request in flight through `ctx.signal`.
 */
describe("Probe.make with a ProbeContext (the Promise helper)", () => {
  const started: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const stop of started.splice(0).reverse()) await stop()
  })
  const sessionApi = async () => {
    const redis = await startRedis()
    started.push(redis.stop)
    const app = await startSessionApi({ redisPort: redis.port })
    started.push(app.close)
    return { app, target: Http.target("session-api", { url: app.url, environment: "lab" }) }
  }

  it("logs in with a JSON body, calls /admin with the session cookie; the echoed password is redacted, the run's headers are sent", async () => {
    const { target } = await sessionApi()
    const secret = Http.secret(sessionPassword)
    const seenByProbe: Array<Http.Exchange> = []
    const admin = Probe.make({
      id: "log in, then /admin",
      target,
      observe: async (ctx) => {
        const login = await ctx.request(target, { method: "POST", path: "/login", ...Http.json({ user: sessionUser, password: secret }) })
        seenByProbe.push(login)
        const cookie = Http.Auth.readToken({ cookie: "sid" }, login)
        if (cookie === undefined) throw new Error(`no session cookie in ${login.status} ${login.body}`)
        const page = await ctx.request(target, { path: "/admin", headers: { cookie: Http.secret(`sid=${cookie}`) } })
        seenByProbe.push(page)
        return { login: login.status, admin: page.status, body: page.body, echoed: login.body }
      },
    })
    const journal = await run(Experiment.make({ id: "test.http.probe-context", title: "a multi-request probe", targets: { api: target }, method: [admin] }), { stateDir: tempDir(), journal: false })
    expect(journal.status, journal.summary).toBe("passed")
    const observed = journal.steps.find((s) => s.id === "log in, then /admin")?.observed as { login: number; admin: number; body: string; echoed: string }
    expect(observed).toMatchObject({ login: 200, admin: 200, body: '{"page":"admin console"}' })
    // The fixture echoes what was posted; the password is gone from what the probe saw and from the journal.
    expect(observed.echoed).toContain("[redacted]")
    expect(JSON.stringify(seenByProbe)).not.toContain(sessionPassword)
    expect(JSON.stringify(journal)).not.toContain(sessionPassword)
  })

  it("a request with a wrong password answers 401 and still never shows the password", async () => {
    const { target } = await sessionApi()
    const wrong = Http.secret("not-the-password-9f3b")
    const probe = Probe.make({ id: "bad login", target, observe: async (ctx) => (await ctx.request(target, { method: "POST", path: "/login", ...Http.json({ user: sessionUser, password: wrong }) })).body })
    const journal = await run(Experiment.make({ id: "test.http.probe-context.401", title: "t", targets: { api: target }, method: [probe] }), { stateDir: tempDir(), journal: false })
    expect(journal.steps[0]?.observed).toContain("bad credentials")
    expect(JSON.stringify(journal)).not.toContain("not-the-password-9f3b")
  })

  it("aborting the run aborts the probe's request in flight through ctx.signal, and the probe sees its signal fired", async () => {
    const { app, target } = await sessionApi()
    let signalled: boolean | undefined
    const slow = Probe.make({
      id: "waits on /slow",
      target,
      observe: async (ctx) => {
        try {
          return (await ctx.request(target, { path: "/slow", timeoutMs: 30_000 })).status
        } finally {
          signalled = ctx.signal.aborted
        }
      },
    })
    const controller = new AbortController()
    const t0 = performance.now()
    const running = run(Experiment.make({ id: "test.http.probe-context.abort", title: "t", targets: { api: target }, method: [slow] }), { stateDir: tempDir(), journal: false, signal: controller.signal })
    await app.slowSeen(1)
    controller.abort("test: abort")
    const journal = await running
    expect(journal).toMatchObject({ status: "aborted", abort: { cause: "signal" } })
    await expect.poll(() => app.abandoned()).toBe(1)
    expect(signalled).toBe(true)
    expect(performance.now() - t0).toBeLessThan(5000)
  })
})
