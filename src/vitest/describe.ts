/**
 * An experiment registered as a vitest suite: the experiment runs once (in `beforeAll`), and each
 * assertion is its own test reading the journal — the plan, every hypothesis check before, every
 * fault and check of a declarative method (a generator method is one test: its checks are only
 * known at run time), every recovery check, the hypothesis after rollback, the run completing
 * without an abort, and the rollback. A violated check fails its test with the finding.
 */
import { afterAll, beforeAll, describe, it } from "vitest"
import type { Experiment } from "../Experiment.ts"
import type { Check } from "../Expect.ts"
import type { Journal, Phase, StepRecord } from "../Journal.ts"
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
}

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

/** The failure of one step, or undefined if it held. */
const verdict = (j: Journal, step: StepRecord | undefined, what: string): string | undefined => {
  if (step === undefined) return `${what} did not run: ${j.summary}`
  if (step.outcome === "held" || step.outcome === "ok") return undefined
  if (step.outcome === "error") return `${what} failed: ${step.message ?? "error"}`
  const f = j.findings.find((x) => x.id === step.id && x.phase === step.phase)
  return [
    `finding${f === undefined ? "" : ` [${f.severity}]`}: ${step.id}`,
    `  expected ${step.expected ?? "?"}, observed ${show(step.observed)} (${step.samples ?? 1} sample(s) over ${step.durationMs} ms; run ${j.runId})`,
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
  describe(options.name ?? `${experiment.id} — ${experiment.title}`, () => {
    let journal: Journal | undefined
    let running: Promise<Journal> | undefined
    const controller = new AbortController()
    beforeAll(async () => {
      const deadline = setTimeout(() => controller.abort(`the suite's timeout (${timeout} ms) is near`), Math.max(0, timeout - 2000))
      try {
        running = runPromise(experiment, { journal: false, ...options.run, signal: controller.signal })
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

    it("plan: every target resolved and allowed", () => {
      const j = get()
      if (j.status === "refused") throw new FindingError(`refused before any side effect: ${j.refusal === undefined ? j.summary : `${j.refusal.rule}: ${j.refusal.reason}`}`)
      if (j.status === "invalid") throw new FindingError(j.summary)
    })

    const seen = new Map<string, number>()
    for (const p of planned(experiment)) {
      const key = `${p.phase}: ${p.id}`
      const nth = seen.get(key) ?? 0
      seen.set(key, nth + 1)
      if (p.kind === "generator") {
        it(key, () => {
          const j = get()
          const bad = j.steps.filter((s) => s.phase === "method" && s.outcome !== "held" && s.outcome !== "ok")
          if (bad.length > 0) throw new FindingError(bad.map((s) => verdict(j, s, s.id)).join("\n"))
          if (j.abort !== undefined || !j.steps.some((s) => s.phase === "method")) throw new FindingError(`the method did not complete: ${j.summary}`)
        })
        continue
      }
      const name = p.kind === "fault" ? `${p.phase}: ⚡ inject ${p.id}` : key
      const register = known.has(p.id) || known.has(key) ? it.fails : it
      register(name, () => {
        const j = get()
        const step = j.steps.filter((s) => s.phase === p.phase && s.id === p.id && s.kind === p.kind)[nth]
        const failure = verdict(j, step, name)
        if (failure !== undefined) throw new FindingError(failure)
      })
    }
    it("run: completed without an abort", () => {
      const j = get()
      if (j.abort !== undefined) throw new FindingError(`aborted (${j.abort.cause}): ${j.abort.detail}`)
    })

    it("rollback: every fault restored", (ctx) => {
      const j = get()
      record(ctx.task, j)
      const bad = j.rollbacks.filter((r) => r.outcome !== "restored")
      if (bad.length > 0 || j.status === "rollback-incomplete")
        throw new FindingError(`ROLLBACK INCOMPLETE — run \`shiftup recover\`: ${bad.map((r) => `${r.fault} on ${r.target}: ${r.outcome}${r.error === undefined ? "" : ` (${r.error})`}`).join("; ")}`)
    })
  })
}
