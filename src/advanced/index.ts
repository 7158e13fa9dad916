/**
 * `shiftup/advanced`: the machinery under a run, for tools built on shiftup rather than for
 * experiments — the ledger and its recovery, the policy's decisions and the classification they
 * read, the effective budget, the run's context for adapters written in Effect, and the reasons
 * of the error family that only the CLI, the ledger, recovery and game days report.
 *
 * @example
 * import { Ledger, Recover } from "shiftup/advanced"
 * const pending = Ledger.pending(Ledger.read(path))
 */
import "../../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails
export type { Classification, Signal } from "../internal/classify.ts"
export * as Budget from "../Budget.ts"
export * as Ledger from "../Ledger.ts"
export * as Policy from "../Policy.ts"
export * as Recover from "../Recover.ts"
export { probeBudget, RunContext, type ProbeBudget, type ProbeBudgetOptions } from "../RunContext.ts"
export { ApprovalDeclined, ControlDirRefused, EngineUnavailable, InvalidArguments, InvalidCompensation, LedgerError, LoadFailed, UnknownCompensation, type Issue } from "../ShiftupError.ts"
export * as JournalSink from "../run/JournalSink.ts"
export * as LedgerStore from "../run/LedgerStore.ts"
export * as RunEvents from "../run/RunEvents.ts"
