/**
 * The journal: the run's record as a value and as a versioned JSON document
 * (`shiftup.journal/v1`, documented in docs/journal.md). Reporters are functions of it.
 */
import { renameSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { Schema as S } from "effect"
import { ensureDir } from "./internal/dirs.ts"
import type { Signal } from "./internal/classify.ts"
import type { PlanContact } from "./internal/discover.ts"
import type { Decision } from "./Policy.ts"
import type { Environment } from "./Target.ts"

export const schema = "shiftup.journal/v1"

export type Status = "passed" | "failed" | "refused" | "aborted" | "invalid" | "rollback-incomplete"

/** The CLI's exit codes (DESIGN.md), a contract for CI users. */
export const exitCodes: Readonly<Record<Status, number>> = { passed: 0, failed: 1, refused: 2, aborted: 3, invalid: 4, "rollback-incomplete": 5 }

export type Phase = "before" | "method" | "after" | "recovery" | "guard"

export interface PlannedTarget {
  readonly key: string
  readonly id: string
  readonly kind: string
  readonly environment: Environment
  readonly effective: Exclude<Environment, "unknown">
  readonly environmentSignals: ReadonlyArray<Signal>
  /** When environment signals disagree: which, and that the most restrictive won. */
  readonly conflict?: string
  readonly dataStore: {
    readonly is: boolean
    readonly engine?: string
    readonly signals: ReadonlyArray<Signal>
    /** What decided it: passive signals, a protocol fingerprint, or why no fingerprint was needed. */
    readonly checkedBy?: string
  }
  readonly population: number
  readonly members: ReadonlyArray<string>
  readonly owner?: string
  /** The environment profile in force (docs/misconfig.md) and why; absent in journals written before profiles governed runs. */
  readonly profile?: { readonly name: string; readonly why: string; readonly faultClasses: ReadonlyArray<"observe" | "disrupt" | "destroy">; readonly maxProbeRate: number }
  /** Probes per second on this target (`null`: unpaced) and which cap that is: the budget's, or the profile's. */
  readonly probeRate?: { readonly perSecond: number | null; readonly from: string }
}

export interface PlannedFault {
  readonly id: string
  readonly target: string
  readonly safety: "disrupt" | "destroy"
  /** The compensation when it is known before the run; `computed at injection` otherwise. */
  readonly compensation: string
}

/** The effective budget (Budget.ts); `probeRates` is absent in journals written before it existed. */
export interface PlannedBudget {
  readonly maxTargets: number
  readonly maxPercent: number
  readonly maxConcurrentFaults: number
  readonly maxFaultTimeMs: number
  readonly maxDestroySteps: number
  readonly maxDurationMs: number
  readonly maxProbeRate: number
  readonly probeRates?: { readonly production: number; readonly staging: number | null; readonly development: number | null; readonly lab: number | null }
  readonly egress: ReadonlyArray<string>
}

export interface Plan {
  readonly targets: ReadonlyArray<PlannedTarget>
  readonly decisions: ReadonlyArray<Decision>
  readonly faults: ReadonlyArray<PlannedFault>
  readonly budget: PlannedBudget
  readonly use: { readonly targets: number; readonly faults: number; readonly destroySteps: number; readonly maxPercent: number }
  /** Every connection planning opened (protocol fingerprints, faults' read-only preflight checks), with what was sent and received. */
  readonly contacts?: ReadonlyArray<PlanContact>
}

/** One observation of a repeated check (`during`, `eventually`, `detects`). */
export interface Sample {
  /** When its answer arrived, in ms after the check started. */
  readonly atMs: number
  /** Whether it matched the check's expectation. */
  readonly held: boolean
  /** The value: JSON-safe, and a string cut at 200 characters when its JSON is longer. */
  readonly value?: unknown
  /** Set instead of `value` when the probe failed (`eventually`/`detects` poll through errors). */
  readonly error?: string
}

/**
 * Every sample of a repeated check, counted exactly, and the samples themselves up to a bound:
 * all of them up to 500; past that a uniform subsample (every k-th, k a power of two, at most
 * 500) plus the first 250 samples that did not match. `dropped` says how many are not listed.
 */
export interface Sampling {
  /** How many of the step's `samples` did not match. */
  readonly violated: number
  /** When the first sample that did not match arrived, in ms after the check started. */
  readonly firstViolationMs?: number
  /** When the check started, in ms after the last fault injection; absent when nothing was injected before it. */
  readonly sinceInjectionMs?: number
  /** The kept samples, in the order their answers arrived. */
  readonly kept: ReadonlyArray<Sample>
  /** How many samples are not in `kept`. */
  readonly dropped: number
}

export interface StepRecord {
  readonly id: string
  readonly phase: Phase
  /** `resource`: a run-owned resource acquired before the steady state (Resource.ts). */
  readonly kind: "fault" | "check" | "probe" | "wait" | "resource"
  readonly target?: string
  readonly startedAt: string
  readonly endedAt: string
  readonly durationMs: number
  readonly outcome: "ok" | "held" | "violated" | "error"
  readonly expected?: string
  readonly observed?: unknown
  readonly samples?: number
  /** Repeated checks: the samples, with how many did not match and when the first of those came. */
  readonly sampling?: Sampling
  readonly metric?: { readonly name: string; readonly ms: number }
  readonly message?: string
}

export interface Finding {
  readonly id: string
  readonly severity: "critical" | "high" | "medium" | "low"
  readonly title: string
  readonly phase: Phase
  readonly target: string
  readonly expected: string
  readonly observed: unknown
  /** Repeated checks: what the samples showed, e.g. `7 of 15 samples observed 200, first at +412 ms`. */
  readonly evidence?: string
  readonly remediation?: string
  /** The weakness class, e.g. `CWE-306`, when the check names one (shiftup/http's checks do). */
  readonly cwe?: string
}

export interface RollbackRecord {
  readonly seq: number
  readonly fault: string
  readonly target: string
  readonly compensation: string
  readonly startedAt: string
  readonly endedAt: string
  readonly durationMs: number
  readonly outcome: "restored" | "failed" | "timeout"
  readonly error?: string
}

export interface ErrorRecord {
  readonly tag: string
  readonly message: string
}

export interface Journal {
  readonly schema: typeof schema
  readonly runId: string
  readonly experiment: { readonly id: string; readonly title: string; readonly description: string; readonly tags: ReadonlyArray<string> }
  readonly startedAt: string
  readonly endedAt: string
  readonly durationMs: number
  readonly status: Status
  readonly exitCode: number
  /** One sentence a person acts on. */
  readonly summary: string
  readonly dryRun: boolean
  readonly plan?: Plan
  /** Set when `status` is `refused`: the first refusal; all decisions are in `plan.decisions`. */
  readonly refusal?: { readonly rule: string; readonly target: string; readonly step: string; readonly reason: string }
  /** Set when `status` is `aborted`. */
  readonly abort?: { readonly cause: "signal" | "guard" | "timeout" | "budget" | "error"; readonly detail: string }
  readonly steps: ReadonlyArray<StepRecord>
  readonly findings: ReadonlyArray<Finding>
  readonly rollbacks: ReadonlyArray<RollbackRecord>
  readonly errors: ReadonlyArray<ErrorRecord>
  readonly ledger?: string
}

// ── the documented schema (docs/journal.md), for reading journals back ──

const opt = S.optionalKey
const Str = S.String
const Num = S.Number
const Strings = S.Array(Str)
const Environment = S.Literals(["production", "staging", "development", "lab", "unknown"])
const PhaseS = S.Literals(["before", "method", "after", "recovery", "guard"])
const Severity = S.Literals(["critical", "high", "medium", "low"])
const SignalS = S.Struct({ source: S.Literals(["explicit", "label", "name", "hostname", "env-var", "image", "process", "port", "fingerprint", "exception", "default"]), key: Str, value: Str, means: Str, member: opt(Str) })
const ContactS = S.Struct({ address: Str, handshake: Str, sent: Str, received: Str, bytesSent: Num, bytesReceived: Num, ms: Num, target: Str, member: Str, engine: opt(Str), evidence: Str })

const PlanS = S.Struct({
  targets: S.Array(
    S.Struct({
      key: Str,
      id: Str,
      kind: Str,
      environment: Environment,
      effective: S.Literals(["production", "staging", "development", "lab"]),
      environmentSignals: S.Array(SignalS),
      conflict: opt(Str),
      dataStore: S.Struct({ is: S.Boolean, engine: opt(Str), signals: S.Array(SignalS), checkedBy: opt(Str) }),
      population: Num,
      members: Strings,
      owner: opt(Str),
      profile: opt(S.Struct({ name: Str, why: Str, faultClasses: S.Array(S.Literals(["observe", "disrupt", "destroy"])), maxProbeRate: Num })),
      probeRate: opt(S.Struct({ perSecond: S.NullOr(Num), from: Str })),
    }),
  ),
  decisions: S.Array(S.Struct({ step: Str, target: Str, safety: S.Literals(["observe", "disrupt", "destroy"]), allowed: S.Boolean, rule: Str, reason: Str })),
  faults: S.Array(S.Struct({ id: Str, target: Str, safety: S.Literals(["disrupt", "destroy"]), compensation: Str })),
  budget: S.Struct({ maxTargets: Num, maxPercent: Num, maxConcurrentFaults: Num, maxFaultTimeMs: Num, maxDestroySteps: Num, maxDurationMs: Num, maxProbeRate: Num, probeRates: S.optionalKey(S.Struct({ production: Num, staging: S.NullOr(Num), development: S.NullOr(Num), lab: S.NullOr(Num) })), egress: Strings }),
  use: S.Struct({ targets: Num, faults: Num, destroySteps: Num, maxPercent: Num }),
  contacts: opt(S.Array(ContactS)),
})

const SampleS = S.Struct({ atMs: Num, held: S.Boolean, value: opt(S.Unknown), error: opt(Str) })
const SamplingS = S.Struct({ violated: Num, firstViolationMs: opt(Num), sinceInjectionMs: opt(Num), kept: S.Array(SampleS), dropped: Num })

const StepS = S.Struct({
  id: Str,
  phase: PhaseS,
  kind: S.Literals(["fault", "check", "probe", "wait", "resource"]),
  target: opt(Str),
  startedAt: Str,
  endedAt: Str,
  durationMs: Num,
  outcome: S.Literals(["ok", "held", "violated", "error"]),
  expected: opt(Str),
  observed: opt(S.Unknown),
  samples: opt(Num),
  sampling: opt(SamplingS),
  metric: opt(S.Struct({ name: Str, ms: Num })),
  message: opt(Str),
})

/**
 * `shiftup.journal/v1` as documented in docs/journal.md. Fields a reader does not know are
 * ignored when decoding (a newer writer may add some); every documented field is checked.
 */
export const JournalSchema = S.Struct({
  schema: S.Literal(schema),
  runId: Str,
  experiment: S.Struct({ id: Str, title: Str, description: Str, tags: Strings }),
  startedAt: Str,
  endedAt: Str,
  durationMs: Num,
  status: S.Literals(["passed", "failed", "refused", "aborted", "invalid", "rollback-incomplete"]),
  exitCode: Num,
  summary: Str,
  dryRun: S.Boolean,
  plan: opt(PlanS),
  refusal: opt(S.Struct({ rule: Str, target: Str, step: Str, reason: Str })),
  abort: opt(S.Struct({ cause: S.Literals(["signal", "guard", "timeout", "budget", "error"]), detail: Str })),
  steps: S.Array(StepS),
  findings: S.Array(
    S.Struct({ id: Str, severity: Severity, title: Str, phase: PhaseS, target: Str, expected: Str, observed: S.Unknown, evidence: opt(Str), remediation: opt(Str), cwe: opt(Str) }),
  ),
  rollbacks: S.Array(
    S.Struct({ seq: Num, fault: Str, target: Str, compensation: Str, startedAt: Str, endedAt: Str, durationMs: Num, outcome: S.Literals(["restored", "failed", "timeout"]), error: opt(Str) }),
  ),
  errors: S.Array(S.Struct({ tag: Str, message: Str })),
  ledger: opt(Str),
})

// The schema and the `Journal` type describe the same document: identical types, so a field
// (optional or not) that one has and the other lacks, or types that differ, fail to compile.
type Identical<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false
const _sameShape: Identical<Journal, typeof JournalSchema.Type> = true

/** Writes the journal atomically (write, then rename), creating directories. */
export const write = (journal: Journal, path: string): void => {
  // Bounded: a recursive mkdir loops forever under a path like /proc/x.
  ensureDir(dirname(path))
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(journal, null, 2)}\n`)
  renameSync(tmp, path)
}

export const defaultPath = (stateDir: string, runId: string) => join(stateDir, "journals", `${runId}.json`)

/** Bounded, JSON-safe copy of an observed value for the journal. */
export const snapshot = (value: unknown): unknown => {
  if (value === null || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value)) || (typeof value === "string" && value.length <= 2048)) return value
  try {
    return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === "string" && v.length > 2048 ? `${v.slice(0, 2048)}… (${v.length} chars)` : typeof v === "bigint" ? String(v) : v)) ?? "null")
  } catch {
    return String(value)
  }
}
