/**
 * Steps of a declarative method: inject a fault, observe a probe (recorded), check an assertion,
 * or wait. Faults stay active until the rollback phase, which undoes them in reverse order.
 */
import { type Duration, Schema } from "effect"
import type { Check } from "./Expect.ts"
import type { Fault } from "./Fault.ts"
import { decodeAll, durationOption, millisOf, showDuration } from "./internal/validate.ts"
import type { Probe } from "./Probe.ts"
import type { Issue } from "./ShiftupError.ts"

export interface Wait {
  readonly _tag: "Wait"
  readonly id: string
  readonly ms: number
  /** What is wrong with its arguments (a negative or infinite duration…), reported by `Experiment.make`. */
  readonly issues: ReadonlyArray<Issue>
}

const WaitArguments = Schema.Struct({ duration: durationOption(0), id: Schema.optional(Schema.String) })

/**
 * Holds the current faults in place for a while (a finite duration; the budget's
 * `maxDuration` and `maxFaultTime` still bound it).
 *
 * @example
 * method: [authDown, Step.wait("5 seconds"), Expect.that(alerts, 1)]
 */
export const wait = (duration: Duration.Input, id?: string): Wait => {
  return { _tag: "Wait", id: id ?? `wait ${showDuration(duration)}`, ms: millisOf(duration), issues: decodeAll(WaitArguments, id === undefined ? { duration } : { duration, id }) }
}

export type Step = Fault | Check<any> | Probe<any> | Wait

/** The target a step touches, if any. */
export const targetOf = (step: Step) => (step._tag === "Wait" ? undefined : step._tag === "Check" ? step.probe.target : step.target)

/** The safety class of a step. */
export const safetyOf = (step: Step) => (step._tag === "Fault" ? step.safety : "observe")
