/**
 * `npm run bench -- docker`: pause/unpause of 1, 10 and 50 real containers, shiftup against
 * dockerode called directly, in one run.
 *
 * - shiftup: a real experiment, `run(Experiment.make({ method: [Docker.pause(target)] }))` with
 *   the ledger in a temp folder on disk; inject is the journal's fault step (`durationMs`: the
 *   compensation capture — an inspect per container —, the fsynced ledger intent, the pauses),
 *   rollback is `journal.rollbacks[0].durationMs` (the compensator: an inspect, then an unpause,
 *   per container). Both are whole milliseconds (`Date.now()` in the runner).
 * - raw: `container.pause()` / `unpause()` through one dockerode client, every container at once
 *   with the same bound shiftup uses (`concurrency` of `src/docker/internal/fault.ts`), timed with
 *   `performance.now()`.
 * Rounds alternate which side goes first; figures are medians over the rounds (a warm-up round is
 * dropped). A breakdown phase then times the pieces of shiftup's cost on 50 containers.
 *
 * The 50 busybox containers (`sleep 3600`) carry `shiftup.run=<bench run id>` and are always
 * removed (reaper by run id, also on SIGINT/SIGTERM). Selecting N of them uses the label
 * `bench.n<N>=1` (on the first N), so population and members are both N.
 */
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Dockerode from "dockerode"
import { Effect } from "effect"
import { Expect, Experiment, Probe, run, type Journal } from "../src/index.ts"
import { Ledger } from "../src/advanced/index.ts"
import * as Docker from "../src/docker/index.ts"
import type { DockerEngine as EngineT } from "../src/docker/engine.ts"
import { concurrency } from "../src/docker/internal/fault.ts"
import { ensureImages } from "../src/testing/docker/images.ts"
import { median, spread, type Line, type Section } from "./lib.ts"

const Engine = Docker.Engine
const sizes = [1, 10, 50] as const
const total = 50
const rounds = 7
const breakdownRounds = 5
/** Pause before each measurement: the engine handles containerd's pause/resume events after the API call returned (see `settle`). */
const settleMs = 250

