/**
 * The run engine: plan → steady state before → method (guards, abort and deadlines watching) →
 * rollback in reverse order, each with a timeout → steady state after → journal. One Scope per
 * method holds every injected fault as an acquire/release; nothing escapes the journal.
 */
import { randomBytes } from "node:crypto"
import { Cause, Deferred, Duration, Effect, Exit, Scope } from "effect"
import * as Compensation from "../Compensation.ts"
import type { Config } from "../Config.ts"
import type { Context, Experiment } from "../Experiment.ts"
import type { Check } from "../Expect.ts"
import { safetyRank, type Fault } from "../Fault.ts"
import * as Journal from "../Journal.ts"
import * as Ledger from "../Ledger.ts"
import { decide } from "../Policy.ts"
import type { Probe } from "../Probe.ts"
import { correlationHeaders, RunContext } from "../RunContext.ts"
import { BudgetExceeded, describeUnknown, fail, isShiftupError, OutsideManifest, RecoveryNotObserved, type ShiftupError, TargetRefused, UnknownCompensation } from "../ShiftupError.ts"
import type { Step } from "../Step.ts"
import { defaultEgress, makeEgress } from "./egress.ts"
import { keyOf, plan as planRun, type Planned } from "./plan.ts"

export type RunEvent =
  | { readonly _tag: "Planned"; readonly runId: string; readonly experiment: Experiment; readonly plan: Journal.Plan }
  | { readonly _tag: "Phase"; readonly phase: Journal.Phase | "rollback" }
  | { readonly _tag: "StepStarted"; readonly id: string; readonly phase: Journal.Phase; readonly kind: Journal.StepRecord["kind"] }
  | { readonly _tag: "StepEnded"; readonly record: Journal.StepRecord }
  | { readonly _tag: "FaultActive"; readonly seq: number; readonly fault: string; readonly target: string }
  | { readonly _tag: "RolledBack"; readonly record: Journal.RollbackRecord }
  | { readonly _tag: "Aborting"; readonly cause: string; readonly detail: string }
  | { readonly _tag: "Finished"; readonly journal: Journal.Journal; readonly path?: string }

export interface RunOptions {
  /** Fixed run id (default: time-based and random). */
  readonly runId?: string
  readonly config?: Config
  /** Where ledgers and journals go; default config.stateDir, then `.shiftup`. */
  readonly stateDir?: string
  /** Journal file; default `<stateDir>/journals/<runId>.json`. `false` keeps it in memory only. */
  readonly journal?: string | false
  /** Aborting it rolls the run back and ends it with status `aborted` (exit 3). */
  readonly signal?: AbortSignal
  /** Plan only: resolve, classify, decide; touch nothing. */
  readonly dryRun?: boolean
  /** Live progress, e.g. the console reporter. */
  readonly onEvent?: (event: RunEvent) => void
  /** Compensators beyond the built-ins (and the config's). */
  readonly compensators?: Compensation.Compensators
}

export const newRunId = () => `${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${randomBytes(3).toString("hex")}`

type Abort = NonNullable<Journal.Journal["abort"]>

const iso = (ms: number) => new Date(ms).toISOString()

