/**
 * An experiment registered as a vitest suite: the experiment runs once (in `beforeAll`), and each
 * assertion is its own test reading the journal — the plan, every hypothesis check before, every
 * fault and check of a declarative method (a generator method is one test: its checks are only
 * known at run time), every recovery check, the hypothesis after rollback, the run completing
 * without an abort, and the rollback. A violated check fails its test with the finding. A refused
 * run is one failing test (the plan's, with the rule, target and signal) and the rest skipped;
 * `expectRefused` turns that around for tests of the safety floor.
 */
import { afterAll, beforeAll, describe, it, type TestContext } from "vitest"
import type { Experiment } from "../Experiment.ts"
import type { Check } from "../Expect.ts"
import type { Finding, Journal, Phase, StepRecord } from "../Journal.ts"
import { runPromise, type RunOptions } from "../Runner.ts"
import { record } from "./summary.ts"

export interface DescribeOptions {
  /** Suite name; default `<id> — <title>`. */
  readonly name?: string
  /** Options of the run (config, stateDir, journal…). Its signal is managed by the suite. */
  readonly run?: Omit<RunOptions, "signal">
  /**
   * Checks expected to be violated (a known weakness being tracked): their tests are registered
   * with `it.fails`, so they pass while the weakness is there and fail once it is fixed. By check
   * id, or `<phase>: <check id>`.
   */
  readonly knownFailures?: ReadonlyArray<string>
  /** Longest the run may take before it is aborted and rolled back; default 120 s. */
  readonly timeout?: number
  /**
   * The experiment must be refused: a test of the safety floor. A rule id (e.g.
   * `floor.production-observe-only`) or a predicate on the refusal. The run is then only planned
   * (a dry run), so a floor that fails to refuse still touches nothing. The plan test passes when
   * the run is refused as expected, and fails when it is not refused or refused by another rule;
   * every other test is skipped.
   */
  readonly expectRefused?: string | ((refusal: Refusal, journal: Journal) => boolean)
}

export type Refusal = NonNullable<Journal["refusal"]>

/** The error a failed assertion test throws: the finding, as a person reads it. */
export class FindingError extends Error {
  override readonly name = "FindingError"
}

const show = (u: unknown) => (typeof u === "string" ? u : (JSON.stringify(u) ?? String(u)))

interface Planned {
  readonly phase: Phase
  readonly id: string
  /** `generator`: the whole method of a generator experiment. */
  readonly kind: StepRecord["kind"] | "generator"
}

const planned = (experiment: Experiment): ReadonlyArray<Planned> => {
  const checks = (list: ReadonlyArray<Check<unknown>>, phase: Phase): ReadonlyArray<Planned> => list.map((c) => ({ phase, id: c.id, kind: "check" }))
  const method: ReadonlyArray<Planned> =
    experiment.body._tag === "Steps"
      ? experiment.body.steps.flatMap((s): ReadonlyArray<Planned> => (s._tag === "Check" ? [{ phase: "method", id: s.id, kind: "check" }] : s._tag === "Fault" ? [{ phase: "method", id: s.id, kind: "fault" }] : []))
      : [{ phase: "method", id: "every check of the generator held", kind: "generator" }]
  return [...checks(experiment.hypothesis, "before"), ...method, ...checks(experiment.recovery, "recovery"), ...checks(experiment.hypothesis, "after")]
}

/**
 * The environment (or data store) evidence behind a refusal, as a person checks it:
 * `production (label env=prod → production)`, or `unknown: no environment signal, counted as production`.
 */
