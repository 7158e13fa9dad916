/**
 * Docs are executed, with Docker: every file in `experiments/docker/` and `examples/docker/` is
 * run through the real CLI against a Docker lab this file starts (its own run id, a free pair of
 * loopback ports), found the way the files find it — the env convention `SHIFTUP_DOCKER_LAB`
 * (the lab's run id) and `SHIFTUP_DOCKER_LAB_PORT` (the gateway's port; the detector is on the
 * next one). Expected outcomes come from the tags, as in catalogue.test.ts (`finding` → exit 1…).
 * After every run: no compensation pending, the lab's containers running and unpaused, no fault
 * rule or qdisc left in their namespaces, no container of the run left (a rogue listener).
 *
 * Then the planted weakness: `gateway.fails-closed.auth-paused` against a second lab whose
 * gateway fails OPEN when auth times out must end `failed` (exit 1) with the finding.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as net from "node:net"
import { join, relative } from "node:path"
import { Effect } from "effect"
import { Journal } from "shiftup"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Engine from "../../src/docker/engine.ts"
import { ensureImageMap } from "../../src/testing/docker/images.ts"
import { reapLab, startDockerLab, type DockerLab } from "../../src/testing/docker/lab.ts"
import { portVariable, runIdVariable } from "../../src/testing/docker/targets.ts"
import { journals, pendingIntents, repoRoot, runCli, tempDir, useProcessCleanup, type JournalDoc } from "../support/proc-cli.ts"
import { commandsFor, expectationsOf, sources } from "../support/catalogue.ts"

useProcessCleanup()

const engine = Engine.make()
const runId = `dcat-${randomBytes(4).toString("hex")}`
const call = <A>(e: Effect.Effect<A, unknown>): Promise<A> => Effect.runPromise(Effect.mapError(e, (x) => new Error(JSON.stringify(x))))

const catalogue = sources("experiments/docker")
const examples = sources("examples/docker")

const free = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer()
    s.once("error", () => resolve(false))
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)))
  })

/** A lab on two consecutive free loopback ports (42000–45999: clear of the demo labs, data store ports and the ephemeral range). */
const startLab = async (id: string, failOpen: boolean): Promise<DockerLab> => {
  let last: unknown
  for (let attempt = 0; attempt < 10; attempt++) {
    const base = 42_000 + 2 * Math.floor(Math.random() * 2000)
    if (!(await free(base)) || !(await free(base + 1))) continue
    try {
      return await call(startDockerLab(engine, { runId: id, failOpen, publishBase: base }))
    } catch (e) {
      last = e
    }
  }
  throw new Error(`no Docker lab could be started: ${String(last)}`)
}

let lab: DockerLab | undefined
let open: DockerLab | undefined
const labs = () => {
  if (lab === undefined || open === undefined) throw new Error("the labs start in beforeAll")
  return { lab, open }
}
const envOf = (l: DockerLab) => ({ [runIdVariable]: l.runId, [portVariable]: String(l.ports.gateway) })
const measurements: Array<string> = []

beforeAll(async () => {
  await call(engine.ping)
  await call(ensureImageMap(engine, { only: ["auth", "gateway", "detector", "rogue"] }))
  ;[lab, open] = await Promise.all([startLab(runId, false), startLab(`${runId}-open`, true)])
}, 120_000)

afterAll(async () => {
  for (const l of [lab, open]) if (l !== undefined) await call(l.close()).catch(() => undefined)
  await call(reapLab(engine, runId)).catch(() => undefined)
  await call(reapLab(engine, `${runId}-open`)).catch(() => undefined)
  engine.close()
  if (measurements.length > 0) console.log(`Docker catalogue (${runId}):\n${measurements.join("\n")}`)
}, 60_000)


/** Rules and qdiscs a network fault adds, in a container's namespace (none may be left). */
const faultTraces = (pid: number): string => {
  const run = (args: ReadonlyArray<string>) => execFileSync("nsenter", ["-t", String(pid), "-n", ...args], { encoding: "utf8" })
  const rules = run(["iptables", "-S"])
    .split("\n")
    .filter((l) => l.includes("shiftup:"))
  const tbf = run(["tc", "qdisc", "show"])
    .split("\n")
    .filter((l) => l.includes("tbf"))
  return [...rules, ...tbf].join("\n")
}

/** The lab as it must be after every run: everything running, nothing paused, no fault left in a namespace, nothing of `runs` left. */
const expectLabIntact = async (l: DockerLab, runs: ReadonlyArray<JournalDoc>, context: string) => {
  for (const [service, id] of Object.entries(l.containers)) {
    const c = await call(engine.inspect(id))
    expect(c.state.status, `${context}\n${service} is ${c.state.status}`).toBe("running")
    expect(c.state.paused, `${context}\n${service} left paused`).toBe(false)
    expect(faultTraces(c.state.pid), `${context}\n${service}: a network fault was left in its namespace`).toBe("")
  }
  for (const j of runs) {
    const left = await call(engine.list({ all: true, labels: [`shiftup.run=${j.runId}`] }))
    expect(left.map((c) => c.name), `${context}\ncontainers of run ${j.runId} left behind (a rogue listener?)`).toEqual([])
  }
}

