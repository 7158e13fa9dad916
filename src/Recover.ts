/**
 * `shiftup recover`: replays every compensation still pending in the ledgers, newest first, and
 * appends what it restored. Each ledger is recovered on its own — a damaged, forged or unreadable
 * one is reported (with its path, line and reason) and the others still run — under an exclusive
 * lock, so two recovers (or a recover and a watchdog) never replay the same undo twice. A
 * compensation's compensator is loaded from the module its intent names, decoded with its kind's
 * schema, and replayed until its kind's `verify` finds the world restored (Compensation.restore).
 * Idempotent: a second recover finds nothing pending. A ledger whose runner is alive is left alone.
 */
import { Cause, Effect, Exit } from "effect"
import { loadModule, moduleOfKind } from "./cli/adapters.ts"
import * as Compensation from "./Compensation.ts"
import { defaultEgress, makeEgress } from "./internal/egress.ts"
import { acquire, type Holder } from "./internal/lock.ts"
import * as Ledger from "./Ledger.ts"
import { correlationHeaders, makeStore, RunContext, unpaced } from "./RunContext.ts"
import { describeUnknown, isShiftupError } from "./ShiftupError.ts"

export interface RecoverOptions {
  /** Ledger files; default every ledger under `<stateDir>/ledger`. */
  readonly ledgers?: ReadonlyArray<string>
  readonly stateDir?: string
  /**
   * Compensators that take precedence over the module a ledger names, for kinds that are not built
   * in (an operator's repaired compensator, e.g. from `recover --config`). Built-in kinds always
   * replay through the built-ins.
   */
  readonly compensators?: Compensation.Compensators
  /** Loads the compensators of a module a ledger names; default: the built-ins, shiftup's adapters and module files. */
  readonly load?: (module: Ledger.ModuleRef) => Promise<Compensation.Compensators>
  /** Also recover runs whose process is still alive. */
  readonly force?: boolean
  /** Replay a corrupt ledger anyway, skipping its bad lines (reported in `forced`): `recover --force`. */
  readonly skipCorruptLines?: boolean
  /** Deadline of each compensation (settling, apply, verify, retries); default 30 seconds. */
  readonly timeoutMs?: number
  /** How long to wait for a ledger another recover holds; default `timeoutMs`. */
  readonly lockWaitMs?: number
  /** Who replays, as recorded in the ledger; default `recover`. */
  readonly by?: "recover" | "watchdog"
  /** Only ledgers whose runner had this pid (the dead-man switch's own runner). */
  readonly pid?: number
}

export interface RecoveredItem {
  readonly ledger: string
  readonly runId: string
  readonly seq: number
  readonly fault: string
  readonly target: string
  readonly compensation: string
  /** `incomplete`: replayed until the deadline, and the world still differs from what was captured. */
  readonly outcome: "restored" | "failed" | "incomplete"
  readonly error?: string
}

export interface RecoverReport {
  readonly items: ReadonlyArray<RecoveredItem>
  /** Ledgers left alone because their runner is alive (pid). */
  readonly skipped: ReadonlyArray<{ readonly ledger: string; readonly runId: string; readonly pid: number }>
  /** Ledgers another recover or watchdog held longer than this one could wait: not replayed here. */
  readonly locked: ReadonlyArray<{ readonly ledger: string; readonly by: Holder }>
  /** Ledgers another recover or watchdog held while this one waited (then replayed what was left, if anything). */
  readonly waited: ReadonlyArray<{ readonly ledger: string; readonly by: Holder }>
  /** Ledgers that could not be read, trusted or parsed: nothing of them was replayed. */
  readonly bad: ReadonlyArray<{ readonly ledger: string; readonly line?: number; readonly error: string }>
  /** Torn last lines (an append cut short by a crash or a full disk), skipped as never acted upon. */
  readonly torn: ReadonlyArray<{ readonly ledger: string; readonly line: number }>
  /** Corrupt lines skipped under `force`. */
  readonly forced: ReadonlyArray<{ readonly ledger: string; readonly line: number; readonly reason: string }>
  /** Outcomes that could not be appended to their ledger (it still lists them as pending). */
  readonly unrecorded: ReadonlyArray<{ readonly ledger: string; readonly seq: number; readonly error: string }>
}