const evidenceOf = (j: Journal, r: Refusal): string | undefined => {
  const t = j.plan?.targets.find((x) => x.id === r.target || x.key === r.target)
  if (t === undefined) return undefined
  const signal = (x: { readonly source: string; readonly key: string; readonly value: string; readonly means: string }) => `${x.source} ${x.key}=${x.value} → ${x.means}`
  if (r.rule.includes("data-store")) return `data store${t.dataStore.engine === undefined ? "" : ` ${t.dataStore.engine}`} (${t.dataStore.signals.map(signal).join("; ") || "no signal listed"}), environment ${t.effective}`
  if (t.environment === "unknown") return `environment unknown: no signal says which, so it counts as production`
  const decisive = t.environmentSignals.filter((x) => x.means === t.effective)
  return `environment ${t.effective} (${(decisive.length > 0 ? decisive : t.environmentSignals).map(signal).join("; ")})`
}

/** A refusal as one test failure: the rule, the target, the signal that decided, the reason. */
const refusalText = (j: Journal): string => {
  const r = j.refusal
  if (r === undefined) return `refused before any side effect: ${j.summary}`
  const evidence = evidenceOf(j, r)
  return [
    `refused before any side effect by rule ${r.rule}`,
    `  target: ${r.target}${evidence === undefined ? "" : ` — ${evidence}`}`,
    `  step: ${r.step}`,
    `  reason: ${r.reason}`,
    `  nothing ran, so the experiment's other tests are skipped`,
  ].join("\n")
}

/** The failure of one step, or undefined if it held. */
const verdict = (j: Journal, step: StepRecord | undefined, what: string): string | undefined => {
  if (step === undefined) return `${what} did not run: ${j.summary}`
  if (step.outcome === "held" || step.outcome === "ok") return undefined
  if (step.outcome === "error") return `${what} failed: ${step.message ?? "error"}`
  const f = j.findings.find((x) => x.id === step.id && x.phase === step.phase)
  return [
    `finding${f === undefined ? "" : ` [${f.severity}]`}: ${step.id}`,
    `  expected ${step.expected ?? "?"}, observed ${show(step.observed)} (${step.samples ?? 1} sample(s) over ${step.durationMs} ms; run ${j.runId})`,
    ...(f?.evidence === undefined ? [] : [`  ${f.evidence}`]),
    ...(step.message === undefined ? [] : [`  ${step.message}`]),
    ...(f?.remediation === undefined ? [] : [`  fix: ${f.remediation}`]),
  ].join("\n")
}

/**
 * Registers an experiment as a suite with one test per assertion.
 *
 * @example
 * describeExperiment(failsClosedWhenAuthIsDown, { run: { stateDir } })
 */
