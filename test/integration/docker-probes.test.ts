/**
 * Container probes against a real Docker engine: states across pause and stop, health flipping
 * with a real HEALTHCHECK, restart count and exit code after the process dies, log lines within a
 * deadline, and time-to-recover measured from the engine's events after a host-side SIGKILL —
 * checked against the events' own timestamps. Then a whole experiment through the runner.
 * Without an engine these tests fail (the global setup says how to opt out); they never skip.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Cause, Effect, Exit } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Compensation, Expect, Experiment, Fault, run, type Journal, type Probe } from "../../src/index.ts"
import { containers, container, type ContainerTarget } from "../../src/docker/targets.ts"
import * as Engine from "../../src/docker/engine.ts"
import { pause } from "../../src/docker/index.ts"
import * as Docker from "../../src/docker/index.ts"
import { pack } from "../../src/internal/tar.ts"
import { isShiftupError } from "../../src/ShiftupError.ts"
import { ensureImages } from "../../src/testing/docker/images.ts"
import { observeOf } from "../../src/internal/capability.ts"

const runLabel = `probes-${randomBytes(4).toString("hex")}`
const engine = Engine.make()
const created: Array<string> = []
const stateDirs: Array<string> = []
let image = ""

const call = <A>(e: Effect.Effect<A, Engine.EngineCallError>): Promise<A> => Effect.runPromise(Effect.mapError(e, (x) => new Error(`${x.op}: ${x.detail}`)))

let seq = 0
const start = async (spec: Omit<Engine.CreateSpec, "image" | "labels" | "name"> & { readonly labels?: Record<string, string> }) => {
  const name = `${runLabel}-${++seq}`
  const id = await call(engine.run({ ...spec, name, image, labels: { "shiftup.run": runLabel, ...spec.labels } }))
  created.push(id)
  return { id, name, target: container(name, { environment: "lab" }) }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const observe = <A>(probe: Probe.Probe<A>): Promise<A> => Effect.runPromise(observeOf<A>(probe).pipe(Effect.provideService(Engine.DockerEngine, engine)))
const failure = async <A>(probe: Probe.Probe<A>, eng: Engine.DockerEngine = engine) => {
  const exit = await Effect.runPromiseExit(observeOf<A>(probe).pipe(Effect.provideService(Engine.DockerEngine, eng)))
  if (Exit.isSuccess(exit)) throw new Error(`expected ${probe.id} to fail, it observed ${JSON.stringify(exit.value)}`)
  const e = Cause.squash(exit.cause)
  if (!isShiftupError(e)) throw e
  return e
}
/** Polls `probe` until `ok` holds; every distinct value seen, in order. */
const until = async <A>(probe: Probe.Probe<A>, ok: (a: A) => boolean, withinMs = 10_000) => {
  const seen: Array<A> = []
  const deadline = Date.now() + withinMs
  for (;;) {
    const v = await observe(probe)
    if (seen.length === 0 || JSON.stringify(seen[seen.length - 1]) !== JSON.stringify(v)) seen.push(v)
    if (ok(v)) return seen
    if (Date.now() > deadline) throw new Error(`${probe.id}: still ${JSON.stringify(v)} after ${withinMs} ms (seen ${JSON.stringify(seen)})`)
    await sleep(50)
  }
}
const hostPid = async (id: string) => (await call(engine.inspect(id))).state.pid
/** Writes an empty file into a container (the engine's archive API; no exec needed). */
const touch = (id: string, dir: string, file: string) => call(engine.putArchive(id, dir, pack([{ path: file, type: "file", content: Buffer.alloc(0) }])))

/** The engine's events of one container, as they arrive, with their arrival time. */
const listen = (id: string) => {
  const controller = new AbortController()
  const events: Array<Engine.DockerEvent & { readonly arrivedMs: number }> = []
  const done = (async () => {
    for await (const e of engine.events({ containers: [id] }, controller.signal)) if (!e.action.startsWith("exec_")) events.push({ ...e, arrivedMs: Date.now() })
  })()
  const next = async (action: string, afterNs = 0n, withinMs = 15_000) => {
    const deadline = Date.now() + withinMs
    for (;;) {
      const e = events.find((x) => x.action === action && x.timeNano > afterNs)
      if (e !== undefined) return e
      if (Date.now() > deadline) throw new Error(`no ${action} event of ${id.slice(0, 12)} within ${withinMs} ms: ${events.map((x) => x.action).join(", ")}`)
      await sleep(10)
    }
  }
  return { events, next, stop: () => (controller.abort(), done) }
}
const nsToMs = (from: bigint, to: bigint) => Number(to - from) / 1e6

