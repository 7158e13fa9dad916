/**
 * The config's watch jobs made runnable, after the checks that refuse a job before anything
 * starts: every experiment a job runs must be observe-only (every method step observe-class;
 * hypothesis and recovery are checks, observe by construction), and written as a step list — a
 * generator method's steps are only known while it runs, so it cannot be proven observe-only.
 * And each experiment's plan must be accepted: the safety floor (production: observe only with
 * the experiment's opt-in; production data stores refused even for observation) refuses a job
 * at start rather than at every tick — and still applies to each run as everywhere. Jobs that
 * read the config's inventory have its endpoints planned at start the same way; misconfiguration
 * and vulnerability jobs (facts.ts) have their profile, rules, files and OSV data checked too.
 * Every job's runs and scans draw from the watcher's probe budget when it has one.
 */
import { Effect } from "effect"
import type { Config } from "../Config.ts"
import { stepsOf, type Experiment } from "../Experiment.ts"
import type { Package } from "../inventory/Package.ts"
import type { Snapshot } from "../inventory/snapshot/model.ts"
import { rules } from "../misconfig/evaluate.ts"
import { resolveProfile } from "../misconfig/profiles.ts"
import { fail, InvalidConfig, type Issue } from "../ShiftupError.ts"
import { safetyOf } from "../Step.ts"
import type { ProbeBudget } from "../RunContext.ts"
import { osvIssues, runMisconfig, runVulns, sourceIssues } from "./facts.ts"
import { fromDrift, fromJournal } from "./observations.ts"
import type { WatchJob } from "./settings.ts"
import type { Observation } from "./store/Store.ts"

export interface Outcome {
  /** What the scan saw; `undefined` when it was not a complete scan (nothing is recorded). */
  readonly seen: ReadonlyArray<Observation> | undefined
  /** One line for the log. */
  readonly summary: string
  readonly runIds: ReadonlyArray<string>
}

export interface RunnableJob {
  readonly spec: WatchJob
  readonly run: (signal: AbortSignal) => Promise<Outcome>
}

/** Why an experiment cannot be a watch job, or `undefined` when it is observe-only. */
export const notObserveOnly = (e: Experiment): string | undefined => {
  if (e.body._tag !== "Steps") return `experiment "${e.id}" is a generator (Experiment.gen): its steps are known only while it runs, so it cannot be proven observe-only; write it with Experiment.make`
  const active = stepsOf(e).filter((s) => safetyOf(s) !== "observe")
  return active.length === 0 ? undefined : `experiment "${e.id}" has ${active.map((s) => `${safetyOf(s)} step "${s.id}"`).join(", ")}: a watch job runs observe-only experiments; remove the faults or run it with \`shiftup run\` outside production`
}

export interface PrepareOptions {
  readonly config: Config
  readonly stateDir: string
  readonly load: (file: string) => Promise<ReadonlyArray<Experiment>>
  /** Inventory snapshots carried over from the last run (by job), so drift resumes after a restart. */
  readonly previous?: Readonly<Record<string, Snapshot>>
  /** The watcher's probe budget, shared by every job's runs and scans. */
  readonly probeBudget?: ProbeBudget
}

