/**
 * What a repeated check (`during`, `eventually`, `detects`) keeps of its observations: exact
 * counts of every sample, and the samples themselves up to a bound, so a check of 10,000 samples
 * makes a journal of kilobytes, not megabytes. Up to `uniformCap` samples every one is kept;
 * past that a uniform subsample (every k-th, k doubling as needed) plus the first `violationCap`
 * samples that did not match — the ones a reader needs.
 */
import type * as Journal from "../Journal.ts"

/** A sample's value in the journal: JSON-safe and short, as the journal holds hundreds of them. */
const maxValueChars = 200

const bounded = (value: unknown, snapshot: (u: unknown) => unknown): unknown => {
  const safe = snapshot(value)
  const json = JSON.stringify(safe) ?? "null"
  return json.length <= maxValueChars ? safe : `${json.slice(0, maxValueChars)}… (${json.length} chars)`
}

interface Indexed {
  readonly i: number
  readonly sample: Journal.Sample
}

export interface SampleLogOptions {
  /** The check's start (ms, same clock as `add`'s `at`). */
  readonly startedAt: number
  /** The last injection before the check (ms), if any. */
  readonly injectedAt: number | undefined
  readonly snapshot: (u: unknown) => unknown
  readonly uniformCap?: number
  readonly violationCap?: number
}

export class SampleLog {
  total = 0
  violated = 0
  firstViolationMs: number | undefined
  /** When the latest sample arrived, in ms after the check started. */
  lastAtMs: number | undefined
  /** Values that did not match, by their JSON, counted exactly (the first 8 distinct ones). */
  readonly violating = new Map<string, number>()
  private stride = 1
  private uniform: Array<Indexed> = []
  private readonly violations: Array<Indexed> = []
  private readonly options: SampleLogOptions
  private readonly uniformCap: number
  private readonly violationCap: number

  constructor(options: SampleLogOptions) {
    this.options = options
    this.uniformCap = options.uniformCap ?? 500
    this.violationCap = options.violationCap ?? 250
  }

  /** Records one observation: its value (or the probe's error), when its answer arrived, whether it matched. */
  add(at: number, held: boolean, observation: { readonly value: unknown } | { readonly error: string }): void {
    const i = this.total++
    const atMs = at - this.options.startedAt
    this.lastAtMs = atMs
    const keepViolation = !held && this.violations.length < this.violationCap
    const keepUniform = i % this.stride === 0
    // Copying a value costs a JSON round trip: only for a sample that is kept or counted by value.
    if (!keepViolation && !keepUniform && held) return
    const sample: Journal.Sample = "error" in observation ? { atMs, held, error: observation.error.slice(0, maxValueChars) } : { atMs, held, value: bounded(observation.value, this.options.snapshot) }
    if (!held) {
      this.violated++
      this.firstViolationMs ??= atMs
      const key = "error" in observation ? `error: ${sample.error ?? ""}` : (JSON.stringify(sample.value) ?? "undefined")
      const seen = this.violating.get(key)
      if (seen !== undefined) this.violating.set(key, seen + 1)
      else if (this.violating.size < 8) this.violating.set(key, 1)
      if (keepViolation) this.violations.push({ i, sample })
    }
    if (keepUniform) {
      this.uniform.push({ i, sample })
      if (this.uniform.length > this.uniformCap) {
        this.stride *= 2
        this.uniform = this.uniform.filter((x) => x.i % this.stride === 0)
      }
    }
  }

  /** The journal's `sampling`: the counts, and the kept samples in arrival order. */
  sampling(): Journal.Sampling {
    const kept = new Map<number, Journal.Sample>()
    for (const x of this.uniform) kept.set(x.i, x.sample)
    for (const x of this.violations) kept.set(x.i, x.sample)
    const { startedAt, injectedAt } = this.options
    return {
      violated: this.violated,
      ...(this.firstViolationMs === undefined ? {} : { firstViolationMs: this.firstViolationMs }),
      ...(injectedAt === undefined ? {} : { sinceInjectionMs: startedAt - injectedAt }),
      kept: [...kept.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s),
      dropped: this.total - kept.size,
    }
  }
}

/**
 * What a `during` check's samples showed, as a finding says it:
 * `7 of 15 samples observed 200, first at +412 ms (1,642 ms after the last injection)`, or, when
 * the violating values differ, `… violated "never 200" (200 ×5, 500 ×2), first at …`.
 */
export const duringEvidence = (log: SampleLog, expected: string, sinceInjectionMs: number | undefined): string => {
  const values = [...log.violating.entries()]
  const counted = values.reduce((n, [, c]) => n + c, 0)
  const what =
    values.length === 1 && counted === log.violated
      ? `observed ${values[0]?.[0] ?? ""}`
      : `violated "${expected}" (${values.map(([v, c]) => `${v} ×${c}`).join(", ")}${counted < log.violated ? `, ${log.violated - counted} other` : ""})`
  const first = log.firstViolationMs ?? 0
  return `${log.violated} of ${log.total} samples ${what}, first at +${first} ms${sinceInjectionMs === undefined ? "" : ` (${sinceInjectionMs + first} ms after the last injection)`}`
}

/** What an `eventually`/`detects` check's polls showed: none matched, or the match came late. */
export const pollEvidence = (log: SampleLog, matchedAtMs: number | undefined): string =>
  matchedAtMs === undefined
    ? `none of ${log.total} samples matched`
    : `${log.total - 1} of ${log.total} samples did not match; the first match arrived at +${matchedAtMs} ms`
