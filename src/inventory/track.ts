/**
 * The inventory as a loop a long-running process calls (the future continuous mode, or your own
 * scheduler): `track(previous)` takes the next snapshot incrementally from the previous one and
 * returns it with the drift since; `fromConfig` turns the config's `inventory` section into the
 * options of both. No CLI, no files: values in, values out.
 */
import { Effect } from "effect"
import type { Config } from "../Config.ts"
import type { ShiftupError } from "../ShiftupError.ts"
import { diff, type DiffOptions, type Drift } from "./diff/diff.ts"
import type { Snapshot } from "./snapshot/model.ts"
import { snapshot, type SnapshotOptions } from "./snapshot/take.ts"

/** The snapshot and diff options a config's `inventory` section (and its policy, budget and exceptions) means. */
export const fromConfig = (config: Config): { readonly snapshot: SnapshotOptions; readonly diff: DiffOptions } => {
  const s = config.inventory ?? {}
  const endpoints = s.endpoints ?? []
  return {
    snapshot: {
      ...(s.docker === undefined ? {} : { docker: s.docker }),
      ...(endpoints.length === 0
        ? {}
        : { endpoints: { endpoints, ...(s.ports === undefined ? {} : { ports: s.ports }), ...(s.concurrency === undefined ? {} : { concurrency: s.concurrency }), ...(s.timeoutMs === undefined ? {} : { timeoutMs: s.timeoutMs }) } }),
      ...(s.concurrency === undefined ? {} : { concurrency: s.concurrency }),
      ...(s.observeProduction === undefined ? {} : { observeProduction: s.observeProduction }),
      ...(s.egress === undefined ? {} : { egress: s.egress }),
      ...(s.ownerLabels === undefined ? {} : { ownerLabels: s.ownerLabels }),
      ...(config.policy === undefined ? {} : { policy: config.policy }),
      ...(config.budget === undefined ? {} : { budget: config.budget }),
      ...(config.exceptions === undefined ? {} : { exceptions: config.exceptions }),
    },
    diff: {
      ...(s.certificateWindowDays === undefined ? {} : { certificateWindowDays: s.certificateWindowDays }),
      ...(s.imageMaxAgeDays === undefined ? {} : { imageMaxAgeDays: s.imageMaxAgeDays }),
      ...(s.restartMaxAgeDays === undefined ? {} : { restartMaxAgeDays: s.restartMaxAgeDays }),
      ...(s.rules === undefined ? {} : { rules: s.rules }),
    },
  }
}

export interface Tracked {
  readonly snapshot: Snapshot
  /** Drift since `previous`; `undefined` for the first snapshot. */
  readonly drift: Drift | undefined
}

/**
 * The next snapshot (incremental from `previous`) and the drift since it.
 *
 * @example
 * let last: Inventory.Snapshot | undefined
 * for (;;) {
 *   const { snapshot, drift } = await Inventory.trackPromise(last, { docker: true }, { rules })
 *   if (drift !== undefined && drift.violations.length > 0) alert(drift.violations)
 *   last = snapshot
 * }
 */
export const track = (previous: Snapshot | undefined, options: SnapshotOptions, diffOptions: DiffOptions = {}): Effect.Effect<Tracked, ShiftupError> =>
  Effect.map(snapshot({ ...options, ...(previous === undefined ? {} : { previous }) }), (next) => ({ snapshot: next, drift: previous === undefined ? undefined : diff(previous, next, diffOptions) }))

/** `track` for callers without Effect. */
export const trackPromise = (previous: Snapshot | undefined, options: SnapshotOptions, diffOptions: DiffOptions = {}): Promise<Tracked> => Effect.runPromise(track(previous, options, diffOptions))

/** `snapshot` for callers without Effect. */
export const take = (options: SnapshotOptions): Promise<Snapshot> => Effect.runPromise(snapshot(options))