export const run = (experiment: Experiment, options: RunOptions = {}): Effect.Effect<Journal.Journal> =>
  Effect.gen(function* () {
    const config = options.config ?? {}
    const runId = options.runId ?? newRunId()
    const stateDir = options.stateDir ?? config.stateDir ?? ".shiftup"
    const journalPath = options.journal === false ? undefined : (options.journal ?? Journal.defaultPath(stateDir, runId))
    const emit = (e: RunEvent) => {
      try {
        options.onEvent?.(e)
      } catch {
        // A reporter must never break a run (or its rollback).
      }
    }
    const started = Date.now()
    const steps: Array<Journal.StepRecord> = []
    const findings: Array<Journal.Finding> = []
    const rollbacks: Array<Journal.RollbackRecord> = []
    const errors: Array<Journal.ErrorRecord> = []
    let abort: Abort | undefined
    let ledgerPath: string | undefined
    let planned: Planned | undefined

    const finish = (status: Journal.Status, summary: string, extra: Partial<Journal.Journal> = {}): Journal.Journal => {
      const ended = Date.now()
      const journal: Journal.Journal = {
        schema: Journal.schema,
        runId,
        experiment: { id: experiment.id, title: experiment.title, description: experiment.description, tags: experiment.tags },
        startedAt: iso(started),
        endedAt: iso(ended),
        durationMs: ended - started,
        status,
        exitCode: Journal.exitCodes[status],
        summary,
        dryRun: options.dryRun === true,
        ...(planned === undefined ? {} : { plan: planned.plan }),
        ...(abort === undefined ? {} : { abort }),
        steps,
        findings,
        rollbacks,
        errors,
        ...(ledgerPath === undefined ? {} : { ledger: ledgerPath }),
        ...extra,
      }
      let path = journalPath
      if (path !== undefined) {
        try {
          Journal.write(journal, path)
        } catch (e) {
          errors.push({ tag: "JournalWriteFailed", message: describeUnknown(e) })
          path = undefined
        }
      }
      emit({ _tag: "Finished", journal, ...(path === undefined ? {} : { path }) })
      return journal
    }
    const recordError = (e: ShiftupError) => errors.push({ tag: e.reason._tag, message: e.message })

    // ── plan: nothing is touched before every target is resolved, classified and decided ──
    const planExit = yield* Effect.exit(planRun(experiment, config))
    if (Exit.isFailure(planExit)) {
      const e = Cause.squash(planExit.cause)
      const err = isShiftupError(e) ? e : undefined
      if (err !== undefined) recordError(err)
      else errors.push({ tag: "Defect", message: describeUnknown(e) })
      return finish("invalid", `could not plan: ${err?.message ?? describeUnknown(e)}`)
    }
    planned = planExit.value
    const p = planned
    emit({ _tag: "Planned", runId, experiment, plan: p.plan })
    if (p.refusal !== undefined) {
      const r = p.refusal
      recordError(fail(r))
      return r._tag === "TargetRefused"
        ? finish("refused", `refused before any side effect: ${r.message}`, { refusal: { rule: r.rule, target: r.target, step: r.step, reason: r.detail } })
        : finish("refused", `refused before any side effect: ${r.message}`, { refusal: { rule: r.rule, target: "(whole run)", step: "(plan)", reason: r.detail } })
    }
    if (options.dryRun === true) return finish("passed", `plan accepted: ${p.plan.targets.length} target(s), ${p.plan.faults.length} fault(s); nothing was touched (dry run)`)

    // ── run context: correlation, egress, probe throttle ──
    const budget = p.plan.budget
    const nextProbe = new Map<string, number>()
    const spacing = 1000 / budget.maxProbeRate
    const ctx: RunContext = {
      runId,
      headers: correlationHeaders(runId),
      egress: makeEgress([...defaultEgress, ...budget.egress]),
      throttle: (target) =>
        Effect.suspend(() => {
          const now = performance.now()
          const at = Math.max(now, nextProbe.get(target) ?? 0)
          nextProbe.set(target, at + spacing)
          return at - now < 0.5 ? Effect.void : Effect.sleep(at - now)
        }),
    }
    const compensators: Compensation.Compensators = { ...Compensation.builtins, ...config.compensators, ...options.compensators }

    const aborted = yield* Deferred.make<Abort>()
    const requestAbort = (a: Abort) =>
      Effect.suspend(() => {
        if (abort !== undefined) return Effect.void
        abort = a
        emit({ _tag: "Aborting", cause: a.cause, detail: a.detail })
        return Deferred.succeed(aborted, a).pipe(Effect.asVoid)
      })
    const onSignal = () => Effect.runFork(requestAbort({ cause: "signal", detail: describeUnknown(options.signal?.reason ?? "aborted") }))
    if (options.signal?.aborted === true) onSignal()
    options.signal?.addEventListener("abort", onSignal, { once: true })

    const ledger = yield* Effect.exit(Ledger.open(stateDir, runId, experiment.id, ctx.egress.allowed))
    if (Exit.isFailure(ledger)) {
      const e = Cause.squash(ledger.cause) as ShiftupError
      recordError(e)
      return finish("invalid", `no durable ledger, so nothing was injected: ${e.message}`)
    }
    const writer = ledger.value
    ledgerPath = writer.path

    // ── steps ──
    const record = (r: Journal.StepRecord) => {
      steps.push(r)
      emit({ _tag: "StepEnded", record: r })
      return r
    }
    const timed = <A>(id: string, phase: Journal.Phase, kind: Journal.StepRecord["kind"], body: Effect.Effect<A, ShiftupError>) =>
      Effect.gen(function* () {
        emit({ _tag: "StepStarted", id, phase, kind })
        const t0 = Date.now()
        const exit = yield* Effect.exit(body)
        return { exit, t0, t1: Date.now() }
      })

    // Every observation goes through the per-target probe rate of the budget.
    const observe = <A>(probe: Probe<A>) => Effect.andThen(ctx.throttle(probe.target.id), probe.observe)

    let lastInjection: number | undefined
    const runCheck = <A>(check: Check<A>, phase: Journal.Phase): Effect.Effect<boolean, ShiftupError> =>
      Effect.gen(function* () {
        const target = check.probe.target.id
        if (keyOf(experiment, check.probe.target) === undefined || !p.classifications.has(target))
          return yield* Effect.fail(fail(new OutsideManifest({ step: check.id, target, detail: "the target is not declared (or not planned) in `targets`" })))
        const mode = check.mode
        let samples = 0
        let violating: unknown = undefined
        let violated = false
        let last: unknown = undefined
        let metric: Journal.StepRecord["metric"] | undefined
        const body: Effect.Effect<void, ShiftupError> = Effect.gen(function* () {
          if (mode._tag === "once") {
            last = yield* observe(check.probe)
            samples = 1
            violated = !check.matcher.test(last as A)
            if (violated) violating = last
          } else if (mode._tag === "during") {
            for (let round = 0; round < mode.samples; round++) {
              if (round > 0) yield* Effect.sleep(mode.everyMs)
              const values = yield* Effect.forEach(Array.from({ length: mode.burst }), () => observe(check.probe), { concurrency: mode.burst })
              for (const v of values) {
                samples++
                last = v
                if (!violated && !check.matcher.test(v)) {
                  violated = true
                  violating = v
                }
              }
            }
          } else {
            const since = mode.since === "last-fault" ? (lastInjection ?? Date.now()) : Date.now()
            const deadline = since + mode.withinMs
            for (;;) {
              const r = yield* Effect.exit(observe(check.probe))
              samples++
              if (Exit.isSuccess(r)) {
                last = r.value
                if (check.matcher.test(r.value)) {
                  metric = { name: mode.metric, ms: Date.now() - since }
                  return
                }
              } else last = `error: ${describeUnknown(Cause.squash(r.cause))}`
              if (Date.now() + mode.everyMs > deadline) {
                violated = true
                violating = last
                return
              }
              yield* Effect.sleep(mode.everyMs)
            }
          }
        })
        const { exit, t0, t1 } = yield* timed(check.id, phase, "check", body)
        const base = { id: check.id, phase, kind: "check" as const, target, startedAt: iso(t0), endedAt: iso(t1), durationMs: t1 - t0, expected: check.matcher.describe, samples }
        if (Exit.isFailure(exit)) {
          const e = Cause.squash(exit.cause)
          record({ ...base, outcome: "error", message: describeUnknown(e) })
          return yield* Effect.failCause(exit.cause)
        }
        const observed = Journal.snapshot(violated ? violating : last)
        record({ ...base, outcome: violated ? "violated" : "held", observed, ...(metric === undefined ? {} : { metric }), ...(violated && mode._tag === "eventually" ? { message: new RecoveryNotObserved({ check: check.id, withinMs: mode.withinMs, last: JSON.stringify(observed) ?? "nothing" }).message } : {}) })
        if (violated)
          findings.push({
            id: check.id,
            severity: check.severity,
            title: check.title,
            phase,
            target,
            expected: check.matcher.describe + (mode._tag === "eventually" ? ` within ${mode.withinMs} ms` : ""),
            observed,
            ...(check.remediation === undefined ? {} : { remediation: check.remediation }),
          })
        return !violated
      })

    const runChecks = (checks: ReadonlyArray<Check<any>>, phase: Journal.Phase) =>
      Effect.gen(function* () {
        let held = true
        for (const c of checks) held = (yield* runCheck(c, phase)) && held
        return held
      })

    // ── faults: acquire/release with the compensation ledgered first ──
    const active = new Map<number, Fault>()
    let seq = 0
    let destroys = 0
    const rollbackTimeoutMs = experiment.rollbackTimeoutMs ?? (config.rollbackTimeout === undefined ? 10_000 : Duration.toMillis(config.rollbackTimeout))

    let rollbackStarted = false
    const rollback = (n: number, fault: Fault, compensation: Compensation.Compensation) =>
      Effect.gen(function* () {
        if (!rollbackStarted) {
          rollbackStarted = true
          emit({ _tag: "Phase", phase: "rollback" })
        }
        const t0 = Date.now()
        const exit = yield* Compensation.apply(compensators, compensation).pipe(Effect.interruptible, Effect.timeoutOption(rollbackTimeoutMs), Effect.exit)
        const t1 = Date.now()
        const outcome: Journal.RollbackRecord["outcome"] = Exit.isFailure(exit) ? "failed" : exit.value._tag === "None" ? "timeout" : "restored"
        const error = Exit.isFailure(exit) ? describeUnknown(Cause.squash(exit.cause)) : outcome === "timeout" ? `no answer within ${rollbackTimeoutMs} ms` : undefined
        const appended = yield* Effect.exit(
          writer.append(outcome === "restored" ? { type: "rolled-back", seq: n, by: "runner", at: iso(t1) } : { type: "rollback-failed", seq: n, by: "runner", error: error ?? outcome, at: iso(t1) }),
        )
        if (Exit.isFailure(appended)) errors.push({ tag: "LedgerError", message: describeUnknown(Cause.squash(appended.cause)) })
        active.delete(n)
        const r: Journal.RollbackRecord = {
          seq: n,
          fault: fault.id,
          target: fault.target.id,
          compensation: compensation.description,
          startedAt: iso(t0),
          endedAt: iso(t1),
          durationMs: t1 - t0,
          outcome,
          ...(error === undefined ? {} : { error }),
        }
        rollbacks.push(r)
        emit({ _tag: "RolledBack", record: r })
      })

    const inject = (fault: Fault, scope: Scope.Scope, phase: Journal.Phase): Effect.Effect<void, ShiftupError> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          // Invariant 4: the manifest, the policy and the budget are checked again at each injection.
          const key = keyOf(experiment, fault.target)
          const classification = p.classifications.get(fault.target.id)
          if (key === undefined || classification === undefined)
            return yield* Effect.fail(fail(new OutsideManifest({ step: fault.id, target: fault.target.id, detail: "the target is not declared (or not planned) in `targets`" })))
          if (experiment.body._tag === "Gen") {
            const allowed = experiment.body.mayInject[key]
            if (allowed === undefined || safetyRank[fault.safety] > safetyRank[allowed])
              return yield* Effect.fail(fail(new OutsideManifest({ step: fault.id, target: fault.target.id, detail: `the manifest allows ${allowed ?? "nothing"} on "${key}", not ${fault.safety}; declare it in \`mayInject\`` })))
          }
          const decision = decide({ step: fault.id, target: fault.target.id, safety: fault.safety, classification, experiment: { ...experiment.policy, observeProduction: experiment.observeProduction }, config: config.policy ?? {} })
          if (!decision.allowed) return yield* Effect.fail(fail(new TargetRefused({ target: fault.target.id, step: fault.id, rule: decision.rule, detail: decision.reason })))
          if (active.size + 1 > budget.maxConcurrentFaults)
            return yield* Effect.fail(fail(new BudgetExceeded({ rule: "budget.max-concurrent-faults", limit: budget.maxConcurrentFaults, requested: active.size + 1, detail: `"${fault.id}" would be one fault too many` })))
          if (fault.safety === "destroy" && destroys + 1 > budget.maxDestroySteps)
            return yield* Effect.fail(fail(new BudgetExceeded({ rule: "budget.max-destroy-steps", limit: budget.maxDestroySteps, requested: destroys + 1, detail: `"${fault.id}" would exceed the destroy budget` })))
          const pop = p.populations.get(fault.target.id)
          const percent = pop === undefined ? 100 : (100 * pop.members) / pop.population
          if (percent > budget.maxPercent)
            return yield* Effect.fail(fail(new BudgetExceeded({ rule: "budget.max-percent", limit: budget.maxPercent, requested: Math.ceil(percent), detail: `"${fault.id}" hits ${percent.toFixed(0)}% of "${fault.target.id}"` })))

          emit({ _tag: "StepStarted", id: fault.id, phase, kind: "fault" })
          const t0 = Date.now()
          const compensation = Effect.isEffect(fault.compensation) ? yield* restore(fault.compensation) : fault.compensation
          // A fault nobody could undo is never injected.
          if (compensators[compensation.kind] === undefined) return yield* Effect.fail(fail(new UnknownCompensation({ kind: compensation.kind })))
          const n = ++seq
          // Invariant 2: the compensation is durable before the fault exists.
          yield* writer.append({ type: "intent", seq: n, fault: fault.id, target: fault.target.id, compensation, at: iso(Date.now()) })
          // Registered before the injection: a half-applied fault is still undone.
          yield* Scope.addFinalizer(scope, rollback(n, fault, compensation))
          active.set(n, fault)
          if (fault.safety === "destroy") destroys++
          yield* Effect.forkIn(
            Effect.sleep(budget.maxFaultTimeMs).pipe(Effect.andThen(requestAbort({ cause: "budget", detail: `fault "${fault.id}" reached budget.maxFaultTime (${budget.maxFaultTimeMs} ms)` }))),
            scope,
          )
          const injected = yield* Effect.exit(restore(fault.inject))
          const t1 = Date.now()
          if (Exit.isFailure(injected)) {
            record({ id: fault.id, phase, kind: "fault", target: fault.target.id, startedAt: iso(t0), endedAt: iso(t1), durationMs: t1 - t0, outcome: "error", message: describeUnknown(Cause.squash(injected.cause)) })
            return yield* Effect.failCause(injected.cause)
          }
          lastInjection = t1
          yield* writer.append({ type: "applied", seq: n, at: iso(t1) })
          emit({ _tag: "FaultActive", seq: n, fault: fault.id, target: fault.target.id })
          record({ id: fault.id, phase, kind: "fault", target: fault.target.id, startedAt: iso(t0), endedAt: iso(t1), durationMs: t1 - t0, outcome: "ok", message: compensation.description })
        }),
      )

    const observeStep = <A>(probe: Probe<A>, phase: Journal.Phase): Effect.Effect<A, ShiftupError> =>
      Effect.gen(function* () {
        const key = keyOf(experiment, probe.target)
        if (key === undefined || !p.classifications.has(probe.target.id))
          return yield* Effect.fail(fail(new OutsideManifest({ step: probe.id, target: probe.target.id, detail: "the target is not declared in `targets`" })))
        const { exit, t0, t1 } = yield* timed(probe.id, phase, "probe", observe(probe))
        record({ id: probe.id, phase, kind: "probe", target: probe.target.id, startedAt: iso(t0), endedAt: iso(t1), durationMs: t1 - t0, ...(Exit.isSuccess(exit) ? { outcome: "ok", observed: Journal.snapshot(exit.value) } : { outcome: "error", message: describeUnknown(Cause.squash(exit.cause)) }) })
        return yield* exit
      })

    const waitStep = (id: string, ms: number, phase: Journal.Phase) =>
      Effect.gen(function* () {
        const { t0, t1 } = yield* timed(id, phase, "wait", Effect.sleep(ms))
        record({ id, phase, kind: "wait", startedAt: iso(t0), endedAt: iso(t1), durationMs: t1 - t0, outcome: "ok" })
      })

    const runStep = (step: Step, scope: Scope.Scope): Effect.Effect<void, ShiftupError> => {
      switch (step._tag) {
        case "Fault":
          return inject(step, scope, "method")
        case "Check":
          return Effect.asVoid(runCheck(step, "method"))
        case "Probe":
          return Effect.asVoid(observeStep(step, "method"))
        case "Wait":
          return waitStep(step.id, step.ms, "method")
      }
    }

    const body = (scope: Scope.Scope): Effect.Effect<void, ShiftupError> => {
      if (experiment.body._tag === "Steps") return Effect.forEach(experiment.body.steps, (s) => runStep(s, scope), { discard: true })
      const genCtx: Context = {
        runId,
        observe: (probe) => observeStep(probe, "method"),
        inject: (fault) => inject(fault, scope, "method"),
        check: (check) => runCheck(check, "method"),
        wait: (d) => waitStep(`wait ${Duration.format(Duration.fromInputUnsafe(d))}`, Duration.toMillis(d), "method"),
      }
      const gen = experiment.body.run
      return Effect.gen(() => gen(genCtx)) as Effect.Effect<void, ShiftupError>
    }

    const watchGuards = experiment.stopWhen.map((g) =>
      Effect.gen(function* () {
        for (;;) {
          yield* Effect.sleep(g.everyMs)
          const r = yield* Effect.exit(observe(g.probe))
          if (Exit.isFailure(r)) return { cause: "guard" as const, detail: `${g.id}: probe failed: ${describeUnknown(Cause.squash(r.cause))}` }
          if (!g.matcher.test(r.value)) return { cause: "guard" as const, detail: `${g.id}: observed ${JSON.stringify(Journal.snapshot(r.value))}` }
        }
      }).pipe(Effect.flatMap(requestAbort), Effect.andThen(Effect.never)),
    )

    const guarded = <A>(work: Effect.Effect<A, ShiftupError>, withGuards: boolean): Effect.Effect<A | Abort, ShiftupError> =>
      Effect.raceFirst(work, Effect.raceAll([Deferred.await(aborted), ...(withGuards ? (watchGuards as ReadonlyArray<Effect.Effect<never>>) : [])]))

    const isAbort = (u: unknown): u is Abort => typeof u === "object" && u !== null && "cause" in u && "detail" in u && Object.keys(u).length === 2

    const program = Effect.gen(function* () {
      // ── steady state before ──
      emit({ _tag: "Phase", phase: "before" })
      const before = yield* guarded(runChecks(experiment.hypothesis, "before"), false)
      if (isAbort(before)) return
      if (!before) return "deviated-before" as const

      // ── method, inside one scope; closing it rolls back every fault in reverse order ──
      emit({ _tag: "Phase", phase: "method" })
      const methodExit = yield* Effect.exit(
        Effect.scoped(
          Effect.gen(function* () {
            const scope = yield* Effect.scope
            const deadline = Effect.sleep(budget.maxDurationMs).pipe(Effect.andThen(requestAbort({ cause: "timeout", detail: `the method exceeded budget.maxDuration (${budget.maxDurationMs} ms)` })), Effect.andThen(Effect.never))
            return yield* guarded(Effect.raceFirst(body(scope), deadline), true)
          }),
        ),
      )
      if (Exit.isFailure(methodExit)) {
        const e = Cause.squash(methodExit.cause)
        if (isShiftupError(e)) recordError(e)
        else errors.push({ tag: "Defect", message: describeUnknown(e) })
        if (abort === undefined) abort = { cause: "error", detail: isShiftupError(e) ? e.message : describeUnknown(e) }
        return
      }
      if (abort !== undefined) return

      // ── recovery checks (they may wait for it), then the steady state after rollback ──
      emit({ _tag: "Phase", phase: "recovery" })
      const recovered = yield* guarded(runChecks(experiment.recovery, "recovery"), false)
      if (isAbort(recovered)) return
      emit({ _tag: "Phase", phase: "after" })
      yield* guarded(runChecks(experiment.hypothesis, "after"), false)
      return
    }).pipe(
      Effect.catch((e: ShiftupError) =>
        Effect.sync(() => {
          recordError(e)
          if (abort === undefined) abort = { cause: "error", detail: e.message }
        }),
      ),
      Effect.provideService(RunContext, ctx),
    )

    const outcome = yield* program.pipe(
      Effect.onExit(() => Effect.sync(() => options.signal?.removeEventListener("abort", onSignal))),
      Effect.ensuring(Effect.ignore(Effect.suspend(() => writer.append({ type: "end", status: "finished", at: iso(Date.now()) })))),
      // Interrupted from outside (a test timeout, a parent fiber): the scope has already rolled
      // back by now; leave a journal that says so.
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          abort ??= { cause: "signal", detail: "the run's fiber was interrupted" }
          const failed = rollbacks.filter((r) => r.outcome !== "restored")
          finish(failed.length > 0 ? "rollback-incomplete" : "aborted", `interrupted; ${rollbacks.length - failed.length}/${rollbacks.length} rollback(s) complete`)
        }),
      ),
    )

    const failedRollbacks = rollbacks.filter((r) => r.outcome !== "restored")
    const restored = rollbacks.length - failedRollbacks.length
    const rb = rollbacks.length === 0 ? "nothing was injected" : `${restored}/${rollbacks.length} rollback(s) complete`
    if (failedRollbacks.length > 0)
      return finish("rollback-incomplete", `ROLLBACK INCOMPLETE: ${failedRollbacks.map((r) => `${r.fault} on ${r.target}: ${r.error ?? r.outcome}`).join("; ")}. Run \`shiftup recover\` now`)
    if (abort !== undefined) return finish("aborted", `aborted (${abort.cause}): ${abort.detail}; ${rb}`)
    if (outcome === "deviated-before") return finish("failed", `steady state did not hold before the method, so nothing was injected: ${findings.map((f) => f.title).join("; ")}`)
    if (findings.length > 0) return finish("failed", `${findings.length} finding(s): ${findings.map((f) => f.title).join("; ")}; ${rb}`)
    return finish("passed", `every check held; ${rb}`)
  })
