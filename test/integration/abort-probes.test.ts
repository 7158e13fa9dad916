/**
 * Every long-running probe stops sending once it is interrupted or its run is aborted (a
 * signal, `shiftup halt`): each one is started against a real loopback server that answers
 * slowly, interrupted after the server has seen a few of its requests, and the server must then
 * see nothing more (after a 200 ms grace for requests that were already on the wire).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Fiber } from "effect"
import { Compensation, Expect, Experiment, Fault, Probe, Step, Target, run, type Journal } from "shiftup"
import { RunContext } from "shiftup/advanced"
import * as Http from "shiftup/http"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { afterInterruption, startCountingServer, startSilentServer, type CountingServer, type SilentServer } from "../support/counting-server.ts"
import { observeOf } from "../../src/internal/capability.ts"

const servers: Array<CountingServer | SilentServer> = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const serve = async (options: Parameters<typeof startCountingServer>[0] = {}) => {
  const s = await startCountingServer(options)
  servers.push(s)
  return s
}

const silent = async () => {
  const s = await startSilentServer()
  servers.push(s)
  return s
}

/** Starts `effect`, interrupts it once the server has seen `k` requests, and reports what arrived after. */
const interruptAfter = async (server: CountingServer | SilentServer, k: number, effect: Effect.Effect<unknown, unknown>) => {
  const fiber = Effect.runFork(effect)
  await server.seen(k)
  return afterInterruption(server, () => Effect.runPromise(Fiber.interrupt(fiber)))
}

describe("a probe interrupted mid-way sends nothing more", () => {
  it("fuzz: fast-check's loop stops and the request in flight is aborted", async () => {
    // Slow answers: the request that made the third arrival is surely still in flight.
    const server = await serve({ answerAfterMs: 250 })
    const target = Http.target("app", { url: server.url, environment: "lab" })
    const after = await interruptAfter(server, 3, observeOf(Http.Fuzz.probe(target, { path: "/search?q={payload}", runs: 100, seed: 1 })))
    expect(after).toEqual({ inGrace: 0, late: 0 })
    expect(server.count()).toBe(3)
    expect(server.abandoned()).toBe(1)
  })

  it("burst: no further request starts, and the ones in flight are aborted", async () => {
    const server = await serve({ answerAfterMs: 30 })
    const target = Http.target("app", { url: server.url, environment: "lab" })
    const after = await interruptAfter(server, 6, Http.burst(target, 400, 4, () => ({ path: "/" })))
    expect(after.late).toBe(0)
    expect(after.inGrace).toBeLessThanOrEqual(4)
    expect(server.abandoned()).toBeGreaterThanOrEqual(1)
  })

  it("rate-limit probe: its burst stops", async () => {
    const server = await serve({ answerAfterMs: 30 })
    const target = Http.target("app", { url: server.url, environment: "lab" })
    const after = await interruptAfter(server, 6, observeOf(Http.RateLimit.probe(target, { path: "/login", burst: 400, limit: 10, concurrency: 4 })))
    expect(after.late).toBe(0)
    expect(after.inGrace).toBeLessThanOrEqual(4)
  })

  it("tls: a handshake the server leaves hanging is closed at once, not at its deadline", async () => {
    const server = await silent()
    const target = Http.target("tls", { url: `https://127.0.0.1:${server.port}`, environment: "lab" })
    const after = await interruptAfter(server, 1, observeOf(Http.Tls.probe(target, { timeoutMs: 10_000 })))
    expect(after).toEqual({ inGrace: 0, late: 0 })
    expect(server.open()).toBe(0)
  })

  it("ports: the scan stops (paced at 20 connections a second here)", async () => {
    const server = await silent()
    const host = Target.make("host", { environment: "lab" })
    const scan = observeOf(Http.Ports.probe(host, { host: "127.0.0.1", ports: Array.from({ length: 100 }, () => server.port), inventory: [] }))
    const paced = Effect.flatMap(RunContext, (run) => Effect.provideService(scan, RunContext, { ...run, throttle: () => Effect.sleep(50), reserve: () => 50 }))
    const after = await interruptAfter(server, 3, paced)
    expect(after).toEqual({ inGrace: 0, late: 0 })
    expect(server.open()).toBe(0)
  })
})