interface StepDoc {
  readonly id: string
  readonly metric?: { readonly name: string; readonly ms: number }
  readonly observed?: unknown
}

/** One line for the measurements: status, duration, time-to-detect and time-to-recover (journal fields the support reader leaves out). */
const describeRun = (doc: JournalDoc) => {
  const j = doc as unknown as { readonly experiment: { readonly id: string }; readonly status: string; readonly durationMs?: number; readonly steps: ReadonlyArray<StepDoc> }
  const extra = j.steps.flatMap((s) => [
    ...(s.metric === undefined || s.metric.name !== "time-to-detect" ? [] : [`time-to-detect ${s.metric.ms} ms`]),
    ...(s.id.includes("time to recover") && typeof s.observed === "number" ? [`time-to-recover ${Math.round(s.observed)} ms`] : []),
  ])
  return `  ${j.experiment.id}: ${j.status}, ${j.durationMs ?? "?"} ms${extra.length === 0 ? "" : `, ${extra.join(", ")}`}`
}

const check = async (file: string) => {
  const { lab: l } = labs()
  const expected = await expectationsOf(file)
  expect(expected.length, `${relative(repoRoot, file)} exports no experiment`).toBeGreaterThan(0)
  const commands = commandsFor(expected)
  for (const command of commands) {
    const state = tempDir("shiftup-state-")
    const started = performance.now()
    const r = await runCli([command, file, "--state-dir", state], { env: envOf(l), timeoutMs: 100_000 })
    const wall = Math.round(performance.now() - started)
    const context = `shiftup ${command} ${relative(repoRoot, file)}\n${r.output}`
    const runs = journals(state)
    const byId = new Map(runs.map((j) => [j.experiment.id, j]))
    for (const x of expected) {
      const status = command === "plan" && x.status !== "refused" ? "passed" : x.status
      const j = byId.get(x.id)
      expect(j, `${context}\nno journal for ${x.id}`).toBeDefined()
      expect(j?.status, `${x.id}: ${j?.summary}\n${context}`).toBe(status)
      if (status === "failed") expect(j?.findings.length, context).toBeGreaterThan(0)
      if (j !== undefined && command === "run") {
        expect(j.rollbacks.every((rb) => rb.outcome === "restored"), context).toBe(true)
        measurements.push(`${describeRun(j)} (CLI process ${wall} ms)`)
      }
    }
    const worst = Math.max(...expected.map((x) => Journal.exitCodes[command === "plan" && x.status !== "refused" ? "passed" : x.status]))
    expect(r.code, context).toBe(worst)
    expect(pendingIntents(state), context).toEqual([])
    await expectLabIntact(l, runs, context)
  }
}

describe("the Docker catalogue (experiments/docker/) runs against a Docker lab", () => {
  it("has experiments", () => {
    expect(catalogue.length).toBeGreaterThanOrEqual(4)
  })
  for (const file of catalogue) it(relative(repoRoot, file), () => check(file), 120_000)
})

describe("the Docker tutorials (examples/docker/) run against a Docker lab", () => {
  it("has tutorials", () => {
    expect(examples.length).toBeGreaterThanOrEqual(4)
  })
  for (const file of examples) it(relative(repoRoot, file), () => check(file), 120_000)
})

describe("the planted weakness", () => {
  it("gateway.fails-closed.auth-paused against a gateway that fails OPEN on auth timeouts: failed (exit 1), with the finding; rolled back", async () => {
    const { open: l } = labs()
    const state = tempDir("shiftup-state-")
    const file = join(repoRoot, "experiments", "docker", "gateway.fails-closed.auth-paused.ts")
    const r = await runCli(["run", file, "--state-dir", state], { env: envOf(l), timeoutMs: 100_000 })
    const context = `shiftup run (fail-open lab)\n${r.output}`
    expect(r.code, context).toBe(1)
    const [j] = journals(state)
    expect(j?.status, context).toBe("failed")
    expect(j?.findings.map((f) => f.id), context).toEqual(["GET /admin as admin during faults: never 200"])
    expect(r.output).toMatch(/finding \[critical\] GET \/admin as admin during faults: never 200/)
    expect(j?.rollbacks.map((rb) => rb.outcome), context).toEqual(["restored"])
    expect(pendingIntents(state), context).toEqual([])
    if (j !== undefined) measurements.push(`${describeRun(j)} (fail-open lab: the planted weakness)`)
    await expectLabIntact(l, journals(state), context)
  }, 120_000)
})
