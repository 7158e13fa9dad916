/**
 * The watch's jobs file, `shiftup.watch-jobs.json`: jobs added by `shiftup promote` rather than
 * written by hand. `shiftup.config.ts` is code, which a command cannot edit honestly; this file is
 * data, read by `shiftup watch` together with the config's `watch.jobs` and validated the same
 * way (every issue at once; a name in both is refused). Written atomically (temp file, rename).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import type { Config } from "../Config.ts"
import { decodeAll } from "../internal/validate.ts"
import { fail, InvalidConfig } from "../ShiftupError.ts"
import { JobSchema, type WatchJob } from "./settings.ts"
import { Schema } from "effect"

export const jobsFileSchema = "shiftup.watch-jobs/v1"

export interface JobsFile {
  readonly schema: typeof jobsFileSchema
  readonly jobs: ReadonlyArray<WatchJob>
}

const FileSchema = Schema.Struct({ schema: Schema.Literal(jobsFileSchema), jobs: Schema.Array(JobSchema) })

/** Where the jobs file is: `watch.jobsFile`, else `shiftup.watch-jobs.json` beside the config file, else in the working directory. */
export const jobsFileOf = (config: Config): string =>
  config.watch?.jobsFile ?? join(config.module === undefined ? "." : dirname(config.module), "shiftup.watch-jobs.json")

/** The jobs of the file (none when it does not exist); a malformed file is `InvalidConfig` naming it. */
export const readJobsFile = (file: string): ReadonlyArray<WatchJob> => {
  if (!existsSync(file)) return []
  let doc: unknown
  try {
    doc = JSON.parse(readFileSync(file, "utf8"))
  } catch (e) {
    throw fail(new InvalidConfig({ source: file, issues: [{ path: "", message: `not JSON: ${(e as Error).message}` }] }))
  }
  const issues = decodeAll(FileSchema, doc)
  if (issues.length > 0) throw fail(new InvalidConfig({ source: file, issues }))
  return (doc as JobsFile).jobs
}

/** The config's `watch.jobs` and the jobs file's, checked together: a name used twice is refused. */
export const allJobs = (config: Config): ReadonlyArray<WatchJob> => {
  const file = jobsFileOf(config)
  const own = config.watch?.jobs ?? []
  const added = readJobsFile(file)
  const names = new Set(own.map((j) => j.name))
  const twice = added.flatMap((j, i) => (names.has(j.name) ? [{ path: `jobs[${i}].name`, message: `"${j.name}" is also a job of the config's watch.jobs: rename one of them` }] : []))
  if (twice.length > 0) throw fail(new InvalidConfig({ source: file, issues: twice }))
  return [...own, ...added]
}

/** Adds (or with `replace`, replaces) a job in the file; returns the file's jobs after. */
export const addJob = (file: string, job: WatchJob, replace: boolean): ReadonlyArray<WatchJob> => {
  const jobs = readJobsFile(file)
  const at = jobs.findIndex((j) => j.name === job.name)
  if (at !== -1 && !replace)
    throw fail(new InvalidConfig({ source: file, issues: [{ path: `jobs[${at}].name`, message: `a job "${job.name}" is already there: give --name another name, or --force to replace it` }] }))
  const next = at === -1 ? [...jobs, job] : jobs.map((j, i) => (i === at ? job : j))
  const issues = decodeAll(FileSchema, { schema: jobsFileSchema, jobs: next })
  if (issues.length > 0) throw fail(new InvalidConfig({ source: file, issues }))
  writeFileSync(`${file}.tmp`, `${JSON.stringify({ schema: jobsFileSchema, jobs: next } satisfies JobsFile, null, 2)}\n`)
  renameSync(`${file}.tmp`, file)
  return next
}
