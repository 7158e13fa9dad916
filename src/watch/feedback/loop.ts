/**
 * The loop as a record: for each finding with a regression experiment, when it was found in
 * production (the store), which files `shiftup feedback` wrote (the store's links), and what the
 * runs of those files showed (their journals, which carry the finding's fingerprint as a tag):
 * reproduced (the first failed run) and fixed (a passed run after the last failed one).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { FeedbackLink, FindingStore } from "../store/Store.ts"
import { taggedFindings } from "./render.ts"

export interface LoopRun {
  readonly runId: string
  readonly status: string
  readonly at: string
  /** The environment its targets ran in (the most protected one of its plan). */
  readonly environment?: string
}

export interface Loop {
  readonly experiments: ReadonlyArray<FeedbackLink>
  readonly reproduced?: LoopRun
  readonly fixed?: LoopRun
  readonly runs: ReadonlyArray<LoopRun>
}

interface JournalHead {
  readonly runId?: string
  readonly status?: string
  readonly startedAt?: string
  readonly dryRun?: boolean
  readonly experiment?: { readonly tags?: ReadonlyArray<string> }
  readonly plan?: { readonly targets?: ReadonlyArray<{ readonly effective?: string }> }
}

const order = ["production", "staging", "development", "lab"]

/** The runs of regression experiments in `journalsDir`, by the fingerprint they carry. */
const runsByFinding = (journalsDir: string): ReadonlyMap<string, ReadonlyArray<LoopRun>> => {
  const out = new Map<string, Array<LoopRun>>()
  if (!existsSync(journalsDir)) return out
  for (const name of readdirSync(journalsDir)) {
    if (!name.endsWith(".json")) continue
    let j: JournalHead
    try {
      j = JSON.parse(readFileSync(join(journalsDir, name), "utf8")) as JournalHead
    } catch {
      continue // not a journal (or one being written): it links nothing
    }
    const fps = taggedFindings(j.experiment?.tags ?? [])
    if (fps.length === 0 || j.dryRun === true || j.runId === undefined || j.status === undefined || j.startedAt === undefined) continue
    const envs = (j.plan?.targets ?? []).map((t) => t.effective).filter((e): e is string => e !== undefined)
    const environment = order.find((e) => envs.includes(e))
    const run: LoopRun = { runId: j.runId, status: j.status, at: j.startedAt, ...(environment === undefined ? {} : { environment }) }
    for (const fp of fps) out.set(fp, [...(out.get(fp) ?? []), run])
  }
  return out
}

/** The loop of every finding that has a regression experiment. */
export const loops = async (store: FindingStore, journalsDir: string): Promise<ReadonlyMap<string, Loop>> => {
  const links = new Map<string, Array<FeedbackLink>>()
  for (const l of await store.links()) links.set(l.fingerprint, [...(links.get(l.fingerprint) ?? []), l])
  if (links.size === 0) return new Map()
  const runs = runsByFinding(journalsDir)
  return new Map(
    [...links].map(([fp, experiments]) => {
      const own = [...(runs.get(fp) ?? [])].sort((a, b) => a.at.localeCompare(b.at))
      const reproduced = own.find((r) => r.status === "failed")
      const lastFailed = own.findLastIndex((r) => r.status === "failed")
      const fixed = lastFailed === -1 ? undefined : own.slice(lastFailed + 1).find((r) => r.status === "passed")
      return [fp, { experiments, runs: own, ...(reproduced === undefined ? {} : { reproduced }), ...(fixed === undefined ? {} : { fixed }) }]
    }),
  )
}

/** One line: "found in production on …; regression …; reproduced in staging on … (run …); fixed on … (run …)". */
export const describeLoop = (firstSeen: string, loop: Loop): string =>
  [
    `found in production on ${firstSeen}`,
    `regression ${loop.experiments.map((e) => e.experiment).join(", ")}`,
    loop.reproduced === undefined ? "not reproduced yet" : `reproduced in ${loop.reproduced.environment ?? "a run"} on ${loop.reproduced.at} (run ${loop.reproduced.runId})`,
    ...(loop.fixed === undefined ? [] : [`fixed on ${loop.fixed.at} (run ${loop.fixed.runId})`]),
  ].join("; ")