beforeAll(async () => {
  const [busybox] = await Effect.runPromise(Effect.mapError(ensureImages(engine, { only: ["busybox"] }), (e) => new Error("op" in e ? `${e.op}: ${e.detail}` : e.message)))
  if (busybox === undefined) throw new Error("ensureImages built no busybox image")
  image = busybox
}, 120_000)

afterAll(async () => {
  await Promise.all(created.map((id) => call(engine.remove(id))))
  const left = await call(engine.list({ all: true, labels: [`shiftup.run=${runLabel}`] }))
  for (const d of stateDirs) rmSync(d, { recursive: true, force: true })
  engine.close()
  expect(left).toEqual([])
})

describe("state, running, exit code", () => {
  it("follows a container across pause, unpause and stop", async () => {
    const c = await start({ command: ["sleep", "3600"] })
    expect(await observe(Docker.state(c.target))).toBe("running")
    expect(await observe(Docker.running(c.target))).toBe(true)
    expect(await observe(Docker.states(c.target))).toEqual({ [c.name]: "running" })
    expect(Docker.state(c.target).id).toBe(`${c.name} state`)

    await call(engine.pause(c.id))
    expect(await observe(Docker.state(c.target))).toBe("paused")
    // Docker's State.Running stays true while paused; the probe says what a client sees.
    expect(await observe(Docker.running(c.target))).toBe(false)

    await call(engine.unpause(c.id))
    expect(await observe(Docker.state(c.target))).toBe("running")

    await call(engine.stop(c.id, 0))
    expect(await observe(Docker.state(c.target))).toBe("exited")
    expect(await observe(Docker.running(c.target))).toBe(false)
    expect(await observe(Docker.exitCode(c.target))).toBe(137)
    expect(await observe(Docker.exitCodes(c.target))).toEqual({ [c.name]: 137 })
  })

  it("summarises several members: the least available state, the first failing exit code", async () => {
    const group = `pair-${runLabel}`
    const a = await start({ command: ["sleep", "3600"], labels: { "probes.group": group } })
    const b = await start({ command: ["sh", "-c", "exit 3"], labels: { "probes.group": group } })
    const pair: ContainerTarget = containers("pair", { select: { labels: { "probes.group": group } }, environment: "lab" })
    await until(Docker.state(pair), (s) => s === "exited")
    expect(await observe(Docker.states(pair))).toEqual({ [a.name]: "running", [b.name]: "exited" })
    expect(await observe(Docker.exitCode(pair))).toBe(3)
    expect(await observe(Docker.exitCodes(pair))).toEqual({ [a.name]: 0, [b.name]: 3 })
    expect(await observe(Docker.running(pair))).toBe(false)
    await call(engine.pause(a.id))
    expect(await observe(Docker.states(pair))).toEqual({ [a.name]: "paused", [b.name]: "exited" })
    await call(engine.unpause(a.id))
  })

  it("a container that is not there fails the probe with ProbeFailed; an unreachable engine with EngineUnavailable", async () => {
    const ghost = container(`${runLabel}-ghost`, { environment: "lab" })
    const e = await failure(Docker.state(ghost))
    expect(e._tag).toBe("ProbeFailed")
    expect(e.message).toContain(`no container matches the selector of "${runLabel}-ghost"`)

    const dir = mkdtempSync(join(tmpdir(), "shiftup-probes-"))
    stateDirs.push(dir)
    const nowhere = Engine.make({ socketPath: join(dir, "no.sock"), timeoutMs: 1000 })
    const c = await start({ command: ["sleep", "3600"] })
    const probes: ReadonlyArray<Probe.Probe<unknown>> = [Docker.state(c.target), Docker.logLine(c.target, "x"), Docker.timeToRecover(c.target, { within: "1 second" })]
    for (const probe of probes) {
      const down = await failure(probe, nowhere)
      expect(down._tag, probe.id).toBe("EngineUnavailable")
      expect(down.message).toContain(join(dir, "no.sock"))
    }
    nowhere.close()
  })
})

