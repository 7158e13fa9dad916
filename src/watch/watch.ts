/**
 * The watcher: the jobs on their schedules, never two runs of one job at once (a tick while the
 * job still runs is skipped, logged and counted), every complete scan recorded in the finding
 * store (its state changes logged and counted), `/healthz` and `/metrics` on 127.0.0.1, and a
 * graceful stop: no new ticks, running jobs get until 60% of the deadline to finish, are then
 * aborted (abandoned: nothing recorded), pending webhook deliveries get 15% (what is left stays
 * in the outbox for the next start), and the state is written before the deadline. Each run
 * holds the job's lease in the store (renewed while it runs, kept for the rest of its tick's
 * slot), so watchers sharing a PostgreSQL store never run one job at once, and a crashed
 * watcher's jobs are taken over when its leases expire.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Config } from "../Config.ts"
import type { Experiment } from "../Experiment.ts"
import type { Snapshot } from "../inventory/snapshot/model.ts"
import { millisOf } from "../internal/validate.ts"
import { probeBudget } from "../RunContext.ts"
import { fail, InvalidConfig } from "../ShiftupError.ts"
import { allJobs } from "./jobs-file.ts"
import { prepare, type RunnableJob } from "./jobs.ts"
import type { Logger } from "./log.ts"
import { metrics, serve } from "./metrics.ts"
import { webhooks } from "./webhook.ts"
import { cronProblem, schedule, type Schedule } from "./schedule.ts"
import { openWatcherStore } from "./store/open.ts"
import type { FindingStore, Transition } from "./store/Store.ts"

export const stateSchema = "shiftup.watch-state/v1"

export interface JobState {
  readonly runs: number
  readonly skipped: number
  readonly lastStart?: string
  readonly lastEnd?: string
  readonly lastSuccess?: string
  readonly lastOutcome?: "ok" | "incomplete" | "error"
  readonly lastSummary?: string
}

/** `<stateDir>/watch-state.json`: written at every stop; read at start (inventory drift resumes). */
export interface WatchState {
  readonly schema: typeof stateSchema
  readonly stoppedAt: string
  /** False when a job had to be abandoned at the deadline. */
  readonly clean: boolean
  readonly jobs: Readonly<Record<string, JobState>>
  readonly inventory: Readonly<Record<string, Snapshot>>
}

export interface WatchOptions {
  readonly config: Config
  readonly stateDir: string
  readonly log: Logger
  /** Loads an experiment file (the CLI's loader). */
  readonly load: (file: string) => Promise<ReadonlyArray<Experiment>>
  /** Called with every state change of a finding (the hook for webhooks). */
  readonly onTransition?: (t: Transition) => void
  /** Replaces how jobs are made runnable (benchmarks of the scheduler itself, where a job's work must cost nothing). */
  readonly prepare?: typeof prepare
}

export interface Watcher {
  readonly port: number
  readonly store: FindingStore
  readonly stateFile: string
  /** Stops within `deadlineMs`; resolves with the state written. */
  readonly stop: (deadlineMs: number) => Promise<WatchState>
}

export const stateFileOf = (stateDir: string) => join(stateDir, "watch-state.json")

const readState = (file: string): WatchState | undefined => {
  if (!existsSync(file)) return undefined
  try {
    const s = JSON.parse(readFileSync(file, "utf8")) as WatchState
    return s.schema === stateSchema ? s : undefined
  } catch {
    return undefined
  }
}

