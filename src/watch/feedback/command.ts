/**
 * `shiftup feedback` and `shiftup promote`, the two directions of the loop. Feedback: a finding
 * of the store becomes a regression experiment file (and a vitest file) that reproduces it with
 * the same check against the mapped non-production target; the store links the two. Promote: an
 * experiment proven observe-only — the watch's own check, then the plan the watch makes at start
 * — becomes a job of the watch's jobs file; any other step refuses it (exit 2), untouched.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import type { CliIo } from "../../cli/main.ts"
import { loadConfig, loadFile } from "../../cli/load.ts"
import type { Config } from "../../Config.ts"
import { isCheck, type Check } from "../../Expect.ts"
import { stepsOf } from "../../Experiment.ts"
import { fail, InvalidArguments, isShiftupError } from "../../ShiftupError.ts"
import { addJob, allJobs, jobsFileOf } from "../jobs-file.ts"
import { notObserveOnly, prepare } from "../jobs.ts"
import type { WatchJob } from "../settings.ts"
import { openConfiguredStore } from "../store/open.ts"
import type { FindingStore, StoredFinding } from "../store/Store.ts"
import { describeSide, mapTarget, sideOfAsset, sideOfTarget, type Mapped, type ProductionTarget } from "./mapping.ts"
import { recipeOf, type Recipe } from "./recipe.ts"
import { regressionId, renderExperiment, renderTest } from "./render.ts"


const units: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `24h`, `30m`, `7d`, `90s` → milliseconds; undefined for anything else. */
export const shortDuration = (text: string): number | undefined => {
  const m = /^(\d+)\s*([smhd])$/.exec(text.trim())
  return m === null ? undefined : Number(m[1]) * (units[m[2] as string] as number)
}

/** `--new-since`: an ISO date or time, or a duration back from `now` (`24h`). */
export const sinceOf = (text: string, now: Date): Date => {
  const back = shortDuration(text)
  if (back !== undefined) return new Date(now.getTime() - back)
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN
  if (Number.isNaN(at)) throw fail(new InvalidArguments({ detail: `--new-since takes an ISO date or time (2026-12-01, 2026-12-01T08:00:00Z) or a duration back from now (24h, 30m, 7d), not ${JSON.stringify(text)}` }))
  return new Date(at)
}

export interface FeedbackArgs {
  readonly rest: ReadonlyArray<string>
  readonly config: string | undefined
  readonly stateDir: string | undefined
  readonly newSince: string | undefined
  readonly out: string | undefined
  readonly vitest: boolean
  readonly force: boolean
}

/** The findings asked for: one by fingerprint (or a unique prefix of an open one), or every open one first seen or regressed since. */
const select = async (store: FindingStore, args: FeedbackArgs, now: Date): Promise<ReadonlyArray<StoredFinding>> => {
  const [id, ...more] = args.rest
  if ((id === undefined) === (args.newSince === undefined) || more.length > 0)
    throw fail(new InvalidArguments({ detail: "`shiftup feedback` takes one finding (its fingerprint or a prefix of it, from `shiftup findings`) or --new-since <date|24h>" }))
  if (id !== undefined) {
    const exact = await store.get(id)
    if (exact !== undefined) return [exact]
    const found = (await store.open()).filter((f) => f.fingerprint.startsWith(id))
    if (found.length === 1) return found
    throw fail(
      new InvalidArguments({
        detail:
          found.length === 0
            ? `no open finding's fingerprint starts with ${JSON.stringify(id)}: \`shiftup findings\` lists them`
            : `${JSON.stringify(id)} is the start of ${found.length} fingerprints (${found.map((f) => f.fingerprint.slice(0, 12)).join(", ")}): give more of it`,
      }),
    )
  }
  const since = sinceOf(args.newSince as string, now).toISOString()
  return (await store.open()).filter((f) => f.firstSeen >= since || (f.state === "regressed" && f.openedAt >= since))
}