describe("health", () => {
  it("flips with a real HEALTHCHECK: starting → healthy → unhealthy, and none without one", async () => {
    // Healthy while /tmp/ok exists; writing /tmp/down makes the container delete it.
    const c = await start({
      command: ["sh", "-c", "while :; do if [ -f /tmp/down ]; then rm -f /tmp/ok /tmp/down; fi; sleep 0.1; done"],
      healthcheck: { test: ["CMD-SHELL", "test -f /tmp/ok"], intervalMs: 300, retries: 1 },
    })
    expect(["starting", "unhealthy"]).toContain(await observe(Docker.health(c.target)))
    await until(Docker.health(c.target), (h) => h === "unhealthy")
    await touch(c.id, "/tmp", "ok")
    await until(Docker.health(c.target), (h) => h === "healthy")
    expect(await observe(Docker.healths(c.target))).toEqual({ [c.name]: "healthy" })
    await touch(c.id, "/tmp", "down")
    await until(Docker.health(c.target), (h) => h === "unhealthy")

    const plain = await start({ command: ["sleep", "3600"] })
    expect(await observe(Docker.health(plain.target))).toBe("none")
  })
})

describe("restart count and exit code after the process dies", () => {
  it("a SIGKILL of the host pid: the restart policy restarts it; the count goes up", async () => {
    const c = await start({ command: ["sleep", "3600"], restartPolicy: "always" })
    expect(await observe(Docker.restartCount(c.target))).toBe(0)
    const events = listen(c.id)
    process.kill(await hostPid(c.id), "SIGKILL")
    const died = await events.next("die")
    expect(died.attributes["exitCode"]).toBe("137")
    await until(Docker.restartCount(c.target), (n) => n === 1)
    // Counted when the engine decides to restart it ("restarting"), running right after.
    await until(Docker.state(c.target), (s) => s === "running")
    // The engine resets the exit code when it starts the container again.
    expect(await observe(Docker.exitCode(c.target))).toBe(0)
    expect(await observe(Docker.restartCounts(c.target))).toEqual({ [c.name]: 1 })
    await events.stop()
  })

  it("without a restart policy it stays down with the signal's exit code", async () => {
    const c = await start({ command: ["sleep", "3600"] })
    process.kill(await hostPid(c.id), "SIGKILL")
    await until(Docker.state(c.target), (s) => s === "exited")
    expect(await observe(Docker.exitCode(c.target))).toBe(137)
    expect(await observe(Docker.restartCount(c.target))).toBe(0)
  })
})

describe("logLine", () => {
  it("finds a line logged after 1.2 s within its deadline, and reports undefined otherwise", async () => {
    const c = await start({ command: ["sh", "-c", "echo booting; sleep 1.2; echo 'ready token=abc123'; exec sleep 3600"] })
    const t0 = Date.now()
    expect(await observe(Docker.logLine(c.target, /ready token=\w+/))).toBeUndefined()
    expect(await observe(Docker.logLine(c.target, "booting"))).toBe("booting")

    const probe = Docker.logLine(c.target, /ready token=\w+/, { within: "8 seconds" })
    expect(probe.id).toBe(`${c.name} log line matching /ready token=\\w+/`)
    expect(await observe(probe)).toBe("ready token=abc123")
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900)

    const t1 = Date.now()
    expect(await observe(Docker.logLine(c.target, "never printed", { within: "600 millis" }))).toBeUndefined()
    expect(Date.now() - t1).toBeGreaterThanOrEqual(500)
    expect(Date.now() - t1).toBeLessThan(3000)

    // Only lines since a moment count.
    expect(await observe(Docker.logLine(c.target, "booting", { since: new Date() }))).toBeUndefined()
  })
})

