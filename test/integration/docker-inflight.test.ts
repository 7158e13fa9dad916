/**
 * Recovery converges with engine calls still in flight. A container whose process ignores
 * SIGTERM (busybox `sleep` as pid 1) makes `docker stop` take its whole grace period; the runner
 * is SIGKILLed while it waits on that call, and the `--watchdog` recovers at once. The engine
 * still finishes the stop afterwards: recovery must let it land, then start the container, and
 * the container must be running once the stop is over. The compensator's own check (`verify`)
 * sees the stop in flight, and a local apply-then-verify loop converges on "running".
 */
import { existsSync, readFileSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { specOf, type Compensation } from "../../src/Compensation.ts"
import * as Engine from "../../src/docker/engine.ts"
import * as Faults from "../../src/docker/index.ts"
import { ensureImages } from "../../src/testing/docker/images.ts"
import { fixture, ledgerFiles, readLedger, spawnCli, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"

useProcessCleanup()

const unique = `infl-${randomBytes(3).toString("hex")}`
const engine = Engine.make({ timeoutMs: 20_000 })
const call = <A>(e: Effect.Effect<A, unknown>): Promise<A> => Effect.runPromise(e as Effect.Effect<A>)
const ids: Record<"stop" | "restart" | "loop", string> = { stop: "", restart: "", loop: "" }
const name = (key: keyof typeof ids) => `${unique}-${key}`
const stopS = 4

beforeAll(async () => {
  const [image] = await call(ensureImages(engine, { only: ["busybox"] }))
  if (image === undefined) throw new Error("no busybox image")
  // `sleep` as pid 1 has no SIGTERM handler, so the kernel ignores SIGTERM: a stop takes its whole timeout.
  await Promise.all((Object.keys(ids) as Array<keyof typeof ids>).map(async (k) => (ids[k] = await call(engine.run({ name: name(k), image, command: ["sleep", "3600"], labels: { "shiftup.run": unique } })))))
}, 60_000)

afterAll(async () => {
  const found = await call(engine.list({ all: true, labels: [`shiftup.run=${unique}`] }))
  await Promise.all(found.map((c) => call(engine.remove(c.id))))
  engine.close()
}, 60_000)

/** The first event `action` of container `id` since `sinceMs` (epoch ms), awaited from the engine's stream. */
const nextEvent = async (id: string, action: string, sinceMs: number, timeoutMs: number): Promise<number> => {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeoutMs)
  try {
    for await (const e of engine.events({ containers: [id], sinceS: sinceMs / 1000 }, controller.signal)) if (e.id === id && e.action === action) return Number(e.timeNano / 1_000_000n)
  } finally {
    clearTimeout(timer)
  }
  throw new Error(`no ${action} event of ${id.slice(0, 12)} within ${timeoutMs} ms`)
}

const status = async (id: string) => (await call(engine.inspect(id))).state.status

const trial = async (fault: "stop" | "restart") => {
  const id = ids[fault]
  expect(await status(id)).toBe("running")
  const state = tempDir()
  const since = Date.now()
  const p = spawnCli(["run", fixture("docker-inflight.ts"), "--watchdog", "--state-dir", state], {
    env: { SHIFTUP_FIXTURE_CONTAINER: name(fault), SHIFTUP_FIXTURE_FAULT: fault, SHIFTUP_FIXTURE_STOP_TIMEOUT: String(stopS) },
  })
  // The engine has begun: it sent SIGTERM (a `kill` event) and now waits out the grace period.
  const sigterm = await nextEvent(id, "kill", since, 30_000)
  const records = () => ledgerFiles(state).flatMap(readLedger)
  expect(records().filter((r) => r.type === "intent")).toHaveLength(1)
  expect(records().filter((r) => r.type === "applied")).toEqual([])
  p.child.kill("SIGKILL")
  await p.exited
  const killedAt = Date.now()
  const report = join(state, "watchdog", `${p.pid}.json`)
  await waitFor("the watchdog's report", () => existsSync(report), { timeoutMs: 30_000 })
  const recovered = JSON.parse(readFileSync(report, "utf8")) as { readonly items: ReadonlyArray<{ readonly outcome: string; readonly error?: string }> }
  expect(recovered.items.map((i) => i.outcome), JSON.stringify(recovered)).toEqual(["restored"])
  // The engine's stop has landed by now (before the watchdog's start, or still to come when the
  // watchdog did not wait for it): its exit is in the event log either way.
  const died = await nextEvent(id, "die", sigterm, stopS * 1000 + 5000)
  expect(died - sigterm).toBeGreaterThan(stopS * 1000 - 500)
  // Running once the stop is over, and it stays so: the stop finished before the start.
  expect(await status(id)).toBe("running")
  const started = await nextEvent(id, "start", died, 5000)
  expect(started).toBeGreaterThanOrEqual(died)
  expect(records().filter((r) => r.type === "rolled-back").map((r) => r["by"])).toEqual(["watchdog"])
  console.info(`${fault} in flight: SIGTERM at +${sigterm - since} ms, runner killed at +${killedAt - since} ms, exit at +${died - since} ms, start at +${started - since} ms`)
}

/** Apply, then verify, until verify says nothing differs or `deadlineMs` passes: what recovery does. */
const converge = async (c: Compensation, deadlineMs: number) => {
  const spec = specOf(Faults.compensators[c.kind]!)
  const seen: Array<string> = []
  for (;;) {
    await call(spec.apply(c))
    const left = await call(spec.verify!(c))
    if (left === undefined) return seen
    seen.push(left)
    if (Date.now() > deadlineMs) throw new Error(`did not converge: ${seen.join(" | ")}`)
  }
}

describe("recovery converges with a stop or restart still in flight", () => {
  it("SIGKILL of the runner while it waits on `docker stop`: the watchdog lets the stop land, then starts the container", () => trial("stop"), 60_000)

  it("SIGKILL of the runner while it waits on `docker restart`: the container is running once the restart is over", () => trial("restart"), 60_000)

  it("verify sees a stop in flight; apply waits for it to land and starts the container; verify then holds", async () => {
    const id = ids.loop
    const c: Compensation = { kind: "docker.start", description: "start it again", engine: engine.address, target: name("loop"), containers: [id], paused: [], capturedAt: Date.now(), settleMs: stopS * 1000 + 2000 }
    const spec = specOf(Faults.compensators["docker.start"]!)
    expect(spec.settleMs).toBeGreaterThanOrEqual(10_000)
    expect(await call(spec.verify!(c))).toBeUndefined()
    // A stop the engine works on while recovery looks: not awaited here, as a dead runner could not.
    const since = Date.now()
    const stopping = Effect.runPromiseExit(engine.stop(id, stopS))
    await nextEvent(id, "kill", since, 10_000)
    expect(await status(id)).toBe("running")
    expect(await call(spec.verify!(c))).toMatch(/has not ended yet/)
    const seen = await converge(c, Date.now() + stopS * 1000 + 10_000)
    expect(seen).toEqual([])
    await stopping
    expect(await status(id)).toBe("running")
    expect(Date.now() - since).toBeGreaterThan(stopS * 1000 - 500)
  }, 30_000)
})