/** The finding's production target: as its job's experiment declares it, else as the stored asset names it. */
const productionTarget = async (f: StoredFinding, recipe: Recipe, jobs: ReadonlyArray<WatchJob>, io: CliIo): Promise<ProductionTarget> => {
  const job = jobs.find((j) => j.name === f.scope)
  if (job !== undefined && "experiment" in job && recipe.experimentId !== undefined) {
    const loaded = await loadFile(job.experiment, io.err)
    const experiment = loaded.experiments.find((e) => e.id === recipe.experimentId)
    const checks: ReadonlyArray<Check<unknown>> = experiment === undefined ? [] : [...experiment.hypothesis, ...stepsOf(experiment).filter(isCheck), ...experiment.recovery]
    const target = checks.find((c) => c.id === recipe.checkId)?.probe.target
    const side = target === undefined ? undefined : sideOfTarget(target)
    if (target !== undefined && side !== undefined) return { id: target.id, side }
  }
  return { id: f.asset, side: sideOfAsset(f.asset) }
}

interface Planned {
  readonly finding: StoredFinding
  /** Other findings the same file reproduces (linked to it too). */
  readonly also: Array<StoredFinding>
  readonly mapped: Mapped
  readonly recipe: Recipe
  readonly id: string
  readonly file: string
}

export const feedbackCommand = async (args: FeedbackArgs, io: CliIo): Promise<number> => {
  const config = await loadConfig(args.config)
  const now = new Date()
  const dir = args.out ?? config.feedback?.dir ?? "experiments"
  const store = await openConfiguredStore(config, args.stateDir)
  try {
    const findings = await select(store, args, now)
    if (findings.length === 0) {
      io.out(`no open finding first seen or regressed since ${sinceOf(args.newSince as string, now).toISOString()}\n`)
      return 0
    }
    const jobs = allJobs(config)
    // Everything is decided before anything is written: one unmapped target writes no file.
    const planned: Array<Planned> = []
    for (const finding of findings) {
      const recipe = recipeOf(finding)
      const production = await productionTarget(finding, recipe, jobs, io)
      const mapped = mapTarget(finding.fingerprint, production, config.feedback)
      const needs = recipe._tag === "Http" ? "Url" : "Container"
      if (mapped.to._tag !== needs)
        throw fail(
          new InvalidArguments({
            detail: `finding ${finding.fingerprint}: its check (${recipe.rule}) runs against ${needs === "Url" ? "an http(s) URL" : "a container selector"}, but feedback.map[${mapped.index}] maps ${production.id} to a ${mapped.to._tag === "Url" ? "URL" : mapped.to._tag === "Address" ? "host:port" : "container selector"}: map it to ${needs === "Url" ? "a URL" : "a container"}`,
          }),
        )
      const id = regressionId(recipe, production.id)
      const file = join(dir, `${id}.ts`)
      // Another finding of the same rule on the same asset (another phase, say): the same check, one file for both.
      const same = planned.find((p) => p.file === file)
      if (same !== undefined) {
        same.also.push(finding)
        continue
      }
      for (const f of args.vitest ? [file, join(dir, `${id}.test.ts`)] : [file])
        if (existsSync(f) && !args.force) throw fail(new InvalidArguments({ detail: `${f} exists: \`shiftup feedback\` never overwrites a file without --force (it may have been edited since)` }))
      planned.push({ finding, also: [], recipe, mapped, id, file })
    }
    mkdirSync(dir, { recursive: true })
    for (const p of planned) {
      writeFileSync(p.file, renderExperiment({ finding: p.finding, also: p.also, recipe: p.recipe, mapped: p.mapped, id: p.id }))
      if (args.vitest) writeFileSync(join(dir, `${p.id}.test.ts`), renderTest(`${p.id}.ts`, p.finding))
      const linked = relative(process.cwd(), resolve(p.file))
      for (const f of [p.finding, ...p.also]) await store.link(f.fingerprint, linked, now)
      io.out(
        `wrote ${p.file}${args.vitest ? ` and ${p.id}.test.ts` : ""}: "${p.id}" reproduces finding ${[p.finding, ...p.also].map((f) => f.fingerprint.slice(0, 12)).join(", ")} (${p.finding.rule} on ${p.finding.asset}) against ${describeSide(p.mapped.to)} in ${p.mapped.environment}\n`,
      )
    }
    return 0
  } finally {
    await store.close()
  }
}