/** Loads and checks every job; refuses (InvalidConfig, every issue at once) before any starts. */
export const prepare = async (jobs: ReadonlyArray<WatchJob>, options: PrepareOptions): Promise<ReadonlyArray<RunnableJob> & { readonly snapshots: () => Readonly<Record<string, Snapshot>> }> => {
  const issues: Array<Issue> = []
  const out: Array<RunnableJob> = []
  const snapshots: Record<string, Snapshot> = { ...options.previous }
  for (const [i, spec] of jobs.entries()) {
    const where = `watch.jobs[${i}] (${spec.name})`
    if ("experiment" in spec) {
      const experiments = await options.load(spec.experiment)
      const refused = experiments.map(notObserveOnly).filter((r) => r !== undefined)
      if (refused.length > 0) {
        issues.push(...refused.map((message) => ({ path: where, message })))
        continue
      }
      // The plan of each (a dry run: targets resolved and classified, every step decided): a
      // job the floor refuses — a production target without the opt-in, a production data
      // store — is refused now, not at every tick.
      const { run } = await import("../internal/runner.ts")
      for (const experiment of experiments) {
        const plan = await Effect.runPromise(run(experiment, { config: options.config, stateDir: options.stateDir, dryRun: true, journal: false }))
        if (plan.status === "refused" || plan.status === "invalid")
          issues.push({ path: where, message: `experiment "${experiment.id}" is ${plan.status} by its plan: ${plan.refusal === undefined ? plan.summary : `${plan.refusal.rule} on "${plan.refusal.target}": ${plan.refusal.reason}`}` })
      }
      out.push({ spec, run: (signal) => runExperiments(experiments, options, signal) })
    } else if ("inventory" in spec) {
      issues.push(...(await sourceIssues("inventory", options, where)))
      out.push({
        spec,
        run: async () => {
          const { fromConfig, track } = await import("../inventory/track.ts")
          const settings = fromConfig(options.config)
          const tracked = await Effect.runPromise(track(snapshots[spec.name], { ...settings.snapshot, ...(options.probeBudget === undefined ? {} : { probeBudget: options.probeBudget }) }, settings.diff))
          snapshots[spec.name] = tracked.snapshot
          const seen = tracked.drift === undefined ? [] : fromDrift(tracked.drift)
          return { seen, summary: `${tracked.snapshot.assets.length} asset(s)${tracked.drift === undefined ? ", first snapshot" : `, ${tracked.drift.changes.length} change(s), ${seen.length} finding(s)`}`, runIds: [] }
        },
      })
    } else if ("misconfig" in spec) {
      const m = spec.misconfig
      issues.push(...(await sourceIssues(m.from, options, `${where}.misconfig.from`)), ...misconfigIssues(m, options.config, `${where}.misconfig`))
      out.push({ spec, run: async () => ({ ...(await runMisconfig(m, options)), runIds: [] }) })
    } else {
      const v = spec.vulns
      issues.push(...(await sourceIssues(v.from, options, `${where}.vulns.from`)), ...(await osvIssues(v.osv, `${where}.vulns.osv`)))
      // Packages of images already read, by image id: an image's files do not change.
      const cache = new Map<string, ReadonlyArray<Package>>()
      out.push({ spec, run: async () => ({ ...(await runVulns(v, options, cache)), runIds: [] }) })
    }
  }
  if (issues.length > 0) throw fail(new InvalidConfig({ source: options.config.module ?? "shiftup.config.ts", issues }))
  return Object.assign(out, { snapshots: () => ({ ...snapshots }) })
}

const runExperiments = async (experiments: ReadonlyArray<Experiment>, options: PrepareOptions, signal: AbortSignal): Promise<Outcome> => {
  const { run, newRunId } = await import("../internal/runner.ts")
  const seen: Array<Observation> = []
  const runIds: Array<string> = []
  const statuses: Array<string> = []
  let complete = true
  for (const experiment of experiments) {
    const runId = newRunId()
    runIds.push(runId)
    const journal = await Effect.runPromise(run(experiment, { runId, config: options.config, stateDir: options.stateDir, signal, ...(options.probeBudget === undefined ? {} : { probeBudget: options.probeBudget }) }))
    statuses.push(`${experiment.id} ${journal.status}`)
    const found = fromJournal(journal)
    if (found === undefined) complete = false
    else seen.push(...found)
  }
  return { seen: complete ? seen : undefined, summary: statuses.join(", "), runIds }
}

/** A profile that does not resolve, a rule that does not exist. */
const misconfigIssues = (m: { readonly profile?: string; readonly rules?: ReadonlyArray<string> }, config: Config, path: string): ReadonlyArray<Issue> => {
  const issues: Array<Issue> = []
  if (m.profile !== undefined)
    try {
      resolveProfile(m.profile, config.misconfig?.profiles ?? {})
    } catch (e) {
      issues.push({ path: `${path}.profile`, message: e instanceof InvalidConfig ? e.issues.map((x) => x.message).join("; ") : String(e) })
    }
  const unknown = (m.rules ?? []).filter((r) => !rules.some((x) => x.id === r))
  if (unknown.length > 0) issues.push({ path: `${path}.rules`, message: `no misconfiguration rule ${unknown.map((r) => JSON.stringify(r)).join(", ")}; the rules are ${rules.map((x) => x.id).join(", ")}` })
  return issues
}