/** Whether a report leaves anything pending or unknown (exit 5 for the CLI). */
export const incomplete = (r: RecoverReport): boolean =>
  r.items.some((i) => i.outcome !== "restored") || r.skipped.length > 0 || r.locked.length > 0 || r.bad.length > 0 || r.unrecorded.length > 0

const runContext = (runId: string, egress: ReadonlyArray<string> | undefined): RunContext => ({
  runId,
  headers: correlationHeaders(runId),
  egress: makeEgress(egress ?? defaultEgress),
  store: makeStore(),
  ...unpaced,
})

const lockOf = (ledger: string) => `${ledger}.lock`

export const recover = (options: RecoverOptions = {}): Effect.Effect<RecoverReport> =>
  Effect.gen(function* () {
    const by = options.by ?? "recover"
    const timeoutMs = options.timeoutMs ?? 30_000
    const load = options.load ?? loadModule
    const report = { items: [] as Array<RecoveredItem>, skipped: [] as Array<RecoverReport["skipped"][number]>, locked: [] as Array<RecoverReport["locked"][number]>, waited: [] as Array<RecoverReport["waited"][number]>, bad: [] as Array<RecoverReport["bad"][number]>, torn: [] as Array<RecoverReport["torn"][number]>, forced: [] as Array<RecoverReport["forced"][number]>, unrecorded: [] as Array<RecoverReport["unrecorded"][number]> }
    const badLedger = (ledger: string, e: unknown) => {
      const reason = isShiftupError(e) && e._tag === "LedgerError" ? e : undefined
      const message = describeUnknown(e)
      report.bad.push({ ledger, ...(reason?.line === undefined ? {} : { line: reason.line }), error: message.includes(ledger) ? message : `${ledger}: ${message}` })
    }
    const modules = new Map<string, Promise<Compensation.Compensators>>()
    const compensatorFor = (item: Ledger.Pending): Effect.Effect<Compensation.Compensator | undefined, unknown> => {
      const kind = item.compensation.kind
      const builtin = Compensation.builtins[kind]
      if (builtin !== undefined) return Effect.succeed(builtin)
      const override = options.compensators?.[kind]
      if (override !== undefined) return Effect.succeed(override)
      const ref = item.module ?? moduleOfKind(kind)
      if (ref === undefined) return Effect.succeed(undefined)
      return Effect.tryPromise({
        try: async () => {
          let loading = modules.get(ref)
          if (loading === undefined) modules.set(ref, (loading = load(ref)))
          return (await loading)[kind]
        },
        catch: (e) => e,
      })
    }

    /** Reads a ledger and says whether it has work for this recover (no lock held yet). */
    const survey = (path: string): "work" | "none" => {
      try {
        const distrust = Ledger.distrust(path)
        if (distrust !== undefined) {
          report.bad.push({ ledger: path, error: `ledger ${path}: not replayed: ${distrust}` })
          return "none"
        }
        const contents = Ledger.inspect(path, { force: options.skipCorruptLines === true })
        const owner = Ledger.owner(contents.records)
        if (options.pid !== undefined && owner?.pid !== options.pid) return "none"
        if (contents.torn !== undefined) report.torn.push({ ledger: path, line: contents.torn.line })
        for (const s of contents.skipped) report.forced.push({ ledger: path, ...s })
        if (Ledger.pending(contents.records).length === 0) return "none"
        if (owner?.alive === true && options.force !== true) {
          report.skipped.push({ ledger: path, runId: owner.runId, pid: owner.pid })
          return "none"
        }
        return "work"
      } catch (e) {
        badLedger(path, e)
        return "none"
      }
    }

    /** Replays what is pending in one ledger; the caller holds its lock. */
    const replay = (path: string) =>
      Effect.gen(function* () {
        // Read again under the lock: another recover may have replayed it meanwhile.
        const read = yield* Effect.exit(Effect.try({ try: () => Ledger.inspect(path, { force: options.skipCorruptLines === true }), catch: (e) => e }))
        if (Exit.isFailure(read)) return badLedger(path, Cause.squash(read.cause))
        const records = read.value.records
        const owner = Ledger.owner(records)
        for (const item of Ledger.pending(records)) {
          const inFlightSince = item.applied ? undefined : Number.isNaN(Date.parse(item.at)) ? Date.now() : Date.parse(item.at)
          const exit = yield* compensatorFor(item).pipe(
            Effect.flatMap((compensator) => Compensation.restore(compensator, item.compensation, { deadlineMs: timeoutMs, source: { path, seq: item.seq }, ...(inFlightSince === undefined ? {} : { inFlightSince }) })),
            // The compensation may reach what its run was allowed to, and carries its run id.
            Effect.provideService(RunContext, runContext(owner?.runId ?? "recover", owner?.egress)),
            Effect.exit,
          )
          const outcome: RecoveredItem["outcome"] = Exit.isFailure(exit) ? "failed" : exit.value._tag === "restored" ? "restored" : exit.value.differs ? "incomplete" : "failed"
          const error = Exit.isFailure(exit) ? describeUnknown(Cause.squash(exit.cause)) : exit.value._tag === "incomplete" ? exit.value.detail : undefined
          const at = Ledger.stamp()
          const appended = yield* Effect.exit(Ledger.appendRecord(path, error === undefined ? { type: "rolled-back", seq: item.seq, by, at } : { type: "rollback-failed", seq: item.seq, by, error, at }))
          if (Exit.isFailure(appended)) report.unrecorded.push({ ledger: path, seq: item.seq, error: describeUnknown(Cause.squash(appended.cause)) })
          report.items.push({
            ledger: path,
            runId: owner?.runId ?? "?",
            seq: item.seq,
            fault: item.fault,
            target: item.target,
            compensation: item.compensation.description,
            outcome,
            ...(error === undefined ? {} : { error }),
          })
        }
      })

    /** Takes the ledger's lock and replays it, or says who holds it. */
    const attempt = (path: string): Effect.Effect<Holder | undefined> =>
      Effect.gen(function* () {
        let lock: ReturnType<typeof acquire>
        try {
          lock = acquire(lockOf(path), by)
        } catch (e) {
          badLedger(path, new Error(`cannot take its lock ${lockOf(path)}: ${describeUnknown(e)}`))
          return undefined
        }
        if (lock._tag === "held") return lock.by
        const release = lock.release
        yield* Effect.ensuring(
          replay(path),
          Effect.sync(() => {
            try {
              release()
            } catch (e) {
              report.bad.push({ ledger: path, error: `cannot release its lock ${lockOf(path)}: ${describeUnknown(e)}; remove it once no recover runs` })
            }
          }),
        )
        return undefined
      })

    let ledgers: ReadonlyArray<string>
    try {
      ledgers = options.ledgers ?? Ledger.list(options.stateDir ?? ".shiftup")
    } catch (e) {
      badLedger(Ledger.ledgerDir(options.stateDir ?? ".shiftup"), e)
      return report
    }
    const busy: Array<{ path: string; by: Holder }> = []
    for (const path of ledgers) {
      if (survey(path) === "none") continue
      const holder = yield* attempt(path)
      if (holder !== undefined) busy.push({ path, by: holder })
    }
    // Another recover (or a watchdog) is replaying these: wait for it, then replay what it left.
    const waitUntil = Date.now() + (options.lockWaitMs ?? timeoutMs)
    for (const b of busy) {
      for (;;) {
        const holder = yield* attempt(b.path)
        if (holder === undefined) {
          report.waited.push({ ledger: b.path, by: b.by })
          break
        }
        if (Date.now() > waitUntil) {
          report.locked.push({ ledger: b.path, by: holder })
          break
        }
        yield* Effect.sleep(50)
      }
    }
    return report
  })