export interface PromoteArgs {
  readonly rest: ReadonlyArray<string>
  readonly config: string | undefined
  readonly stateDir: string | undefined
  readonly every: string | undefined
  readonly cron: string | undefined
  readonly name: string | undefined
  readonly force: boolean
}

const jobName = (id: string) => id.toLowerCase().replace(/[^a-z0-9.-]+/g, "-").replace(/^[^a-z0-9]+/, "")

/** Exit 0 when promoted, 2 when refused (a step is not observe-class, or the plan is refused), 4 on bad input. */
export const promoteCommand = async (args: PromoteArgs, io: CliIo): Promise<number> => {
  const [file, ...more] = args.rest
  if (file === undefined || more.length > 0) throw fail(new InvalidArguments({ detail: "`shiftup promote` takes one experiment file" }))
  if ((args.every === undefined) === (args.cron === undefined)) throw fail(new InvalidArguments({ detail: "`shiftup promote` needs exactly one of --every <interval> (5m, 1h, \"30 seconds\") and --cron <expression>" }))
  const config = await loadConfig(args.config)
  const { experiments } = await loadFile(file, io.err)
  // The watch's own proof, before anything else: every step observe-class, no generator.
  const refused = experiments.map(notObserveOnly).filter((r) => r !== undefined)
  if (refused.length > 0) {
    io.err(`shiftup promote: refused: ${refused.join("; ")}\n`)
    return 2
  }
  const every = args.every === undefined ? undefined : (shortDuration(args.every) ?? args.every)
  const job = {
    name: args.name ?? jobName(experiments[0]?.id ?? "promoted"),
    experiment: relative(process.cwd(), resolve(file)),
    ...(every === undefined ? {} : { every }),
    ...(args.cron === undefined ? {} : { cron: args.cron }),
  } as WatchJob
  // Then the plan the watch makes at start (targets resolved and classified, every step decided),
  // under production's rules in every environment: observe only, no data store — the config's
  // own policy can only narrow that further. A production target without the opt-in is refused too.
  const allow = (env: "staging" | "development" | "lab") => (config.policy?.allow?.[env] ?? ["observe"]).filter((s) => s === "observe")
  const productionRules: Config = { ...config, policy: { ...config.policy, allow: { staging: allow("staging"), development: allow("development"), lab: allow("lab") }, denyDataStores: true } }
  try {
    await prepare([job], { config: productionRules, stateDir: args.stateDir ?? config.stateDir ?? ".shiftup", load: async () => experiments })
  } catch (e) {
    if (!isShiftupError(e) || e._tag !== "InvalidConfig") throw e
    io.err(`shiftup promote: refused: ${e.issues.map((i) => i.message).join("; ")}\n`)
    return 2
  }
  if (args.cron !== undefined) {
    const problem = (await import("../schedule.ts")).cronProblem(args.cron)
    if (problem !== undefined) throw fail(new InvalidArguments({ detail: `--cron: ${problem}` }))
  }
  if ((config.watch?.jobs ?? []).some((j) => j.name === job.name))
    throw fail(new InvalidArguments({ detail: `the config's watch.jobs already has a job "${job.name}": give the promoted one another --name` }))
  const jobsFile = jobsFileOf(config)
  const jobs = addJob(jobsFile, job, args.force)
  io.out(`promoted ${file} as watch job "${job.name}" (${args.every === undefined ? `cron ${args.cron}` : `every ${args.every}`}) in ${jobsFile}: ${jobs.length} job(s) there; \`shiftup watch\` runs it from its next start\n`)
  return 0
}
