/**
 * The run engine: plan → steady state before → method (guards, abort and deadlines watching) →
 * rollback in reverse order, each with a timeout → recovery checks → steady state after →
 * journal. One Scope per method holds every injected fault as an acquire/release (faults.ts);
 * whatever happens, the run ends in a journal.
 */
import { Cause, Clock, Deferred, Duration, Effect, Exit, Ref, Scope } from "effect"
import * as Compensation from "../Compensation.ts"
import type { Config } from "../Config.ts"
import { optionIssues, type Context, type Experiment } from "../Experiment.ts"
import type { Check } from "../Expect.ts"
import * as Journal from "../Journal.ts"
import * as Ledger from "../Ledger.ts"
import { JournalSink } from "../run/JournalSink.ts"
import { LedgerStore } from "../run/LedgerStore.ts"
import { RunEvents } from "../run/RunEvents.ts"
import type { Probe } from "../Probe.ts"
import { correlationHeaders, makeStore, pacer, RunContext, unpaced, type ProbeBudget } from "../RunContext.ts"
import { ApprovalDeclined, describeUnknown, fail, InjectionFailed, InvalidExperiment, isShiftupError, OutsideManifest, type ShiftupError, TargetRefused } from "../ShiftupError.ts"
import * as Step from "../Step.ts"
import { observeOf, resourceOf } from "./capability.ts"
import { runCheck } from "./checks.ts"
import { defaultEgress, makeEgress } from "./egress.ts"
import { makeFaults } from "./faults.ts"
import { plan as planRun, type Planned } from "./plan.ts"
import { iso, Recorder, type RunEvent } from "./record.ts"
import { describeConflict, takeLeases, type Conflict } from "./lease.ts"

export type { RunEvent } from "./record.ts"

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
  /**
   * How long to wait for another run's lease on a target member this run would inject into
   * (default: refuse at once, exit 2, naming the other run).
   */
  readonly leaseWait?: Duration.Input
  /** Compensators beyond the built-ins (and the config's). */
  readonly compensators?: Compensation.Compensators
  /**
   * The module (a file path) that exports `compensators` (named, or as its default export's
   * field): a fresh process — `shiftup recover`, the watchdog — imports it to replay them after a
   * crash. Without it, faults needing those compensators are refused at plan time.
   */
  readonly compensatorModule?: string
  /**
   * A probe budget shared with other runs (a watcher's jobs): every probe of this run also takes
   * its slot there, under its target's host (the first endpoint of its members; else the target id).
   */
  readonly probeBudget?: ProbeBudget
  /**
   * Called before each step of the method (declarative steps; a generator's `inject` and
   * `check`) and may wait: game-day controls use it for approval gates and pause/resume. A
   * rejection aborts the run (with rollback); reject with a `ShiftupError` to keep its reason.
   * Guards, deadlines and the signal keep running while it waits.
   */
  readonly beforeStep?: (step: { readonly runId: string; readonly id: string; readonly phase: Journal.Phase; readonly kind: Journal.StepRecord["kind"] }, signal?: AbortSignal) => Promise<void>
  /**
   * The environment profile for every target (the CLI's `--profile`), over the config's
   * `misconfig` choices: its fault classes narrow the policy, its probe rate caps the budget's.
   */
  readonly profile?: string
}

/** How long a resource may take to start. */
const resourceTimeoutMs = 30_000

/**
 * UTC time and 6 random hex digits. The digits only keep ids of runs started in the same second
 * apart (they are no secret): V8's generator, seeded per process from the system's entropy, does
 * that as well as node:crypto, which a run that only observes would load for this alone (~5 ms).
 */
export const newRunId = () =>
  `${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${Math.floor(Math.random() * 0x1000000)
    .toString(16)
    .padStart(6, "0")}`

type Abort = NonNullable<Journal.Journal["abort"]>