describe("timeToRecover", () => {
  it("measures a SIGKILLed container's restart from the engine's events", async () => {
    const c = await start({ command: ["sleep", "3600"], restartPolicy: "always" })
    const events = listen(c.id)
    await sleep(100)
    // Started before the crash, as a probe running alongside a fault would be.
    const measuring = observe(Docker.recovery(c.target, { within: "20 seconds", since: "probe" }))
    await sleep(100)
    const killedAt = Date.now()
    process.kill(await hostPid(c.id), "SIGKILL")
    const r = await measuring
    const died = await events.next("die")
    const started = await events.next("start", died.timeNano)
    const expected = nsToMs(died.timeNano, started.timeNano)
    expect(r.down).toMatchObject({ container: c.name, action: "die", timeNano: String(died.timeNano) })
    expect(r.up).toMatchObject({ container: c.name, action: "start", timeNano: String(started.timeNano) })
    expect(r.ms).toBeGreaterThan(0)
    expect(r.ms).toBeLessThan(20_000)
    expect(Math.abs(r.ms - expected)).toBeLessThan(1)
    expect(r.members).toEqual({ [c.name]: r.ms })
    console.log(
      `[docker-probes] SIGKILL → die stamped after ${Number(died.timeNano / 1_000_000n) - killedAt} ms, die event arrived ${died.arrivedMs - Number(died.timeNano / 1_000_000n)} ms after its stamp; time to recover (die → start) ${r.ms} ms`,
    )

    // After the fact, from a moment before the crash: the engine replays the events, same value.
    const again = await observe(Docker.timeToRecover(c.target, { within: "20 seconds", since: new Date(killedAt - 50) }))
    expect(again).toBe(r.ms)
    await events.stop()
  })

  it("with healthy: until the health check passes after the restart", async () => {
    const c = await start({ command: ["sh", "-c", "touch /tmp/ok; exec sleep 3600"], restartPolicy: "always", healthcheck: { test: ["CMD-SHELL", "test -f /tmp/ok"], intervalMs: 300, retries: 1 } })
    await until(Docker.health(c.target), (h) => h === "healthy")
    const events = listen(c.id)
    const since = new Date()
    process.kill(await hostPid(c.id), "SIGKILL")
    const ms = await observe(Docker.timeToRecover(c.target, { within: "20 seconds", healthy: true, since }))
    const died = await events.next("die")
    const started = await events.next("start", died.timeNano)
    const healthy = await events.next("health_status: healthy", started.timeNano)
    expect(Math.abs(ms - nsToMs(died.timeNano, healthy.timeNano))).toBeLessThan(1)
    expect(ms).toBeGreaterThan(nsToMs(died.timeNano, started.timeNano))
    console.log(`[docker-probes] time to recover healthy (die → health_status: healthy) ${ms} ms; to start ${nsToMs(died.timeNano, started.timeNano)} ms`)
    await events.stop()

    const plain = await start({ command: ["sleep", "3600"] })
    const e = await failure(Docker.timeToRecover(plain.target, { within: "1 second", healthy: true }))
    expect(e.message).toContain("has no HEALTHCHECK")
  })

  it("fails with the measured time when the container does not come back", async () => {
    const c = await start({ command: ["sleep", "3600"] })
    const since = new Date()
    process.kill(await hostPid(c.id), "SIGKILL")
    const t0 = Date.now()
    const e = await failure(Docker.timeToRecover(c.target, { within: "1500 millis", since }))
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000)
    expect(Date.now() - t0).toBeLessThan(5000)
    // Not recovering is a finding (the runner records the check as violated), not a probe error.
    expect(e._tag).toBe("RecoveryNotObserved")
    expect(e.message).toMatch(new RegExp(`^"${c.name} time to recover" did not hold within 1500 ms; last observation: did not recover within 1500 ms: went down at \\S+Z \\(${c.name}: die\\); after \\d+ ms ${c.name} is down \\(die, exit code 137\\)$`))

    const quiet = await start({ command: ["sleep", "3600"] })
    const none = await failure(Docker.timeToRecover(quiet.target, { within: "500 millis", since: "probe" }))
    expect(none.message).toContain(`no disruption (die, kill, stop, pause) of ${quiet.name} since`)
  })
})

