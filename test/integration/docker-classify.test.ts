/**
 * Classification of real containers (DESIGN.md, invariant 1 and 3): a corpus with varied labels,
 * names, environment variables, images and published ports — including a Redis server under an
 * innocent name and image, found only by its protocol fingerprint. Production and
 * unknown-environment data stores are refused with exit 2 and never touched.
 */
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Expect, Experiment, Http, plan, Probe, run as runExperiment } from "shiftup"
import * as Docker from "shiftup/docker"
import type { DockerEvent } from "../../src/docker/engine.ts"
import { ensureImageMap, hasRedisServer } from "../../src/testing/docker/images.ts"
import { fixture, ledgerFiles, readJournal, readLedger, runCli, tempDir, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

const engine = Docker.Engine.make()
const call = <A>(e: Effect.Effect<A, unknown>) => Effect.runPromise(e as Effect.Effect<A>)
const run = `t-classify-${Date.now().toString(36)}`
const base = { "shiftup.run": run }
const n = (s: string) => `${run}-${s}`
let images: Partial<Record<string, string>> = {}

beforeAll(async () => {
  if (!hasRedisServer()) throw new Error("the innocently named data store image is built from the host's redis-server: apt-get install -y redis-server")
  images = await call(ensureImageMap(engine, { only: ["busybox", "session-helper"] }))
  await call(engine.tag("shiftup-lab/busybox:latest", "shiftup-test/postgres", run))
  const sleeper = { image: "shiftup-lab/busybox:latest", command: ["sleep", "3600"] }
  const corpus = [
    { ...sleeper, name: n("orders-prod"), labels: base },
    { ...sleeper, name: n("web"), labels: { ...base, env: "staging" } },
    { ...sleeper, name: n("worker"), labels: base, env: { NODE_ENV: "production" } },
    { ...sleeper, name: n("labelled-lab"), labels: { ...base, "shiftup.env": "lab" }, env: { NODE_ENV: "production" } },
    { ...sleeper, name: n("mystery"), labels: base },
    { ...sleeper, name: n("ledger"), image: `shiftup-test/postgres:${run}`, labels: { ...base, env: "lab" } },
    { ...sleeper, name: n("thing"), labels: { ...base, env: "lab" }, publish: [{ containerPort: 5432, hostPort: 0 }] },
    { name: n("warmer"), image: String(images["session-helper"]), labels: { ...base, env: "staging" }, publish: [{ containerPort: 7000, hostPort: 0 }] },
    { name: n("sessions"), image: String(images["session-helper"]), labels: { ...base, env: "production" }, publish: [{ containerPort: 7000, hostPort: 0 }] },
    { name: n("misc"), image: String(images["session-helper"]), labels: base, publish: [{ containerPort: 7000, hostPort: 0 }] },
    { ...sleeper, name: n("shop-api-1"), labels: { ...base, "com.docker.compose.project": run, "com.docker.compose.service": "api", tier: "staging" } },
    { ...sleeper, name: n("shop-api-2"), labels: { ...base, "com.docker.compose.project": run, "com.docker.compose.service": "api", tier: "staging" } },
  ]
  await Promise.all(corpus.map((spec) => call(engine.run(spec))))
  // Redis needs a moment before it answers the handshake.
  await new Promise((r) => setTimeout(r, 500))
}, 120_000)

afterAll(async () => {
  await call(Docker.reap({ runIds: [run] }).pipe(Effect.provideService(Docker.DockerEngine, engine)))
  await call(engine.removeImage(`shiftup-test/postgres:${run}`))
  engine.close()
})

const classify = async (target: Docker.ContainerTarget, policy: { readonly denyDataStores?: boolean } = {}) => {
  const j = await plan(Experiment.make({ id: "classify", title: "classify", targets: { t: target }, policy, method: [Docker.pause(target)] }), { stateDir: tempDir() })
  const t = j.plan?.targets[0]
  if (t === undefined) throw new Error(`no plan: ${j.summary}`)
  return { ...t, decision: j.plan?.decisions.find((d) => d.safety === "disrupt"), status: j.status, contacts: j.plan?.contacts ?? [] }
}

const signal = (signals: ReadonlyArray<{ source: string; key: string; value: string; means: string }>) => signals.map((s) => `${s.source} ${s.key}=${s.value} → ${s.means}`)

describe("classification of real containers", () => {
  it("environment from a name token, a label, an env var; the most restrictive signal wins; nothing → unknown (production)", async () => {
    const prod = await classify(Docker.container(n("orders-prod")))
    expect([prod.environment, prod.effective]).toEqual(["production", "production"])
    expect(signal(prod.environmentSignals)).toContain(`name name=${n("orders-prod")} → production`)
    expect(prod.decision?.rule).toBe("floor.production-observe-only")

    const web = await classify(Docker.container(n("web")))
    expect(web.environment).toBe("staging")
    expect(signal(web.environmentSignals)).toEqual(["label env=staging → staging"])
    expect(web.decision?.allowed).toBe(true)

    const worker = await classify(Docker.container(n("worker")))
    expect(worker.environment).toBe("production")
    expect(signal(worker.environmentSignals)).toEqual(["env-var NODE_ENV=production → production"])

    // Labelled lab, but NODE_ENV=production: the label does not loosen the evidence.
    const lab = await classify(Docker.container(n("labelled-lab")))
    expect(lab.environment).toBe("production")
    expect(signal(lab.environmentSignals)).toEqual(["env-var NODE_ENV=production → production", "label shiftup.env=lab → lab", `name name=${n("labelled-lab")} → lab`])
    expect(lab.decision?.allowed).toBe(false)

    const mystery = await classify(Docker.container(n("mystery")))
    expect([mystery.environment, mystery.effective]).toEqual(["unknown", "production"])
    expect(mystery.decision?.allowed).toBe(false)
  })

  it("data stores by image name and by a well-known exposed port", async () => {
    const ledger = await classify(Docker.container(n("ledger")))
    expect(ledger.dataStore.is).toBe(true)
    expect(signal(ledger.dataStore.signals)).toContain(`image image=shiftup-test/postgres:${run} → postgres`)
    const thing = await classify(Docker.container(n("thing")))
    expect(signal(thing.dataStore.signals)).toContain("port port=5432 → postgres")
  })

  it("a Redis under an innocent name and image is found by its fingerprint alone, where it matters", async () => {
    // Pausing a staging container: being a data store would change nothing, so nothing is contacted.
    const blind = await classify(Docker.container(n("warmer")))
    expect(blind.dataStore).toMatchObject({ is: false, checkedBy: "not fingerprinted: no decision depends on it" })
    expect(blind.contacts).toEqual([])
    expect(blind.decision?.allowed).toBe(true)
    // With data stores denied it matters: the published port is fingerprinted, and the store refused.
    const seen = await classify(Docker.container(n("warmer")), { denyDataStores: true })
    expect(seen.dataStore).toMatchObject({ is: true, engine: "redis" })
    expect(signal(seen.dataStore.signals)).toEqual(["fingerprint handshake=redis → redis"])
    expect(seen.decision).toMatchObject({ allowed: false, rule: "experiment.deny-data-stores" })
    expect(seen.contacts.length).toBeGreaterThan(0)
    expect(seen.contacts[0]?.address).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(seen.environment).toBe("staging")
  })

  it("compose selectors: the service's containers are the population; pick takes some", async () => {
    const api = await classify(Docker.containers("api", { select: { compose: { project: run, service: "api" } }, pick: 1 }))
    expect(api.population).toBe(2)
    expect(api.members).toHaveLength(1)
    expect(api.environment).toBe("staging")
  })
})

/** Engine events of one container since `sinceMs` (epoch), read until now. */
const eventsOf = async (name: string, sinceMs: number): Promise<ReadonlyArray<DockerEvent>> => {
  const id = (await call(engine.inspect(name))).id
  const controller = new AbortController()
  const seen: Array<DockerEvent> = []
  setTimeout(() => controller.abort(), 700)
  for await (const e of engine.events({ containers: [id], sinceS: Math.floor(sinceMs / 1000) }, controller.signal)) if (e.timeNano >= BigInt(sinceMs) * 1_000_000n) seen.push(e)
  return seen
}

describe("refused data stores are never touched", () => {
  it.each([
    ["production (label)", "sessions", "floor.production-observe-only"],
    ["unknown environment", "misc", "floor.unknown-is-production"],
  ])("%s data store under an innocent name, paused: exit 2 with zero connections, no intent, no engine event", async (_what, suffix, rule) => {
    const since = Date.now()
    const state = tempDir()
    const journal = join(state, "j.json")
    const r = await runCli(["run", fixture("docker-pause.ts"), "--state-dir", state, "--journal", journal], { env: { SHIFTUP_FIXTURE_CONTAINER: n(suffix), SHIFTUP_FIXTURE_ENV: "none" } })
    expect(r.code, r.output).toBe(2)
    expect(r.output).toContain(rule)
    // Passive signals decided: planning opened no connection to the store.
    expect(readJournal(journal).plan?.contacts).toBeUndefined()
    expect(ledgerFiles(state).flatMap(readLedger).filter((x) => x.type === "intent")).toEqual([])
    expect((await call(engine.inspect(n(suffix)))).state.status).toBe("running")
    expect((await eventsOf(n(suffix), since)).map((e) => e.action)).toEqual([])
  })

  it("observing it (opted in) needs the fingerprint: refused as a production data store; shiftup plan names the handshake", async () => {
    const r = await runCli(["plan", fixture("docker-pause.ts"), "--state-dir", tempDir()], { env: { SHIFTUP_FIXTURE_CONTAINER: n("sessions"), SHIFTUP_FIXTURE_ENV: "none", SHIFTUP_FIXTURE_OBSERVE: "1" } })
    expect(r.code, r.output).toBe(2)
    expect(r.output).toContain("floor.production-data-store")
    expect(r.output).toContain("environment signal: label env=production → production")
    expect(r.output).toContain("data store signal: fingerprint handshake=redis → redis")
    expect(r.output).toMatch(/contact \(plan time\): 127\.0\.0\.1:\d+ .*sent .*PING.*received .*PONG.* → redis/)
  })
})

describe("egress to the engine's own containers (invariant 7)", () => {
  it("a run may reach the addresses of its container targets, and no other container's", async () => {
    const web = await call(engine.inspect(n("web")))
    const other = await call(engine.inspect(n("worker")))
    const ipOf = (c: typeof web) => Object.values(c.networks)[0]?.ipv4 ?? ""
    const attempt = async (address: string) => {
      const ct = Docker.container(n("web"))
      const svc = Http.target("svc", { url: `http://${address}:80`, environment: "lab" })
      const j = await runExperiment(
        Experiment.make({ id: "egress", title: "egress", targets: { ct, svc }, hypothesis: [Expect.that(Docker.state(ct), Expect.equals("running"))], method: [Expect.that(Probe.status(svc, "/"), Expect.equals(200))] }),
        { stateDir: tempDir() },
      )
      return j.errors.map((e) => e.tag)
    }
    // The target's own address: allowed (nothing listens on :80 there, so the probe fails to connect).
    const allowed = await attempt(ipOf(web))
    expect(allowed).not.toContain("EgressDenied")
    expect(allowed).toContain("ProbeFailed")
    // A container the run does not target: refused when the run is planned, before any connection.
    expect(await attempt(ipOf(other))).toEqual(["TargetRefused"])
  })
})