describe("a run aborted through its signal (as `shiftup halt` does) stops its probes", () => {
  const dir = mkdtempSync(join(tmpdir(), "shiftup-abort-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  /** An in-process fault on `target`, so the method has something to roll back. */
  const incident = (target: Http.SecurityTarget) =>
    Fault.make({ id: "incident", target, compensation: Compensation.ephemeral({ target: target.id, description: "end it" }), inject: () => undefined, release: () => undefined })

  /** Runs the experiment, aborts it once the server has seen `k` requests, and waits for its journal. */
  const abortAfter = async (server: CountingServer, k: number, experiment: (target: Http.SecurityTarget) => Experiment.Experiment) => {
    const target = Http.target("app", { url: server.url, environment: "lab" })
    const controller = new AbortController()
    const running = run(experiment(target), { stateDir: dir, journal: false, signal: controller.signal })
    await server.seen(k)
    let journal: Journal.Journal | undefined
    const after = await afterInterruption(server, async () => {
      controller.abort("test: abort")
      journal = await running
    })
    expect(journal).toMatchObject({ status: "aborted", exitCode: 3, abort: { cause: "signal" } })
    expect(journal?.rollbacks.map((r) => r.outcome)).toEqual(["restored"])
    return after
  }

  /** The fault, then `steps`. */
  const make = (id: string, target: Http.SecurityTarget, steps: ReadonlyArray<Step.Step>) => Experiment.make({ id, title: id, targets: { app: target }, method: [incident(target), ...steps] })

  it("Expect.during: its rounds of bursts stop", async () => {
    const server = await serve({ answerAfterMs: 30 })
    const after = await abortAfter(server, 6, (target) => make("abort.during", target, [Expect.during(Probe.status(target, "/"), 200, { samples: 1000, every: 10, burst: 3 })]))
    expect(after.late).toBe(0)
    expect(after.inGrace).toBeLessThanOrEqual(3)
  })

  it("Expect.detects: its polling stops", async () => {
    const server = await serve({ answerAfterMs: 10 })
    const after = await abortAfter(server, 4, (target) => make("abort.detects", target, [Expect.detects(Probe.status(target, "/alerts"), 299, { within: "30 seconds", every: 10 })]))
    expect(after).toEqual({ inGrace: 0, late: 0 })
  })

  it("Expect.eventually after rollback: its polling stops", async () => {
    const server = await serve({ answerAfterMs: 10 })
    const target = Http.target("app", { url: server.url, environment: "lab" })
    const experiment = () => Experiment.make({ id: "abort.eventually", title: "t", targets: { app: target }, method: [incident(target)], recovery: [Expect.eventually(Probe.status(target, "/health"), 299, { within: "30 seconds", every: 10 })] })
    const after = await abortAfter(server, 4, experiment)
    expect(after).toEqual({ inGrace: 0, late: 0 })
  })

  it("a stop condition: its guard stops polling", async () => {
    const server = await serve({ answerAfterMs: 5 })
    const target = Http.target("app", { url: server.url, environment: "lab" })
    const experiment = () =>
      Experiment.make({ id: "abort.guard", title: "t", targets: { app: target }, stopWhen: [Expect.guard(Probe.status(target, "/health"), 200, { every: "10 millis" })], method: [incident(target), Step.wait("30 seconds")] })
    const after = await abortAfter(server, 4, experiment)
    expect(after).toEqual({ inGrace: 0, late: 0 })
  })

  it("fuzz as a step of the method: fast-check stops with the run", async () => {
    const server = await serve({ answerAfterMs: 30 })
    const after = await abortAfter(server, 3, (target) => make("abort.fuzz", target, [Http.Fuzz.probe(target, { path: "/search?q={payload}", runs: 100, seed: 1 })]))
    expect(after).toEqual({ inGrace: 0, late: 0 })
  })

  it("rate-limit probe as a step of the method: its burst stops with the run", async () => {
    const server = await serve({ answerAfterMs: 30 })
    const after = await abortAfter(server, 6, (target) => make("abort.rate", target, [Http.RateLimit.probe(target, { path: "/login", burst: 400, limit: 10, concurrency: 4 })]))
    expect(after.late).toBe(0)
    expect(after.inGrace).toBeLessThanOrEqual(4)
  })
})