describe("through the runner", () => {
  const journalOf = async (x: Experiment.Experiment) => {
    const dir = mkdtempSync(join(tmpdir(), "shiftup-probes-"))
    stateDirs.push(dir)
    return run(x, { stateDir: dir })
  }
  const step = (j: Journal.Journal, id: string) => {
    const s = j.steps.find((x) => x.id === id)
    if (s === undefined) throw new Error(`no step ${id}: ${j.steps.map((x) => x.id).join(", ")}`)
    return s
  }

  it("pause: the probes see it paused during the method and measure pause → unpause at recovery", async () => {
    const c = await start({ command: ["sleep", "3600"] })
    const t = c.target
    const events = listen(c.id)
    const j = await journalOf(
      Experiment.make({
        id: "docker.probes.pause",
        title: "probes follow a paused container",
        targets: { t },
        hypothesis: [Expect.that(Docker.state(t), "running")],
        method: [pause(t), Expect.that(Docker.state(t), "paused"), Expect.that(Docker.running(t), false), Expect.that(Docker.restartCount(t), 0)],
        recovery: [Expect.that(Docker.timeToRecover(t, { within: "20 seconds" }), Expect.range(0, 10_000)), Expect.that(Docker.state(t), "running")],
      }),
    )
    expect(j.status, j.summary).toBe("passed")
    const values = j.steps.map((s) => [s.phase, s.id, s.outcome, s.observed])
    expect(values).toEqual([
      ["before", `${c.name} state equals "running"`, "held", "running"],
      ["method", `pause ${c.name}`, "ok", undefined],
      ["method", `${c.name} state equals "paused"`, "held", "paused"],
      ["method", `${c.name} running equals false`, "held", false],
      ["method", `${c.name} restart count equals 0`, "held", 0],
      ["recovery", `${c.name} time to recover in [0, 10000]`, "held", expect.any(Number)],
      ["recovery", `${c.name} state equals "running"`, "held", "running"],
      ["after", `${c.name} state equals "running"`, "held", "running"],
    ])
    const ttr = step(j, `${c.name} time to recover in [0, 10000]`)
    const paused = await events.next("pause")
    const unpaused = await events.next("unpause", paused.timeNano)
    expect(Math.abs((ttr.observed as number) - nsToMs(paused.timeNano, unpaused.timeNano))).toBeLessThan(1)
    // The pause lasted from the fault's step to the rollback.
    const rolledBack = j.rollbacks[0]
    expect(rolledBack?.outcome).toBe("restored")
    expect(ttr.observed as number).toBeLessThanOrEqual(Date.parse(rolledBack?.endedAt ?? "") - Date.parse(step(j, `pause ${c.name}`).startedAt) + 5)
    await events.stop()
  })

  it("a crash fault then timeToRecover in the method (the JSDoc example), and a log line detected", async () => {
    const c = await start({ command: ["sh", "-c", "echo booted; exec sleep 3600"], restartPolicy: "always", healthcheck: { test: ["CMD-SHELL", "true"], intervalMs: 300, retries: 1 } })
    await until(Docker.health(c.target), (h) => h === "healthy")
    // The run's start (to the second) must be after the first boot line.
    await sleep(1100)
    const t = c.target
    const crash = (target: ContainerTarget) =>
      Fault.make({
        id: `crash ${target.id}`,
        target,
        compensation: Compensation.ephemeral({ target: target.id, description: "nothing to undo: the restart policy brings it back" }),
        inject: async () => {
          process.kill(await hostPid(c.id), "SIGKILL")
        },
        release: () => undefined,
      })
    const events = listen(c.id)
    const j = await journalOf(
      Experiment.make({
        id: "docker.probes.crash",
        title: "auth comes back after a crash",
        targets: { t },
        hypothesis: [Expect.that(Docker.health(t), "healthy")],
        method: [
          crash(t),
          Expect.that(Docker.timeToRecover(t, { within: "20 seconds", healthy: true }), Expect.range(0, 10_000)),
          Expect.detects(Docker.logLine(t, "booted"), Docker.found, { within: "10 seconds" }),
          Expect.that(Docker.restartCount(t), 1),
        ],
      }),
    )
    expect(j.status, j.summary).toBe("passed")
    const died = await events.next("die")
    const healthy = await events.next("health_status: healthy", died.timeNano)
    const ttr = step(j, `${c.name} time to recover (healthy) in [0, 10000]`)
    expect(ttr.outcome).toBe("held")
    expect(Math.abs((ttr.observed as number) - nsToMs(died.timeNano, healthy.timeNano))).toBeLessThan(1)
    const detected = j.steps.find((s) => s.id.startsWith(`${c.name} log line matching "booted" detected`))
    expect(detected?.outcome).toBe("held")
    expect(detected?.observed).toBe("booted")
    expect(detected?.metric?.name).toBe("time-to-detect")
    expect(step(j, `${c.name} restart count equals 1`).observed).toBe(1)
    await events.stop()
  })
})

describe("time to recover inside a run", () => {
  it("a container that does not come back is a finding (exit 1), and the kill is still rolled back", async () => {
    const c = await start({ command: ["sleep", "3600"] })
    const dir = mkdtempSync(join(tmpdir(), "shiftup-probes-"))
    stateDirs.push(dir)
    const { kill } = await import("../../src/docker/index.ts")
    const j = await run(
      Experiment.make({
        id: "probes.recovers-after-kill",
        title: "recovers after a kill",
        targets: { c: c.target },
        method: [kill(c.target), Expect.that(Docker.timeToRecover(c.target, { within: "1 second" }), Expect.range(0, 1000))],
      }),
      { stateDir: dir },
    )
    expect(j.status, j.summary).toBe("failed")
    expect(j.exitCode).toBe(1)
    const step = j.steps.find((s) => s.id.includes("time to recover"))
    expect(step?.outcome).toBe("violated")
    expect(String(step?.observed)).toMatch(/did not recover within 1000 ms: went down at/)
    expect(j.findings).toHaveLength(1)
    // The compensation started it again.
    expect(j.rollbacks.map((r) => r.outcome)).toEqual(["restored"])
    expect((await Effect.runPromise(engine.inspect(c.id))).state.status).toBe("running")
  })
})