/** How a phase raced the run's abort (a signal, a guard, a deadline): it finished, or the abort came first. */
type Raced<A> = { readonly _tag: "Done"; readonly value: A } | { readonly _tag: "Aborted" }

/** What the ledger still lists as pending after the rollback, or undefined when nothing. */
const ledgerStillPending = (store: LedgerStore, path: string | undefined): string | undefined => {
  if (path === undefined) return undefined
  try {
    const left = Ledger.pending(store.read(path))
    return left.length === 0 ? undefined : `the ledger ${path} could not record ${left.length} of them (${left.map((p) => p.fault).join(", ")}) and still lists them as pending`
  } catch (e) {
    return `its ledger cannot be read back (${describeUnknown(e)})`
  }
}

/**
 * Whether a run may leave something for `recover` to undo or for `reap` to find: a fault it may
 * inject, a resource it starts. Only such a run has a ledger; one that only observes skips the
 * ledger's file, its fsyncs and its read-back (docs/safety.md).
 */
const needsLedger = (e: Experiment): boolean =>
  Object.keys(e.resources).length > 0 || (e.body._tag === "Steps" ? e.body.steps.some((s) => s._tag === "Fault") : Object.keys(e.body.mayInject).length > 0)

// Parenthesized (and its body): V8 compiles such a function with its module, so it lands in Node's
// compile cache; otherwise every CLI run compiles it again at its first call (~1 ms).
export const run = ((experiment: Experiment, options: RunOptions = {}): Effect.Effect<Journal.Journal> =>
  Effect.gen((function* () {
    const config = options.config ?? {}
    const runId = options.runId ?? newRunId()
    const stateDir = options.stateDir ?? config.stateDir ?? ".shiftup"
    const journalPath = options.journal === false ? undefined : (options.journal ?? Journal.defaultPath(stateDir, runId))
    // The run's seams: its ledger store, journal sink and event listeners (files and nobody by default).
    const ledgers = yield* LedgerStore
    const sink = yield* JournalSink
    const recorder = new Recorder(options.onEvent, (yield* RunEvents).emit)
    // Effect's clock throughout: virtual time (TestClock) in tests of the timing rules.
    const started = yield* Clock.currentTimeMillis
    // The first abort wins (a signal, a guard, a deadline, a budget, an error); `aborted` wakes the phase racing it.
    const abortRef = yield* Ref.make<Abort | undefined>(undefined)
    const aborted = yield* Deferred.make<Abort>()
    let ledgerPath: string | undefined
    let planned: Planned | undefined

    const finish = (status: Journal.Status, summary: string, extra: Partial<Journal.Journal> = {}): Effect.Effect<Journal.Journal> =>
      Effect.gen(function* () {
        const ended = yield* Clock.currentTimeMillis
        const abort = yield* Ref.get(abortRef)
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
          steps: recorder.steps,
          findings: recorder.findings,
          rollbacks: recorder.rollbacks,
          errors: recorder.errors,
          ...(ledgerPath === undefined ? {} : { ledger: ledgerPath }),
          ...extra,
        }
        if (journalPath === undefined) {
          recorder.emit({ _tag: "Finished", journal })
          return journal
        }
        const written = yield* Effect.exit(sink.write(journal, journalPath))
        if (Exit.isSuccess(written)) {
          recorder.emit({ _tag: "Finished", journal, path: journalPath })
          return journal
        }
        // The run's record is lost: never a silent success. Exit 4 (the journal's destination is
        // bad input), unless the rollback is incomplete, which stays 5.
        const error = { tag: "JournalWriteFailed", message: describeUnknown(Cause.squash(written.cause)) }
        const unwritten: Journal.Journal = {
          ...journal,
          exitCode: Math.max(journal.exitCode, Journal.exitCodes.invalid),
          summary: `${journal.summary} — journal NOT written to ${journalPath} (${error.message})`,
          errors: [...journal.errors, error],
        }
        recorder.errors.push(error)
        recorder.emit({ _tag: "Finished", journal: unwritten })
        return unwritten
      })

    // ── plan: nothing is touched before every target is resolved, classified and decided ──
    // Discovery sees the run id, so an adapter can keep the members it planned for this run.
    // One store for the whole run: what discovery remembers, the method's faults find.
    const store = makeStore()
    const planCtx: RunContext = { runId, startedAt: started, headers: correlationHeaders(runId), egress: makeEgress(defaultEgress), ...unpaced, store }
    const extra = { ...(options.compensators === undefined ? {} : { compensators: options.compensators }), ...(options.compensatorModule === undefined ? {} : { module: options.compensatorModule }) }
    const planExit = yield* Effect.exit(planRun(experiment, config, extra, options.profile).pipe(Effect.provideService(RunContext, planCtx)))
    if (Exit.isFailure(planExit)) {
      const e = Cause.squash(planExit.cause)
      if (isShiftupError(e)) recorder.error(e)
      else recorder.errors.push({ tag: "Defect", message: describeUnknown(e) })
      return yield* finish("invalid", `could not plan: ${describeUnknown(e)}`)
    }
    const p = (planned = planExit.value)
    recorder.emit({ _tag: "Planned", runId, experiment, plan: p.plan })
    if (p.refusal !== undefined) {
      const r = p.refusal
      recorder.error(fail(r))
      const refusal = r._tag === "TargetRefused" ? { rule: r.rule, target: r.target, step: r.step, reason: r.detail } : { rule: r.rule, target: "(whole run)", step: "(plan)", reason: r.detail }
      return yield* finish("refused", `refused before any side effect: ${r.message}`, { refusal })
    }
    if (options.dryRun === true) return yield* finish("passed", `plan accepted: ${p.plan.targets.length} target(s), ${p.plan.faults.length} fault(s); nothing was touched (dry run)`)

    // ── leases: no other run (or recover) acts on a member this run may inject into ──
    const leased = yield* Effect.exit(takeLeases(experiment, p, { config, runId, ledger: ledgers.pathOf(stateDir, runId), ...(options.leaseWait === undefined ? {} : { wait: options.leaseWait }) }))
    if (Exit.isFailure(leased)) {
      const e = Cause.squash(leased.cause)
      if (isShiftupError(e)) {
        recorder.error(e)
        return yield* finish("invalid", `no target lease could be taken, so nothing was touched: ${e.message}`)
      }
      const c = e as Conflict
      const refusal = { rule: c._tag === "held" ? "lease.held" : "lease.pending-recovery", target: c.holder.member, step: "(plan)", reason: describeConflict(c) }
      const refused = new TargetRefused({ target: refusal.target, step: refusal.step, rule: refusal.rule, detail: refusal.reason })
      recorder.error(fail(refused))
      return yield* finish("refused", `refused before any side effect: ${refused.message}`, { refusal })
    }
    const leases = leased.value

    // ── run context: correlation (invariant 6), egress (invariant 7), probe rate ──
    const budget = p.budget
    const ctx: RunContext = { runId, startedAt: started, headers: correlationHeaders(runId), egress: makeEgress([...defaultEgress, ...budget.egress, ...p.egress]), store, profile: (target) => p.profiles.get(target)?.profile, ...pacer((target) => (p.probeRates.has(target) ? (p.probeRates.get(target) ?? Infinity) : (budget.probeRates[p.classifications.get(target)?.effective ?? "production"] ?? Infinity)), options.probeBudget === undefined ? undefined : { budget: options.probeBudget, keyOf: (target) => p.members.get(target)?.flatMap((m) => m.endpoints ?? [])[0]?.host ?? target }) }

    /** Records `a` as the run's abort unless one came first; true when it did. */
    const settleAbort = (a: Abort) => Ref.modify(abortRef, (current): [boolean, Abort | undefined] => (current === undefined ? [true, a] : [false, current]))
    const requestAbort = (a: Abort) =>
      Effect.flatMap(settleAbort(a), (first) =>
        first ? Effect.andThen(Effect.sync(() => recorder.emit({ _tag: "Aborting", cause: a.cause, detail: a.detail })), Deferred.succeed(aborted, a).pipe(Effect.asVoid)) : Effect.void,
      )
    const onSignal = () => Effect.runFork(requestAbort({ cause: "signal", detail: describeUnknown(options.signal?.reason ?? "aborted") }))
    if (options.signal?.aborted === true) onSignal()
    options.signal?.addEventListener("abort", onSignal, { once: true })

    // ── ledger: opened before anything is touched when the run may leave something behind ──
    let opened: Ledger.Writer | undefined
    const openLedger = Effect.tap(ledgers.open({ stateDir, runId, experiment: experiment.id, egress: ctx.egress.allowed, providers: p.providers }), (w) =>
      Effect.sync(() => {
        opened = w
        ledgerPath = w.path
      }),
    )
    if (needsLedger(experiment)) {
      const openExit = yield* Effect.exit(openLedger)
      if (Exit.isFailure(openExit)) {
        const e = Cause.squash(openExit.cause)
        if (isShiftupError(e)) recorder.error(e)
        leases.release()
        return yield* finish("invalid", `no durable ledger, so nothing was injected: ${describeUnknown(e)}`)
      }
    }
    // Without one, a first intent would open it (none comes: a fault outside the manifest is refused).
    const ledger: Ledger.Writer = { path: ledgers.pathOf(stateDir, runId), append: (r) => (opened !== undefined ? opened.append(r) : Effect.andThen(openLedger, (w) => w.append(r))) }

    const rollbackTimeoutMs = experiment.rollbackTimeoutMs ?? (config.rollbackTimeout === undefined ? 10_000 : Duration.toMillis(config.rollbackTimeout))
    const faults = makeFaults({
      experiment,
      planned: p,
      config,
      budget,
      extra,
      ledger,
      recorder,
      rollbackTimeoutMs,
      requestAbort: (cause, detail) => requestAbort({ cause, detail }),
    })

    // ── steps ──
    // Every observation goes through the per-target probe rate of the budget.
    const observe = <A>(probe: Probe<A>) => Effect.andThen(ctx.throttle(probe.target.id), observeOf<A>(probe))
    // Planned targets are exactly the declared ones the run may touch.
    const declared = (step: string, probe: Probe<unknown>) =>
      p.classifications.has(probe.target.id)
        ? Effect.void
        : Effect.fail(fail(new OutsideManifest({ step, target: probe.target.id, detail: "the target is not declared (or not planned) in `targets`" })))

    const checkEnv = { recorder, observe, lastInjection: faults.lastInjection }
    const check = <A>(c: Check<A>, phase: Journal.Phase) => Effect.andThen(declared(c.id, c.probe), runCheck(c, phase, checkEnv))
    const checks = (list: ReadonlyArray<Check<any>>, phase: Journal.Phase) =>
      Effect.gen(function* () {
        let held = true
        for (const c of list) held = (yield* check(c, phase)) && held
        return held
      })

    const observeStep = <A>(probe: Probe<A>, phase: Journal.Phase): Effect.Effect<A, ShiftupError> =>
      Effect.gen(function* () {
        yield* declared(probe.id, probe)
        const { exit, t0, t1 } = yield* recorder.timed(probe.id, phase, "probe", observe(probe))
        const base = { id: probe.id, phase, kind: "probe" as const, target: probe.target.id, startedAt: iso(t0), endedAt: iso(t1), durationMs: t1 - t0 }
        recorder.step(Exit.isSuccess(exit) ? { ...base, outcome: "ok", observed: Journal.snapshot(exit.value) } : { ...base, outcome: "error", message: describeUnknown(Cause.squash(exit.cause)) })
        return yield* exit
      })

    const waitStep = (id: string, ms: number, phase: Journal.Phase) =>
      Effect.gen(function* () {
        const { t0, t1 } = yield* recorder.timed(id, phase, "wait", Effect.sleep(ms))
        recorder.step({ id, phase, kind: "wait", startedAt: iso(t0), endedAt: iso(t1), durationMs: t1 - t0, outcome: "ok" })
      })

    // A generator's checks and waits are built at run time: the options test of Experiment.make.
    const validOptions = (path: string, item: unknown): Effect.Effect<void, ShiftupError> => {
      const issues = optionIssues(path, item)
      return issues.length === 0 ? Effect.void : Effect.fail(fail(new InvalidExperiment({ source: `"${experiment.id}" (generator step)`, issues })))
    }
    const beforeStep = options.beforeStep
    const gate = (id: string, kind: Journal.StepRecord["kind"]): Effect.Effect<void, ShiftupError> =>
      beforeStep === undefined
        ? Effect.void
        : Effect.tryPromise({ try: (signal) => beforeStep({ runId, id, phase: "method", kind }, signal), catch: (e) => (isShiftupError(e) ? e : fail(new ApprovalDeclined({ step: id, detail: describeUnknown(e) }))) })
    const runStep = (step: Step.Step, scope: Scope.Scope): Effect.Effect<void, ShiftupError> =>
      beforeStep === undefined ? runStepNow(step, scope) : Effect.andThen(gate(step.id, step._tag === "Fault" ? "fault" : step._tag === "Check" ? "check" : step._tag === "Probe" ? "probe" : "wait"), runStepNow(step, scope))
    const runStepNow = (step: Step.Step, scope: Scope.Scope): Effect.Effect<void, ShiftupError> => {
      switch (step._tag) {
        case "Fault":
          return faults.inject(step, scope, "method")
        case "Check":
          return Effect.asVoid(check(step, "method"))
        case "Probe":
          return Effect.asVoid(observeStep(step, "method"))
        case "Wait":
          return waitStep(step.id, step.ms, "method")
      }
    }

    const body = (scope: Scope.Scope): Effect.Effect<void, ShiftupError> => {
      if (experiment.body._tag === "Steps") return Effect.forEach(experiment.body.steps, (s) => runStep(s, scope), { discard: true })
      const removable = new Map<string, Scope.Closeable>()
      const genCtx: Context = {
        runId,
        observe: (probe) => observeStep(probe, "method"),
        inject: (fault) =>
          Effect.andThen(
            gate(fault.id, "fault"),
            // Each fault in a child scope of the method's, so `remove` can roll back just that one.
            Effect.flatMap(Scope.fork(scope), (child) => {
              removable.set(fault.id, child)
              return faults.inject(fault, child, "method")
            }),
          ),
        remove: (fault) =>
          Effect.suspend(() => {
            const child = removable.get(fault.id)
            if (child === undefined)
              return Effect.fail(fail(new InvalidExperiment({ source: `ctx.remove(${fault.id})`, issues: [{ path: "fault", message: `"${fault.id}" is not active in this run (never injected, or already removed)` }] })))
            removable.delete(fault.id)
            return faults.remove(child)
          }),
        check: (c) => Effect.andThen(validOptions("ctx.check", c), Effect.andThen(gate(c.id, "check"), check(c, "method"))),
        wait: (d) => {
          // Built like a declarative wait, so the same checks apply (no NaN or negative durations).
          const w = Step.wait(d)
          return Effect.andThen(validOptions("ctx.wait", w), waitStep(w.id, w.ms, "method"))
        },
      }
      const gen = experiment.body.run
      return Effect.gen(() => gen(genCtx))
    }

    // Stop conditions: one fiber per guard, racing the method.
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

    const abortedFirst: Effect.Effect<Raced<never>> = Effect.as(Deferred.await(aborted), { _tag: "Aborted" } as const)
    const guarded = <A>(work: Effect.Effect<A, ShiftupError>, withGuards: boolean): Effect.Effect<Raced<A>, ShiftupError> =>
      Effect.raceFirst(
        Effect.map(work, (value): Raced<A> => ({ _tag: "Done", value })),
        withGuards && watchGuards.length > 0 ? Effect.raceAll([abortedFirst, ...(watchGuards as ReadonlyArray<Effect.Effect<never>>)]) : abortedFirst,
      )

    // Each resource is an acquireRelease in the scope around the whole program: released after the
    // rollback and the final checks, in reverse order, each with the rollback timeout; a release
    // that fails is a rollback failure (something may be left behind).
    const acquireResources = Effect.forEach(
      Object.values(experiment.resources),
      (r) =>
        Effect.gen(function* () {
          const cap = resourceOf(r)
          const target = r.target?.id ?? r.id
          recorder.emit({ _tag: "StepStarted", id: `resource ${r.id}`, phase: "before", kind: "resource" })
          const t0 = yield* Clock.currentTimeMillis
          const started = cap.acquire.pipe(
            Effect.timeoutOption(resourceTimeoutMs),
            Effect.flatMap((o) => (o._tag === "Some" ? Effect.succeed(o.value) : Effect.fail(fail(new InjectionFailed({ fault: `resource ${r.id}`, target, detail: `it did not start within ${resourceTimeoutMs / 1000} s` }))))),
          )
          const exit = yield* Effect.exit(Effect.acquireRelease(started, (value) => releaseResource(r.id, target, cap.release(value))))
          const t1 = yield* Clock.currentTimeMillis
          const base = { id: `resource ${r.id}`, phase: "before" as const, kind: "resource" as const, ...(r.target === undefined ? {} : { target: r.target.id }), startedAt: iso(t0), endedAt: iso(t1), durationMs: t1 - t0 }
          recorder.step(Exit.isSuccess(exit) ? { ...base, outcome: "ok", message: r.title } : { ...base, outcome: "error", message: describeUnknown(Cause.squash(exit.cause)) })
          return yield* exit
        }),
      { discard: true },
    )
    const releaseResource = (id: string, target: string, release: Effect.Effect<void, ShiftupError>) =>
      Effect.gen(function* () {
        const t0 = yield* Clock.currentTimeMillis
        const exit = yield* release.pipe(Effect.timeoutOption(rollbackTimeoutMs), Effect.exit)
        const t1 = yield* Clock.currentTimeMillis
        const error = Exit.isFailure(exit) ? describeUnknown(Cause.squash(exit.cause)) : exit.value._tag === "None" ? `no answer within ${rollbackTimeoutMs} ms` : undefined
        recorder.rollback({ seq: 0, fault: `resource ${id}`, target, compensation: "release the resource", startedAt: iso(t0), endedAt: iso(t1), durationMs: t1 - t0, outcome: error === undefined ? "restored" : "failed", ...(error === undefined ? {} : { error }) })
      })

    const program = Effect.gen(function* () {
      // ── resources: after the plan, before the steady state; released at the very end ──
      yield* acquireResources
      // ── steady state before ──
      recorder.emit({ _tag: "Phase", phase: "before" })
      const before = yield* guarded(checks(experiment.hypothesis, "before"), false)
      if (before._tag === "Aborted") return
      if (!before.value) return "deviated-before" as const

      // ── method, inside one scope; closing it rolls back every fault in reverse order ──
      recorder.emit({ _tag: "Phase", phase: "method" })
      const methodExit = yield* Effect.exit(
        Effect.scoped(
          Effect.gen(function* () {
            const scope = yield* Effect.scope
            const deadline = Effect.sleep(budget.maxDurationMs).pipe(
              Effect.andThen(requestAbort({ cause: "timeout", detail: `the method exceeded budget.maxDuration (${budget.maxDurationMs} ms)` })),
              Effect.andThen(Effect.never),
            )
            return yield* guarded(Effect.raceFirst(body(scope), deadline), true)
          }),
        ),
      )
      if (Exit.isFailure(methodExit)) {
        const e = Cause.squash(methodExit.cause)
        if (isShiftupError(e)) recorder.error(e)
        else recorder.errors.push({ tag: "Defect", message: describeUnknown(e) })
        yield* settleAbort({ cause: "error", detail: describeUnknown(e) })
        return
      }
      if ((yield* Ref.get(abortRef)) !== undefined) return

      // ── recovery checks (they may wait for it), then the steady state after rollback ──
      recorder.emit({ _tag: "Phase", phase: "recovery" })
      if ((yield* guarded(checks(experiment.recovery, "recovery"), false))._tag === "Aborted") return
      recorder.emit({ _tag: "Phase", phase: "after" })
      yield* guarded(checks(experiment.hypothesis, "after"), false)
      return
    }).pipe(
      Effect.catch((e: ShiftupError) => Effect.andThen(Effect.sync(() => recorder.error(e)), settleAbort({ cause: "error", detail: e.message }))),
      Effect.scoped,
      Effect.provideService(RunContext, ctx),
    )

    const rollbackSummary = () => {
      const failed = recorder.rollbacks.filter((r) => r.outcome !== "restored")
      const all = recorder.rollbacks.length
      return { failed, text: all === 0 ? "nothing was injected" : `${all - failed.length}/${all} rollback(s) complete` }
    }

    const outcome = yield* program.pipe(
      Effect.onExit(() => Effect.sync(() => options.signal?.removeEventListener("abort", onSignal))),
      // A missing end record loses nothing (recover decides by pending intents), but is journaled.
      Effect.ensuring(Effect.catch(Effect.suspend(() => (opened === undefined ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (at) => opened?.append({ type: "end", status: "finished", at: iso(at) }) ?? Effect.void))), (e) => Effect.sync(() => recorder.error(e)))),
      // Interrupted from outside (a test timeout, a parent fiber): the scope has already rolled
      // back by now; leave a journal that says so.
      Effect.onInterrupt(() =>
        Effect.gen(function* () {
          yield* settleAbort({ cause: "signal", detail: "the run's fiber was interrupted" })
          const rb = rollbackSummary()
          if (rb.failed.length === 0) leases.release()
          yield* finish(rb.failed.length > 0 ? "rollback-incomplete" : "aborted", `interrupted; ${rb.text}`)
        }),
      ),
    )

    const rb = rollbackSummary()
    // A member whose rollback is incomplete stays leased: the ledger still names it, and only
    // `recover` may take it over.
    if (rb.failed.length === 0) leases.release()
    const findings = recorder.findings
    if (rb.failed.length > 0)
      return yield* finish("rollback-incomplete", `ROLLBACK INCOMPLETE: ${rb.failed.map((r) => `${r.fault} on ${r.target}: ${r.error ?? r.outcome}`).join("; ")}. Run \`shiftup recover\` now`)
    // The world was restored, but a ledger that could not record it (a full disk) still lists the
    // compensations as pending: not a clean ledger, so not a clean exit.
    const unrecorded = ledgerStillPending(ledgers, ledgerPath)
    if (unrecorded !== undefined) return yield* finish("rollback-incomplete", `ROLLBACK NOT RECORDED: every rollback ran, but ${unrecorded}. Free the space (or fix the ledger), then run \`shiftup recover\`: it replays them again, idempotently`)
    const abort = yield* Ref.get(abortRef)
    if (abort !== undefined) return yield* finish("aborted", `aborted (${abort.cause}): ${abort.detail}; ${rb.text}`)
    if (outcome === "deviated-before") return yield* finish("failed", `steady state did not hold before the method, so nothing was injected: ${findings.map((f) => f.title).join("; ")}`)
    if (findings.length > 0) return yield* finish("failed", `${findings.length} finding(s): ${findings.map((f) => f.title).join("; ")}; ${rb.text}`)
    return yield* finish("passed", `every check held; ${rb.text}`)
  })))
