/**
 * The run's record as it grows: steps, findings, rollbacks and errors, with the live events a
 * reporter sees. The runner, the checks and the faults all write through one `Recorder`.
 */
import { Clock, Effect, type Exit } from "effect"
import type { Experiment } from "../Experiment.ts"
import type * as Journal from "../Journal.ts"
import type { ShiftupError } from "../ShiftupError.ts"

export type RunEvent =
  | { readonly _tag: "Planned"; readonly runId: string; readonly experiment: Experiment; readonly plan: Journal.Plan }
  | { readonly _tag: "Phase"; readonly phase: Journal.Phase | "rollback" }
  | { readonly _tag: "StepStarted"; readonly id: string; readonly phase: Journal.Phase; readonly kind: Journal.StepRecord["kind"] }
  | { readonly _tag: "StepEnded"; readonly record: Journal.StepRecord }
  | { readonly _tag: "FaultActive"; readonly seq: number; readonly fault: string; readonly target: string }
  | { readonly _tag: "RolledBack"; readonly record: Journal.RollbackRecord }
  | { readonly _tag: "Aborting"; readonly cause: string; readonly detail: string }
  | { readonly _tag: "Finished"; readonly journal: Journal.Journal; readonly path?: string }

let lastMs = Number.NaN
let lastIso = ""
/** ISO time of an epoch millisecond; cached, as steps of one run mostly share their millisecond. */
export const iso = (ms: number): string => {
  if (ms !== lastMs) {
    lastMs = ms
    lastIso = new Date(ms).toISOString()
  }
  return lastIso
}

export class Recorder {
  readonly steps: Array<Journal.StepRecord> = []
  readonly findings: Array<Journal.Finding> = []
  readonly rollbacks: Array<Journal.RollbackRecord> = []
  readonly errors: Array<Journal.ErrorRecord> = []

  private readonly listeners: ReadonlyArray<(event: RunEvent) => void>

  constructor(...listeners: ReadonlyArray<((event: RunEvent) => void) | undefined>) {
    this.listeners = listeners.filter((l) => l !== undefined)
  }

  emit(event: RunEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch {
        // A reporter must never break a run (or its rollback).
      }
    }
  }

  step(record: Journal.StepRecord): void {
    this.steps.push(record)
    this.emit({ _tag: "StepEnded", record })
  }

  rollback(record: Journal.RollbackRecord): void {
    this.rollbacks.push(record)
    this.emit({ _tag: "RolledBack", record })
  }

  error(e: ShiftupError): void {
    this.errors.push({ tag: e._tag, message: e.message })
  }

  /** Runs `body` as a step: announces it, and returns its exit with start and end times (Effect's clock). */
  timed<A>(id: string, phase: Journal.Phase, kind: Journal.StepRecord["kind"], body: Effect.Effect<A, ShiftupError>): Effect.Effect<{ readonly exit: Exit.Exit<A, ShiftupError>; readonly t0: number; readonly t1: number }> {
    return Effect.suspend(() => {
      this.emit({ _tag: "StepStarted", id, phase, kind })
      return Effect.flatMap(Clock.currentTimeMillis, (t0) => Effect.flatMap(Effect.exit(body), (exit) => Effect.map(Clock.currentTimeMillis, (t1) => ({ exit, t0, t1 }))))
    })
  }
}
