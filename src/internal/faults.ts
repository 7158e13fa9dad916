/**
 * Injecting faults as acquire/release. Before each injection the manifest, the policy and the
 * budget are checked again (invariant 4); the compensation is ledgered and fsynced, and its
 * release registered in the method's scope, before the fault exists (invariant 2). Releases
 * run in reverse order, each with its own timeout, and record their outcome; they never throw.
 */
import { Cause, Clock, Effect, Exit, Scope } from "effect"
import type { EffectiveBudget } from "../Budget.ts"
import * as Compensation from "../Compensation.ts"
import type { Config } from "../Config.ts"
import type { Experiment } from "../Experiment.ts"
import { safetyRank, type Fault } from "../Fault.ts"
import type * as Journal from "../Journal.ts"
import type * as Ledger from "../Ledger.ts"
import { decide } from "../Policy.ts"
import { BudgetExceeded, causedBy, describeUnknown, fail, InjectionFailed, OutsideManifest, type ShiftupError, TargetRefused, UnknownCompensation } from "../ShiftupError.ts"
import { faultOf } from "./capability.ts"
import { faultChecks, keyOf, policyProfile, type Planned } from "./plan.ts"
import { type Extra, locate } from "./providers.ts"
import { iso, type Recorder } from "./record.ts"

export interface FaultEnv {
  readonly experiment: Experiment
  readonly planned: Planned
  readonly config: Config
  /** Compensators given to `run` directly, and their module. */
  readonly extra: Extra
  readonly budget: EffectiveBudget
  readonly ledger: Ledger.Writer
  readonly recorder: Recorder
  readonly rollbackTimeoutMs: number
  /** Asks the run to abort (e.g. a fault outlived budget.maxFaultTime). */
  readonly requestAbort: (cause: "budget", detail: string) => Effect.Effect<void>
}

export interface Faults {
  readonly inject: (fault: Fault, scope: Scope.Scope, phase: Journal.Phase) => Effect.Effect<void, ShiftupError>
  /** Rolls back, now and mid-method, the faults injected into `scope` (a child of the method's scope). */
  readonly remove: (scope: Scope.Closeable) => Effect.Effect<void>
  readonly lastInjection: () => number | undefined
}

