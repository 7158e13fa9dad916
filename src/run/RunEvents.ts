/**
 * The live events of a run (planned, phases, steps, faults active, rollbacks, aborting,
 * finished), as a service: a reporter, a game-day console or a test subscribes by providing
 * one. A `Context.Reference`: by default nobody listens. A run's `onEvent` option hears the same
 * events; a listener that throws never breaks a run or its rollback.
 */
import { Context, Layer } from "effect"
import type { RunEvent } from "../internal/record.ts"

export type { RunEvent }

export interface RunEvents {
  readonly emit: (event: RunEvent) => void
}

export const none: RunEvents = { emit: () => {} }

export const RunEvents = Context.Reference<RunEvents>("shiftup/RunEvents", { defaultValue: () => none })

/** A layer that sends every run's events to `listener`. */
export const layer = (listener: (event: RunEvent) => void): Layer.Layer<never> => Layer.succeed(RunEvents, { emit: listener })