export const startWatch = async (options: WatchOptions): Promise<Watcher> => {
  const { config, stateDir, log } = options
  const settings = config.watch ?? { jobs: [] }
  // The config's jobs and those `shiftup promote` added to the jobs file.
  const specs = allJobs(config)
  if (specs.length === 0)
    throw fail(new InvalidConfig({ source: config.module ?? "shiftup.config.ts", issues: [{ path: "watch.jobs", message: "`shiftup watch` needs jobs: add a `watch: { jobs: [...] }` section (docs/watch.md), or promote an experiment (`shiftup promote`)" }] }))
  const cronIssues = specs.flatMap((j, i) => {
    const problem = j.cron === undefined ? undefined : cronProblem(j.cron)
    return problem === undefined ? [] : [{ path: `watch.jobs[${i}].cron`, message: problem }]
  })
  if (cronIssues.length > 0) throw fail(new InvalidConfig({ source: config.module ?? "shiftup.config.ts", issues: cronIssues }))
  const stateFile = stateFileOf(stateDir)
  const previous = readState(stateFile)
  const probes = settings.probes === undefined ? undefined : probeBudget({ perSecond: settings.probes.maxRate, ...(settings.probes.burst === undefined ? {} : { burst: settings.probes.burst }), ...(settings.probes.perTargetInterval === undefined ? {} : { perKeyMs: millisOf(settings.probes.perTargetInterval) }) })
  const jobs = await (options.prepare ?? prepare)(specs, { config, stateDir, load: options.load, ...(previous === undefined ? {} : { previous: previous.inventory }), ...(probes === undefined ? {} : { probeBudget: probes }) })
  const opened = await openWatcherStore(settings.store, stateDir)
  const { store, holder } = opened
  const leaseTtlMs = settings.leaseTtl === undefined ? 30_000 : millisOf(settings.leaseTtl)
  const m = metrics(store, probes)
  const hooks = webhooks(settings.webhooks ?? [], { store, holder, log })
  const states = new Map<string, JobState>(
    jobs.map((j) => {
      const last = previous?.jobs[j.spec.name]?.lastSuccess
      return [j.spec.name, { runs: 0, skipped: 0, ...(last === undefined ? {} : { lastSuccess: last }) }]
    }),
  )
  for (const [name, s] of states) if (s.lastSuccess !== undefined) m.lastSuccess.set({ job: name }, Date.parse(s.lastSuccess) / 1000)
  const running = new Map<string, { readonly controller: AbortController; readonly done: Promise<void> }>()
  let stopping = false
  // Set once the state is written and the store closed: a run abandoned past the deadline that
  // ends after that records nothing (the state on disk is final).
  let closed = false

  const message = (e: unknown) => (e instanceof Error ? e.message : String(e))
  const skip = (name: string, reason: string) => {
    const state = states.get(name) as JobState
    states.set(name, { ...state, skipped: state.skipped + 1 })
    m.skipped.inc({ job: name })
    log("warn", "job.skipped", { job: name, reason })
  }
  const schedules = new Map<string, Schedule>()

  const tick = (job: RunnableJob) => {
    const name = job.spec.name
    if (stopping) return
    if (running.has(name)) return skip(name, "the previous run of this job is still running")
    const controller = new AbortController()
    const done = (async () => {
      // The job's lease: no other watcher on this store runs it while this one does.
      if (!(await store.lease(name, holder, leaseTtlMs))) return skip(name, "another watcher holds this job's lease")
      const renew = setInterval(() => {
        store.lease(name, holder, leaseTtlMs).then(
          (held) => {
            if (held || controller.signal.aborted) return
            log("error", "job.lease-lost", { job: name, reason: "another watcher took this job's lease (this one was too slow to renew it): the run is aborted, nothing recorded" })
            controller.abort(new Error("lease lost"))
          },
          (e: unknown) => log("warn", "job.lease-renewal", { job: name, error: message(e) }),
        )
      }, Math.max(50, Math.floor(leaseTtlMs / 3)))
      const started = new Date()
      states.set(name, { ...(states.get(name) as JobState), runs: (states.get(name) as JobState).runs + 1, lastStart: started.toISOString() })
      log("info", "job.started", { job: name })
      try {
        const outcome = await job.run(controller.signal)
        if (closed) return
        const ended = new Date()
        const seconds = (ended.getTime() - started.getTime()) / 1000
        if (outcome.seen === undefined || controller.signal.aborted) {
          m.jobDuration.observe({ job: name, outcome: "incomplete" }, seconds)
          m.runs.inc({ job: name, outcome: "incomplete" })
          states.set(name, { ...(states.get(name) as JobState), lastEnd: ended.toISOString(), lastOutcome: "incomplete", lastSummary: outcome.summary })
          log("warn", "job.incomplete", { job: name, ms: ended.getTime() - started.getTime(), summary: outcome.summary, runs: outcome.runIds, recorded: false })
          return
        }
        // Fenced by the lease; the webhook deliveries commit with the state changes (the outbox).
        const transitions = await store.record(name, outcome.seen, ended, { holder, deliveries: (t) => hooks.deliveriesOf(name, t) })
        hooks.kick()
        m.jobDuration.observe({ job: name, outcome: "ok" }, seconds)
        m.runs.inc({ job: name, outcome: "ok" })
        m.lastSuccess.set({ job: name }, ended.getTime() / 1000)
        states.set(name, { ...(states.get(name) as JobState), lastEnd: ended.toISOString(), lastSuccess: ended.toISOString(), lastOutcome: "ok", lastSummary: outcome.summary })
        log("info", "job.finished", { job: name, ms: ended.getTime() - started.getTime(), summary: outcome.summary, runs: outcome.runIds, findings: outcome.seen.length })
        for (const t of transitions) {
          m.transitions.inc({ to: t.to })
          log(t.to === "resolved" ? "info" : "warn", "finding.changed", { job: name, fingerprint: t.fingerprint, from: t.from ?? null, to: t.to, rule: t.finding.rule, asset: t.finding.asset, severity: t.finding.severity })
          options.onTransition?.(t)
        }
      } catch (e) {
        if (closed) return
        const ended = new Date()
        m.jobDuration.observe({ job: name, outcome: "error" }, (ended.getTime() - started.getTime()) / 1000)
        m.runs.inc({ job: name, outcome: "error" })
        states.set(name, { ...(states.get(name) as JobState), lastEnd: ended.toISOString(), lastOutcome: "error", lastSummary: message(e) })
        log("error", "job.failed", { job: name, error: message(e) })
      } finally {
        clearInterval(renew)
        // Kept for the rest of this tick's slot (so another watcher does not run the same tick
        // again), given back at once when stopping.
        const next = schedules.get(name)?.next()?.getTime()
        const keepMs = stopping || next === undefined ? 0 : next - Date.now() - Math.min(1000, Math.floor((next - started.getTime()) / 10))
        if (!closed) await store.release(name, holder, keepMs).catch((e: unknown) => log("warn", "job.lease-release", { job: name, error: message(e) }))
      }
    })()
      .catch((e: unknown) => {
        if (!closed) log("error", "job.failed", { job: name, error: message(e) })
      })
      .finally(() => running.delete(name))
    running.set(name, { controller, done })
  }

  const endpoint = await serve(settings.port ?? 9464, m.registry, () => ({
    ok: !stopping,
    body: { status: stopping ? "stopping" : "ok", jobs: Object.fromEntries([...states].map(([name, s]) => [name, { ...s, running: running.has(name) }])) },
  }), settings.listen)
  for (const j of jobs) schedules.set(j.spec.name, schedule(j.spec, () => tick(j)))
  log("info", "watch.started", { url: `http://${settings.listen === undefined || settings.listen === "0.0.0.0" ? "127.0.0.1" : settings.listen.includes(":") ? `[${settings.listen}]` : settings.listen}:${endpoint.port}`, store: store.name, holder, jobs: jobs.map((j) => j.spec.name), pid: process.pid })

  const write = (clean: boolean): WatchState => {
    const state: WatchState = { schema: stateSchema, stoppedAt: new Date().toISOString(), clean, jobs: Object.fromEntries(states), inventory: jobs.snapshots() }
    mkdirSync(stateDir, { recursive: true })
    writeFileSync(`${stateFile}.tmp`, `${JSON.stringify(state)}\n`, { mode: 0o600 })
    renameSync(`${stateFile}.tmp`, stateFile)
    return state
  }

  return {
    port: endpoint.port,
    store,
    stateFile,
    stop: async (deadlineMs) => {
      stopping = true
      for (const s of schedules.values()) s.stop()
      const all = () => Promise.all([...running.values()].map((r) => r.done))
      const within = (ms: number) => Promise.race([all().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())])
      let clean = running.size === 0 || (await within(Math.floor(deadlineMs * 0.6)))
      if (!clean) {
        log("warn", "watch.abandoning", { jobs: [...running.keys()], reason: "still running at 60% of the shutdown deadline: aborted, nothing recorded" })
        for (const r of running.values()) r.controller.abort(new Error("shutdown deadline"))
        clean = (await within(Math.floor(deadlineMs * 0.2))) && false
      }
      const started = Date.now()
      if (!(await Promise.race([hooks.idle().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), Math.max(0, Math.floor(deadlineMs * 0.15))).unref())])))
        log("warn", "webhook.abandoned", { reason: "deliveries still pending at the shutdown deadline: they stay in the outbox and are sent after the next start", waitedMs: Date.now() - started })
      await hooks.stop()
      await endpoint.close()
      const state = write(clean)
      closed = true
      await opened.close()
      log("info", "watch.stopped", { clean, state: stateFile })
      return state
    },
  }
}

/** The shutdown deadline of the config (default 10 seconds). */
export const shutdownMs = (config: Config): number => (config.watch?.shutdownTimeout === undefined ? 10_000 : millisOf(config.watch.shutdownTimeout))
