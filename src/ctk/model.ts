/**
 * A Chaos Toolkit experiment as shiftup reads it: the subset of the open experiment format that
 * shiftup runs (https://chaostoolkit.org/reference/api/experiment/). These are plain data
 * types, checked by `./validate.ts` from a file and by the type checker in TypeScript
 * (`shiftup import ctk` writes them), so one shape serves both.
 */

export type Json = string | number | boolean | null | ReadonlyArray<Json> | { readonly [k: string]: Json }

/** `{ "type": "env", "key": "NAME" }`: a value read from the environment when the run starts. */
export interface EnvValue {
  readonly type: "env"
  readonly key: string
  /** Used when the variable is not set (configuration only). */
  readonly default?: Json
  /** `int`, `float`, `bool`, `str`, `json` (configuration only): how the text is converted. */
  readonly env_var_type?: "int" | "float" | "bool" | "str" | "json"
}

export type ConfigurationValue = Json | EnvValue

/** A secret: inline, or from the environment. */
export type SecretValue = string | EnvValue

export interface HttpProvider {
  readonly type: "http"
  readonly url: string
  /** Default `GET`. */
  readonly method?: string
  readonly headers?: Readonly<Record<string, string>>
  /** Query string for GET; a JSON body with a JSON `Content-Type`, else a form body. */
  readonly arguments?: Json
  /** Seconds (Chaos Toolkit's `[connect, read]` pair counts as their sum); default 30. */
  readonly timeout?: number | readonly [number, number]
  /** When given, another status fails the activity. */
  readonly expected_status?: number
}

export interface ProcessProvider {
  readonly type: "process"
  /** An executable: a path, or a name looked up on PATH. */
  readonly path: string
  /** A string (split into words, never given to a shell), a list, or `{ name: value }` pairs. */
  readonly arguments?: string | ReadonlyArray<string | number | boolean> | Readonly<Record<string, Json>>
  /** Seconds; default 60. */
  readonly timeout?: number
}

export type Provider = HttpProvider | ProcessProvider

export interface Pauses {
  /** Seconds before the activity. */
  readonly before?: number
  /** Seconds after it. */
  readonly after?: number
}

export type RegexTolerance = { readonly type: "regex"; readonly pattern: string; readonly target?: string }
export type JsonPathTolerance = { readonly type: "jsonpath"; readonly path: string; readonly expect?: Json; readonly count?: number; readonly target?: string }
export type RangeTolerance = { readonly type: "range"; readonly range: readonly [number, number]; readonly target?: string }
/** Another probe, given the value as its `value` argument; it holds when that probe succeeds. */
export type ProbeTolerance = { readonly type: "probe"; readonly name: string; readonly provider: Provider }

/**
 * What a steady-state probe's value must be: a scalar (an integer compares with an HTTP or
 * process status), a list (two numbers: an inclusive range; otherwise membership), or a typed
 * tolerance.
 */
export type Tolerance = string | number | boolean | ReadonlyArray<Json> | RegexTolerance | JsonPathTolerance | RangeTolerance | ProbeTolerance

export interface Activity {
  readonly type: "probe" | "action"
  readonly name: string
  readonly provider: Provider
  readonly pauses?: Pauses
  /** Steady-state probes (and method probes that should be checked). */
  readonly tolerance?: Tolerance
}

export interface Hypothesis {
  readonly title: string
  readonly probes: ReadonlyArray<Activity>
}

export interface CtkExperiment {
  readonly title: string
  readonly description?: string
  readonly tags?: ReadonlyArray<string>
  readonly configuration?: Readonly<Record<string, ConfigurationValue>>
  /** Scope → key → value. */
  readonly secrets?: Readonly<Record<string, Readonly<Record<string, SecretValue>>>>
  readonly "steady-state-hypothesis"?: Hypothesis
  readonly method: ReadonlyArray<Activity>
  readonly rollbacks?: ReadonlyArray<Activity>
  /** `runtime.rollbacks.strategy`: read and reported, but shiftup always rolls back. */
  readonly runtime?: { readonly rollbacks?: { readonly strategy?: string } }
}