export const describeExperiment = (experiment: Experiment, options: DescribeOptions = {}): void => {
  const known = new Set(options.knownFailures ?? [])
  const timeout = options.timeout ?? 120_000
  const expectRefused = options.expectRefused
  describe(options.name ?? `${experiment.id} — ${experiment.title}`, () => {
    let journal: Journal | undefined
    let running: Promise<Journal> | undefined
    const controller = new AbortController()
    beforeAll(async () => {
      const deadline = setTimeout(() => controller.abort(`the suite's timeout (${timeout} ms) is near`), Math.max(0, timeout - 2000))
      try {
        running = runPromise(experiment, { journal: false, ...options.run, ...(expectRefused === undefined ? {} : { dryRun: true }), signal: controller.signal })
        journal = await running
      } finally {
        clearTimeout(deadline)
      }
    }, timeout)
    // However the suite ends, nothing stays injected.
    afterAll(async () => {
      if (!controller.signal.aborted) controller.abort("the suite ended")
      await running?.catch(() => undefined)
    }, timeout)
    const get = (): Journal => {
      if (journal === undefined) throw new Error("the experiment did not run (see the suite's beforeAll error)")
      return journal
    }
    /** Nothing ran: the plan's test says why, the others are skipped rather than repeating it. */
    const nothingRan = (j: Journal) => j.status === "refused" || j.status === "invalid" || expectRefused !== undefined
    /** Findings a test has recorded; the last test records the rest (say, of a test filtered out). */
    const claimed = new Set<Finding>()
    const claim = (task: TestContext["task"], j: Journal, findings: ReadonlyArray<Finding>) => {
      for (const f of findings) claimed.add(f)
      if (findings.length > 0) record(task, j, findings)
    }

    if (expectRefused === undefined)
      it("plan: every target resolved and allowed", (ctx) => {
        const j = get()
        if (j.status !== "refused" && j.status !== "invalid") return
        record(ctx.task, j)
        throw new FindingError(j.status === "refused" ? refusalText(j) : j.summary)
      })
    else
      it(`plan: refused${typeof expectRefused === "string" ? ` by ${expectRefused}` : ""} before any side effect (dry run)`, () => {
        const j = get()
        const r = j.refusal
        if (j.status !== "refused" || r === undefined) throw new FindingError(`expected the experiment to be refused${typeof expectRefused === "string" ? ` by ${expectRefused}` : ""}, but it was not: ${j.summary}`)
        const matches = typeof expectRefused === "string" ? r.rule === expectRefused : expectRefused(r, j)
        if (!matches) throw new FindingError(`the experiment was refused, but not as expected${typeof expectRefused === "string" ? ` (by ${expectRefused})` : " (the predicate said no)"}:\n${refusalText(j)}`)
      })

    const seen = new Map<string, number>()
    for (const p of planned(experiment)) {
      const key = `${p.phase}: ${p.id}`
      const nth = seen.get(key) ?? 0
      seen.set(key, nth + 1)
      if (p.kind === "generator") {
        it(key, (ctx) => {
          const j = get()
          if (nothingRan(j)) return ctx.skip()
          const bad = j.steps.filter((s) => s.phase === "method" && s.outcome !== "held" && s.outcome !== "ok")
          claim(ctx.task, j, j.findings.filter((f) => f.phase === "method"))
          if (bad.length > 0) throw new FindingError(bad.map((s) => verdict(j, s, s.id)).join("\n"))
          if (j.abort !== undefined || !j.steps.some((s) => s.phase === "method")) throw new FindingError(`the method did not complete: ${j.summary}`)
        })
        continue
      }
      const name = p.kind === "fault" ? `${p.phase}: ⚡ inject ${p.id}` : key
      const register = known.has(p.id) || known.has(key) ? it.fails : it
      register(name, (ctx) => {
        const j = get()
        if (nothingRan(j)) return ctx.skip()
        const same = j.steps.filter((s) => s.phase === p.phase && s.id === p.id && s.kind === p.kind)
        const step = same[nth]
        if (step?.outcome === "violated") {
          // Findings follow their violated steps in order: this step's is the k-th of its id.
          const k = same.slice(0, nth).filter((s) => s.outcome === "violated").length
          const finding = j.findings.filter((f) => f.phase === p.phase && f.id === p.id)[k]
          claim(ctx.task, j, finding === undefined ? [] : [finding])
        }
        const failure = verdict(j, step, name)
        if (failure !== undefined) throw new FindingError(failure)
      })
    }
    it("run: completed without an abort", (ctx) => {
      const j = get()
      if (nothingRan(j)) return ctx.skip()
      if (j.abort !== undefined) throw new FindingError(`aborted (${j.abort.cause}): ${j.abort.detail}`)
    })

    it("rollback: every fault restored", (ctx) => {
      const j = get()
      if (nothingRan(j)) return ctx.skip()
      // The run is recorded here once more, with the findings no check test answered for.
      record(ctx.task, j, j.findings.filter((f) => !claimed.has(f)))
      const bad = j.rollbacks.filter((r) => r.outcome !== "restored")
      if (bad.length > 0 || j.status === "rollback-incomplete")
        throw new FindingError(`ROLLBACK INCOMPLETE — run \`shiftup recover\`: ${bad.map((r) => `${r.fault} on ${r.target}: ${r.outcome}${r.error === undefined ? "" : ` (${r.error})`}`).join("; ")}`)
    })
  })
}