/** The kernel's view (cgroup v1 freezer): how many of `ids` are frozen; `undefined` where that file does not exist. */
const frozen = (ids: ReadonlyArray<string>): number | undefined => {
  const path = (id: string) => `/sys/fs/cgroup/freezer/docker/${id}/freezer.state`
  if (ids[0] === undefined || !existsSync(path(ids[0]))) return undefined
  return ids.filter((id) => readFileSync(path(id), "utf8").trim() === "FROZEN").length
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The slice of dockerode used here (it ships no types). */
interface RawContainer {
  pause(): Promise<unknown>
  unpause(): Promise<unknown>
  inspect(): Promise<{ readonly State?: { readonly Paused?: boolean } }>
}
interface RawDocker {
  getContainer(id: string): RawContainer
  listContainers(options: object): Promise<ReadonlyArray<unknown>>
}
const RawDockerode = Dockerode as unknown as new (options: { readonly socketPath: string }) => RawDocker

/** Runs `f` over `items`, at most `limit` at once (as `Effect.forEach(…, { concurrency })` does). */
const bounded = async <A>(items: ReadonlyArray<A>, limit: number, f: (a: A) => Promise<unknown>): Promise<void> => {
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as A
      await f(item)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
}

const timed = async (f: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now()
  await f()
  return performance.now() - t0
}

const call = <A, E>(engine: EngineT, e: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(
    e.pipe(
      Effect.provideService(Engine.DockerEngine, engine),
      Effect.mapError((x) => new Error(typeof x === "object" && x !== null && "detail" in x ? String((x as { detail: unknown }).detail) : String(x))),
    ),
  )

const groupLabel = (n: number) => `bench.n${n}`

interface Sample {
  readonly inject: number
  readonly rollback: number
}

export const docker: Section = {
  name: "docker",
  title: "pause/unpause of 1, 10, 50 containers: shiftup's real fault path (journal timings) vs. dockerode directly",
  run: async (): Promise<ReadonlyArray<Line>> => {
    const address = Engine.addressOf()
    if (!address.startsWith("unix://")) throw new Error(`the docker bench needs a unix socket engine, not ${address}`)
    const socketPath = address.slice("unix://".length)
    const engine = Engine.make({ socketPath })
    const raw = new RawDockerode({ socketPath })
    const benchRun = `bench-${randomBytes(4).toString("hex")}`
    const stateDir = mkdtempSync(join(tmpdir(), "shiftup-bench-docker-"))
    let cleaned: Promise<void> | undefined
    const cleanup = () =>
      (cleaned ??= (async () => {
        try {
          const reaped = await call(engine, Docker.reap({ runIds: [benchRun] }))
          const failed = reaped.filter((r) => r.outcome !== "removed")
          if (failed.length > 0) console.error(`# docker: ${failed.length} object(s) of ${benchRun} not removed: ${failed.map((r) => `${r.id.slice(0, 12)} ${r.error ?? r.outcome}`).join("; ")}`)
        } finally {
          rmSync(stateDir, { recursive: true, force: true })
          engine.close()
        }
      })())
    const onSignal = (signal: NodeJS.Signals) => {
      void cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143))
    }
    process.once("SIGINT", onSignal)
    process.once("SIGTERM", onSignal)
    try {
      await call(engine, engine.ping)
      const [image] = await call(engine, ensureImages(engine, { only: ["busybox"] }))
      if (image === undefined) throw new Error("no busybox image")

      // ── 50 containers, the first N of them labelled bench.n<N> ──
      const tCreate = performance.now()
      const ids = await call(
        engine,
        Effect.forEach(
          Array.from({ length: total }, (_, i) => i),
          (i) =>
            engine.run({
              name: `${benchRun}-${String(i).padStart(2, "0")}`,
              image,
              command: ["sleep", "3600"],
              labels: { [Docker.runLabel]: benchRun, ...Object.fromEntries(sizes.filter((n) => i < n).map((n) => [groupLabel(n), "1"])) },
            }),
          { concurrency: 8 },
        ),
      )
      const createS = (performance.now() - tCreate) / 1000

      const shiftupOnce = async (n: number): Promise<Sample> => {
        const target = Docker.containers("bench", { select: { labels: { [Docker.runLabel]: benchRun, [groupLabel(n)]: "1" } }, environment: "lab" })
        const j: Journal.Journal = await run(
          Experiment.make({
            id: `bench.docker.pause-${n}`,
            title: `pause ${n} containers`,
            targets: { target },
            budget: { maxTargets: 1, maxPercent: 100, maxConcurrentFaults: 1, maxDuration: "2 minutes" },
            // The check runs after the fault step and before the rollback: it is in neither timing.
            method: [Docker.pause(target), ...(kernel ? [Expect.that(Probe.make({ id: "frozen in the kernel", target, observe: () => frozen(ids.slice(0, n)) ?? -1 }), n)] : [])],
          }),
          { stateDir, journal: false },
        )
        const fault = j.steps.find((s) => s.kind === "fault")
        const rb = j.rollbacks[0]
        const members = j.plan?.targets[0]?.members.length
        if (j.status !== "passed" || fault?.outcome !== "ok" || rb?.outcome !== "restored" || members !== n)
          throw new Error(`shiftup run went wrong (n=${n}, members ${members}): ${j.status}: ${j.summary} ${JSON.stringify(j.errors)}`)
        thawed(n, "after shiftup's rollback")
        return { inject: fault.durationMs, rollback: rb.durationMs }
      }

      const rawOnce = async (n: number): Promise<Sample> => {
        const list = ids.slice(0, n).map((id) => raw.getContainer(id))
        const inject = await timed(() => bounded(list, concurrency, (c) => c.pause()))
        if (kernel && frozen(ids.slice(0, n)) !== n) throw new Error(`raw pause of ${n}: only ${frozen(ids.slice(0, n))} frozen`)
        const rollback = await timed(() => bounded(list, concurrency, (c) => c.unpause()))
        thawed(n, "after raw unpause")
        return { inject, rollback }
      }

      /** Every container running, none paused: what each measurement must start from. */
      const allRunning = async (when: string) => {
        const states = await call(engine, engine.list({ all: true, labels: [`${Docker.runLabel}=${benchRun}`] }))
        const bad = states.filter((s) => s.state !== "running")
        if (states.length !== total || bad.length > 0) throw new Error(`${when}: ${states.length} containers, not running: ${bad.map((s) => `${s.name} ${s.state}`).join(", ")}`)
      }
      await allRunning("after create")
      const kernel = frozen(ids) !== undefined
      const thawed = (n: number, when: string) => {
        const f = frozen(ids.slice(0, n))
        if (f !== undefined && f !== 0) throw new Error(`${when}: ${f} of ${n} containers still frozen`)
      }
      /**
       * Waits until the engine's own state shows every container running. Docker 20.10 sets a
       * container's paused flag in the API call and again when containerd's event arrives; on a
       * loaded machine a late "paused" event can mark a container paused again for a while after
       * its unpause, and a pause then fails with 409 "already paused". Not measured.
       */
      let conflicts = 0
      const settle = async () => {
        await sleep(settleMs)
        for (let i = 0; ; i++) {
          const states = await call(engine, engine.list({ all: true, labels: [`${Docker.runLabel}=${benchRun}`] }))
          if (states.length === total && states.every((s) => s.state === "running")) return
          if (i >= 100) return allRunning("settling")
          await sleep(50)
        }
      }
      /** One measurement, retried (at most twice) when the engine answered 409 for a container it still saw paused. */
      const measured = async <A>(f: () => Promise<A>): Promise<A> => {
        for (let attempt = 0; ; attempt++) {
          await settle()
          try {
            return await f()
          } catch (e) {
            if (attempt >= 2 || !/409|already paused|is not paused/.test(String(e))) throw e
            conflicts++
            await call(engine, Effect.forEach(ids, (id) => Effect.ignore(engine.unpause(id)), { concurrency, discard: true }))
          }
        }
      }

      const samples = new Map<string, Array<Sample>>()
      const add = (key: string, s: Sample) => samples.set(key, [...(samples.get(key) ?? []), s])
      for (let r = -1; r < rounds; r++) {
        for (const [k, n] of sizes.entries()) {
          const shiftupFirst = (r + k) % 2 === 0
          for (const side of shiftupFirst ? (["shiftup", "raw"] as const) : (["raw", "shiftup"] as const)) {
            const s = await measured(() => (side === "shiftup" ? shiftupOnce(n) : rawOnce(n)))
            if (r >= 0) add(`${side}-${n}`, s)
          }
        }
        await allRunning(`after round ${r}`)
      }

      // ── breakdown on 50: the pieces of shiftup's inject and rollback, timed alone, sides alternating ──
      const all = ids.map((id) => raw.getContainer(id))
      const pieces = new Map<string, Array<number>>()
      const piece = (key: string, ms: number) => pieces.set(key, [...(pieces.get(key) ?? []), ms])
      const ledgerPath = join(stateDir, "bench-append.jsonl")
      const rawPause = () => bounded(all, concurrency, (c) => c.pause())
      const rawUnpause = () => bounded(all, concurrency, (c) => c.unpause())
      const enginePause = () => call(engine, Effect.forEach(ids, (id) => engine.pause(id), { concurrency, discard: true }))
      const engineUnpause = () => call(engine, Effect.forEach(ids, (id) => engine.unpause(id), { concurrency, discard: true }))
      const inspectThenUnpause = () =>
        bounded(all, concurrency, async (c) => {
          const now = await c.inspect()
          if (now.State?.Paused === true) await c.unpause()
        })
      for (let r = -1; r < breakdownRounds; r++) {
        const keep = (key: string, ms: number) => (r >= 0 ? piece(key, ms) : undefined)
        keep("raw_inspect", await timed(() => bounded(all, concurrency, (c) => c.inspect())))
        keep("raw_list", await timed(() => raw.listContainers({ all: true, filters: JSON.stringify({ id: ids }) })))
        keep("ledger_append", await timed(() => call(engine, Ledger.appendRecord(ledgerPath, { type: "applied", seq: r + 2, at: new Date().toISOString() }))))
        // pause/unpause: raw and shiftup's Engine client, then the compensator's shape (inspect → unpause) against plain unpause
        const engineFirst = r % 2 === 0
        for (const side of engineFirst ? ["engine", "raw"] : ["raw", "engine"]) {
          await measured(async () => {
            const p = await timed(side === "engine" ? enginePause : rawPause)
            const u = await timed(side === "engine" ? engineUnpause : rawUnpause)
            keep(`${side}_pause`, p)
            keep(`${side}_unpause`, u)
          })
        }
        for (const side of engineFirst ? ["chained", "plain"] : ["plain", "chained"]) {
          await measured(async () => {
            await rawPause()
            await sleep(settleMs)
            keep(side === "chained" ? "raw_inspect_unpause" : "raw_unpause_again", await timed(side === "chained" ? inspectThenUnpause : rawUnpause))
          })
        }
      }
      await settle()
      await allRunning("after the breakdown")
      thawed(total, "after the breakdown")

      const med = (key: string, f: (s: Sample) => number) => median((samples.get(key) ?? []).map(f))
      const lines: Array<Line> = [{ name: "docker.engine", value: `${address}, ${total} busybox containers created in ${createS.toFixed(1)} s; ${rounds} rounds (+1 warm-up), sides alternating; concurrency ${concurrency}; ${settleMs} ms settle before each; kernel freezer check ${kernel ? "on" : "unavailable"}; ${conflicts} measurement(s) retried after a 409` }]
      for (const n of sizes) {
        lines.push(
          { name: `docker.inject_ms_${n}`, value: med(`shiftup-${n}`, (s) => s.inject), digits: 1, ...(n === 1 ? { note: "shiftup: the journal's fault step (capture: inspect per container; fsynced ledger intent; pause), whole ms" } : {}) },
          { name: `docker.raw_inject_ms_${n}`, value: med(`raw-${n}`, (s) => s.inject), digits: 1, ...(n === 1 ? { note: "dockerode container.pause() for all N, same concurrency bound" } : {}) },
          { name: `docker.rollback_ms_${n}`, value: med(`shiftup-${n}`, (s) => s.rollback), digits: 1, ...(n === 1 ? { note: "shiftup: journal.rollbacks[0] (compensator: inspect, then unpause, per container), whole ms" } : {}) },
          { name: `docker.raw_rollback_ms_${n}`, value: med(`raw-${n}`, (s) => s.rollback), digits: 1, ...(n === 1 ? { note: "dockerode container.unpause() for all N, same concurrency bound" } : {}) },
        )
      }
      for (const n of sizes) {
        lines.push({
          name: `docker.spread_${n}`,
          value: `inject ${spread((samples.get(`shiftup-${n}`) ?? []).map((s) => s.inject), 0)} vs raw ${spread((samples.get(`raw-${n}`) ?? []).map((s) => s.inject), 1)}; rollback ${spread((samples.get(`shiftup-${n}`) ?? []).map((s) => s.rollback), 0)} vs raw ${spread((samples.get(`raw-${n}`) ?? []).map((s) => s.rollback), 1)}`,
        })
      }
      const pm = (key: string) => median(pieces.get(key) ?? [])
      lines.push(
        { name: "docker.breakdown_50", value: `medians of ${breakdownRounds}, ms, each piece alone on the 50 containers`, note: "shiftup's inject ≈ capture (inspect each) + ledger append + pauses; its rollback ≈ inspect → unpause per container" },
        { name: "docker.raw_pause_ms_50", value: pm("raw_pause"), digits: 1 },
        { name: "docker.engine_pause_ms_50", value: pm("engine_pause"), digits: 1, note: "shiftup's Engine client (Effect, deadline, abort signal) over the same calls, Effect.forEach bounded" },
        { name: "docker.raw_unpause_ms_50", value: pm("raw_unpause"), digits: 1 },
        { name: "docker.engine_unpause_ms_50", value: pm("engine_unpause"), digits: 1 },
        { name: "docker.raw_inspect_ms_50", value: pm("raw_inspect"), digits: 1, note: "the inject's capture: one inspect per container (members())" },
        { name: "docker.raw_list_ms_50", value: pm("raw_list"), digits: 1, note: "one list call filtered by the 50 ids: the same states in one request" },
        { name: "docker.ledger_append_ms", value: pm("ledger_append"), digits: 2, note: `one open-write-fsync-close in ${tmpdir()}` },
        { name: "docker.raw_inspect_unpause_ms_50", value: pm("raw_inspect_unpause"), digits: 1, note: "dockerode: inspect then unpause per container (the compensator's shape, without shiftup)" },
        { name: "docker.raw_unpause_again_ms_50", value: pm("raw_unpause_again"), digits: 1, note: "plain unpause, measured alternately with the line above" },
        { name: "docker.inject_ratio_50", value: med("shiftup-50", (s) => s.inject) / med("raw-50", (s) => s.inject), note: "aim: under 1.2 (shiftup / raw)" },
        { name: "docker.rollback_ratio_50", value: med("shiftup-50", (s) => s.rollback) / med("raw-50", (s) => s.rollback), note: "aim: under 1.2 (shiftup / raw)" },
        { name: "docker.rollback_ms_50", value: med("shiftup-50", (s) => s.rollback), digits: 1, note: "aim: well under a second for 50 paused containers" },
      )
      return lines
    } finally {
      process.off("SIGINT", onSignal)
      process.off("SIGTERM", onSignal)
      await cleanup()
    }
  },
}