export const makeFaults = (env: FaultEnv): Faults => {
  const { experiment, planned, budget, recorder } = env
  const active = new Set<number>()
  let seq = 0
  let destroys = 0
  let lastInjection: number | undefined
  let rollbackStarted = false
  /** A removal mid-method is in progress: its releases are not the rollback phase. */
  let removing = false
  /** Injections that finished (succeeded or failed): nothing of theirs is still in flight. */
  const settled = new Set<number>()
  const intentAt = new Map<number, number>()

  /** The runtime checks; fails with the typed refusal, touching nothing. */
  const admit = (fault: Fault): Effect.Effect<void, ShiftupError> => {
    const refuse = (reason: OutsideManifest | TargetRefused | BudgetExceeded) => Effect.fail(fail(reason))
    const key = keyOf(experiment, fault.target)
    const classification = planned.classifications.get(fault.target.id)
    if (key === undefined || classification === undefined)
      return refuse(new OutsideManifest({ step: fault.id, target: fault.target.id, detail: "the target is not declared (or not planned) in `targets`" }))
    if (experiment.body._tag === "Gen") {
      const allowed = experiment.body.mayInject[key]
      if (allowed === undefined || safetyRank[fault.safety] > safetyRank[allowed])
        return refuse(new OutsideManifest({ step: fault.id, target: fault.target.id, detail: `the manifest allows ${allowed ?? "nothing"} on "${key}", not ${fault.safety}; declare it in \`mayInject\`` }))
    }
    const decision = decide({ step: fault.id, target: fault.target.id, safety: fault.safety, classification, experiment: { ...experiment.policy, observeProduction: experiment.observeProduction }, config: env.config.policy ?? {}, profile: policyProfile(planned.profiles.get(fault.target.id)) })
    if (!decision.allowed) return refuse(new TargetRefused({ target: fault.target.id, step: fault.id, rule: decision.rule, detail: decision.reason }))
    const checked = experiment.body._tag === "Gen" ? Effect.map(faultChecks(fault, env.config, env.extra, planned.runEgress, planned.members.get(fault.target.id) ?? []), (c) => c.decisions) : Effect.succeed([])
    if (active.size + 1 > budget.maxConcurrentFaults)
      return refuse(new BudgetExceeded({ rule: "budget.max-concurrent-faults", limit: budget.maxConcurrentFaults, requested: active.size + 1, detail: `"${fault.id}" would be one fault too many` }))
    if (fault.safety === "destroy" && destroys + 1 > budget.maxDestroySteps)
      return refuse(new BudgetExceeded({ rule: "budget.max-destroy-steps", limit: budget.maxDestroySteps, requested: destroys + 1, detail: `"${fault.id}" would exceed the destroy budget` }))
    const pop = planned.populations.get(fault.target.id)
    const percent = pop === undefined ? 100 : (100 * pop.members) / pop.population
    if (percent > budget.maxPercent)
      return refuse(new BudgetExceeded({ rule: "budget.max-percent", limit: budget.maxPercent, requested: Math.ceil(percent), detail: `"${fault.id}" hits ${percent.toFixed(0)}% of "${fault.target.id}"` }))
    return Effect.flatMap(checked, (decisions) => {
      const refused = decisions.find((d) => !d.allowed)
      return refused === undefined ? Effect.void : refuse(new TargetRefused({ target: fault.target.id, step: fault.id, rule: refused.rule, detail: refused.reason }))
    })
  }

  const release = (n: number, fault: Fault, compensation: Compensation.Compensation) =>
    Effect.gen(function* () {
      if (!rollbackStarted && !removing) {
        rollbackStarted = true
        recorder.emit({ _tag: "Phase", phase: "rollback" })
      }
      const t0 = yield* Clock.currentTimeMillis
      const cap = faultOf(fault)
      const located = locate(compensation.kind, cap, env.config, env.extra)
      // The same convergent restore `recover` uses: the record decoded against its kind's schema, an
      // injection still in flight let settle, then apply and verify until it holds or time is up.
      const undo: Effect.Effect<Compensation.RestoreOutcome, ShiftupError> =
        located._tag === "ephemeral" && cap.release !== undefined
          ? Effect.as(cap.release, { _tag: "restored", attempts: 1 } as const)
          : located._tag === "found"
            ? Compensation.restore(located.compensator, compensation, {
                deadlineMs: env.rollbackTimeoutMs,
                source: { path: env.ledger.path, seq: n },
                // Only an injection cut off mid-call (an abort) may still land; a finished one cannot.
                ...(settled.has(n) ? {} : { inFlightSince: intentAt.get(n) ?? t0 }),
              })
            : Effect.fail(fail(new UnknownCompensation({ kind: compensation.kind })))
      // A margin over the restore's own deadline: a compensator that ignores interruption cannot
      // hold the rollback forever.
      const exit = yield* undo.pipe(Effect.interruptible, Effect.timeoutOption(env.rollbackTimeoutMs + 1000), Effect.exit)
      const t1 = yield* Clock.currentTimeMillis
      const outcome: Journal.RollbackRecord["outcome"] = Exit.isFailure(exit)
        ? "failed"
        : exit.value._tag === "None" || (exit.value.value._tag === "incomplete" && exit.value.value.detail === "timed out")
          ? "timeout"
          : exit.value.value._tag === "restored"
            ? "restored"
            : "failed"
      const error = Exit.isFailure(exit)
        ? describeUnknown(Cause.squash(exit.cause))
        : outcome === "timeout"
          ? `no answer within ${env.rollbackTimeoutMs} ms`
          : exit.value._tag === "Some" && exit.value.value._tag === "incomplete"
            ? exit.value.value.detail
            : undefined
      const appended = yield* Effect.exit(
        env.ledger.append(outcome === "restored" ? { type: "rolled-back", seq: n, by: "runner", at: iso(t1) } : { type: "rollback-failed", seq: n, by: "runner", error: error ?? outcome, at: iso(t1) }),
      )
      if (Exit.isFailure(appended)) recorder.errors.push({ tag: "LedgerError", message: describeUnknown(Cause.squash(appended.cause)) })
      active.delete(n)
      recorder.rollback({
        seq: n,
        fault: fault.id,
        target: fault.target.id,
        compensation: compensation.description,
        startedAt: iso(t0),
        endedAt: iso(t1),
        durationMs: t1 - t0,
        outcome,
        ...(error === undefined ? {} : { error }),
      })
    })

  const inject = (fault: Fault, scope: Scope.Scope, phase: Journal.Phase): Effect.Effect<void, ShiftupError> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        yield* admit(fault)
        recorder.emit({ _tag: "StepStarted", id: fault.id, phase, kind: "fault" })
        const t0 = yield* Clock.currentTimeMillis
        const cap = faultOf(fault)
        // Nothing is ledgered or touched until the capture succeeded: say so in the error.
        const compensation = yield* restore(cap.capture).pipe(Effect.mapError((e) => withCompensation(e, "none")))
        if (compensation.kind !== fault.kind)
          return yield* Effect.fail(fail(new InjectionFailed({ fault: fault.id, target: fault.target.id, detail: `its compensation is of kind "${compensation.kind}", not the declared "${fault.kind}"`, compensation: "none" })))
        // A fault nobody could undo — here, or in a fresh process after a crash — is never injected.
        const located = locate(compensation.kind, cap, env.config, env.extra)
        if (located._tag === "unrecoverable")
          return yield* Effect.fail(fail(new TargetRefused({ target: fault.target.id, step: fault.id, rule: "compensation.not-recoverable", detail: located.detail })))
        const n = ++seq
        const members = (planned.members.get(fault.target.id) ?? []).map((m) => m.id)
        // Invariant 2: the compensation is durable before the fault exists…
        const intentTime = yield* Clock.currentTimeMillis
        intentAt.set(n, intentTime)
        yield* env.ledger.append({ type: "intent", seq: n, fault: fault.id, target: fault.target.id, members, ...(located._tag === "found" ? { module: located.module } : {}), compensation, at: iso(intentTime) })
        // …and its release is registered before the injection, so a half-applied fault is undone.
        yield* Scope.addFinalizer(scope, release(n, fault, compensation))
        active.add(n)
        if (fault.safety === "destroy") destroys++
        yield* Effect.forkIn(
          Effect.sleep(budget.maxFaultTimeMs).pipe(Effect.andThen(env.requestAbort("budget", `fault "${fault.id}" reached budget.maxFaultTime (${budget.maxFaultTimeMs} ms)`))),
          scope,
        )
        const injected = yield* Effect.exit(restore(cap.inject).pipe(Effect.mapError((e) => withCompensation(e, "ledgered"))))
        if (!Exit.hasInterrupts(injected)) settled.add(n)
        const t1 = yield* Clock.currentTimeMillis
        const base = { id: fault.id, phase, kind: "fault" as const, target: fault.target.id, startedAt: iso(t0), endedAt: iso(t1), durationMs: t1 - t0 }
        if (Exit.isFailure(injected)) {
          recorder.step({ ...base, outcome: "error", message: describeUnknown(Cause.squash(injected.cause)) })
          return yield* Effect.failCause(injected.cause)
        }
        // The checks measure time-to-detect from here.
        lastInjection = t1
        yield* env.ledger.append({ type: "applied", seq: n, at: iso(t1) })
        recorder.emit({ _tag: "FaultActive", seq: n, fault: fault.id, target: fault.target.id })
        recorder.step({ ...base, outcome: "ok", message: compensation.description })
      }),
    )

  const remove = (scope: Scope.Closeable): Effect.Effect<void> =>
    Effect.suspend(() => {
      removing = true
      return Scope.close(scope, Exit.void)
    }).pipe(Effect.ensuring(Effect.sync(() => (removing = false))))

  return { inject, remove, lastInjection: () => lastInjection }
}

/** An `InjectionFailed` that says whether its compensation had been ledgered (and is replayed). */
const withCompensation = (e: ShiftupError, compensation: "ledgered" | "none"): ShiftupError =>
  e._tag === "InjectionFailed" && e.compensation === undefined ? new InjectionFailed({ fault: e.fault, target: e.target, detail: e.detail, compensation, ...causedBy(e.cause) }) : e
