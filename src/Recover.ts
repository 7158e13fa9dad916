/**
 * `shiftup recover`: replays every compensation still pending in the ledgers, newest first,
 * through the same compensators the runner uses, and appends what it restored. Idempotent: a
 * second recover finds nothing pending. A ledger whose runner is still alive is left alone.
 */
import { Cause, Effect, Exit } from "effect"
import * as Compensation from "./Compensation.ts"
import { defaultEgress, makeEgress } from "./internal/egress.ts"
import * as Ledger from "./Ledger.ts"
import { correlationHeaders, RunContext, unpaced } from "./RunContext.ts"
import { describeUnknown } from "./ShiftupError.ts"

export interface RecoverOptions {
  /** Ledger files; default every ledger under `<stateDir>/ledger`. */
  readonly ledgers?: ReadonlyArray<string>
  readonly stateDir?: string
  readonly compensators?: Compensation.Compensators
  /** Also recover runs whose process is still alive. */
  readonly force?: boolean
  readonly timeoutMs?: number
  /** Who replays, as recorded in the ledger; default `recover`. */
  readonly by?: "recover" | "watchdog"
  /** Only ledgers whose runner had this pid (the dead-man switch's own runner). */
  readonly pid?: number
}

export interface RecoveredItem {
  readonly ledger: string
  readonly runId: string
  readonly fault: string
  readonly target: string
  readonly compensation: string
  readonly outcome: "restored" | "failed"
  readonly error?: string
}

export interface RecoverReport {
  readonly items: ReadonlyArray<RecoveredItem>
  /** Ledgers left alone because their runner is alive (pid). */
  readonly skipped: ReadonlyArray<{ readonly ledger: string; readonly runId: string; readonly pid: number }>
  readonly unreadable: ReadonlyArray<{ readonly ledger: string; readonly error: string }>
}

const runContext = (runId: string, egress: ReadonlyArray<string> | undefined): RunContext => ({
  runId,
  headers: correlationHeaders(runId),
  egress: makeEgress(egress ?? defaultEgress),
  ...unpaced,
})

export const recover = (options: RecoverOptions = {}): Effect.Effect<RecoverReport> =>
  Effect.gen(function* () {
    const compensators = { ...Compensation.builtins, ...options.compensators }
    const by = options.by ?? "recover"
    const ledgers = options.ledgers ?? Ledger.list(options.stateDir ?? ".shiftup")
    const items: Array<RecoveredItem> = []
    const skipped: Array<RecoverReport["skipped"][number]> = []
    const unreadable: Array<RecoverReport["unreadable"][number]> = []
    for (const path of ledgers) {
      let records: ReadonlyArray<Ledger.Record>
      try {
        records = Ledger.read(path)
      } catch (e) {
        unreadable.push({ ledger: path, error: describeUnknown(e) })
        continue
      }
      const todo = Ledger.pending(records)
      if (todo.length === 0) continue
      const owner = Ledger.owner(records)
      if (options.pid !== undefined && owner?.pid !== options.pid) continue
      if (owner?.alive === true && options.force !== true) {
        skipped.push({ ledger: path, runId: owner.runId, pid: owner.pid })
        continue
      }
      for (const item of todo) {
        const exit = yield* Compensation.apply(compensators, item.compensation).pipe(
          Effect.timeoutOption(options.timeoutMs ?? 30_000),
          // The compensation may reach what its run was allowed to, and carries its run id.
          Effect.provideService(RunContext, runContext(owner?.runId ?? "recover", owner?.egress)),
          Effect.exit,
        )
        const error = Exit.isFailure(exit) ? describeUnknown(Cause.squash(exit.cause)) : exit.value._tag === "None" ? "timed out" : undefined
        const at = Ledger.stamp()
        yield* Effect.ignore(Ledger.appendRecord(path, error === undefined ? { type: "rolled-back", seq: item.seq, by, at } : { type: "rollback-failed", seq: item.seq, by, error, at }))
        items.push({
          ledger: path,
          runId: owner?.runId ?? "?",
          fault: item.fault,
          target: item.target,
          compensation: item.compensation.description,
          outcome: error === undefined ? "restored" : "failed",
          ...(error === undefined ? {} : { error }),
        })
      }
    }
    return { items, skipped, unreadable }
  })
