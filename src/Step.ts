/**
 * Steps of a declarative method: inject a fault, observe a probe (recorded), check an assertion,
 * or wait. Faults stay active until the rollback phase, which undoes them in reverse order.
 */
import { Duration } from "effect"
import type { Check } from "./Expect.ts"
import type { Fault } from "./Fault.ts"
import type { Probe } from "./Probe.ts"

export interface Wait {
  readonly _tag: "Wait"
  readonly id: string
  readonly ms: number
}

/** Holds the current faults in place for a while. */
export const wait = (duration: Duration.Input, id?: string): Wait => {
  const ms = Duration.toMillis(duration)
  return { _tag: "Wait", id: id ?? `wait ${Duration.format(Duration.fromInputUnsafe(duration))}`, ms }
}

export type Step = Fault | Check<any> | Probe<any> | Wait

/** The target a step touches, if any. */
export const targetOf = (step: Step) => (step._tag === "Wait" ? undefined : step._tag === "Check" ? step.probe.target : step.target)

/** The safety class of a step. */
export const safetyOf = (step: Step) => (step._tag === "Fault" ? step.safety : "observe")
