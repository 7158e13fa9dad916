/**
 * When each job ticks: a fixed interval (the first tick at start) or a cron expression (croner,
 * 5 or 6 fields), each tick delayed by a random jitter up to the job's. Overlap is the caller's
 * concern (`watch.ts` skips a tick while the job still runs).
 */
import { Cron } from "croner"
import { millisOf } from "../internal/validate.ts"
import type { WatchJob } from "./settings.ts"

export interface Schedule {
  readonly stop: () => void
  /** When the next tick is due, as far as it is known (a jittered tick may come a little later). */
  readonly next: () => Date | undefined
}

/** Why a job's cron expression is unusable, or `undefined`. */
export const cronProblem = (expression: string): string | undefined => {
  try {
    new Cron(expression, { paused: true, mode: "5-or-6-parts" }).stop()
    return undefined
  } catch (e) {
    return `cron expression ${JSON.stringify(expression)}: ${(e as Error).message}`
  }
}

export const schedule = (job: WatchJob, tick: () => void, random: () => number = Math.random): Schedule => {
  const jitterMs = job.jitter === undefined ? 0 : millisOf(job.jitter)
  const pending = new Set<NodeJS.Timeout>()
  let stopped = false
  const fire = () => {
    if (stopped) return
    if (jitterMs === 0) return tick()
    const t = setTimeout(() => {
      pending.delete(t)
      if (!stopped) tick()
    }, Math.floor(random() * jitterMs))
    pending.add(t)
  }
  const stopAll = (own: () => void) => () => {
    stopped = true
    own()
    for (const t of pending) clearTimeout(t)
    pending.clear()
  }
  if (job.cron !== undefined) {
    const cron = new Cron(job.cron, { mode: "5-or-6-parts", name: `shiftup-watch-${job.name}` }, fire)
    return { stop: stopAll(() => cron.stop()), next: () => cron.nextRun() ?? undefined }
  }
  const every = millisOf(job.every)
  let due = Date.now()
  const interval = setInterval(() => {
    due = Date.now() + every
    fire()
  }, every)
  setImmediate(fire)
  due = Date.now() + every
  return { stop: stopAll(() => clearInterval(interval)), next: () => new Date(due) }
}
