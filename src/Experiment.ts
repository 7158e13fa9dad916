/**
 * Experiments: a declarative step list (`Experiment.make`) or a generator with typed data flow
 * between steps (`Experiment.gen`). Both are validated when built: every problem is reported at
 * once with its path, as a `ShiftupError` whose reason is `InvalidExperiment`.
 */
import { Duration, Effect, Schema } from "effect"
import { BudgetSchema, type Budget } from "./Budget.ts"
import { isCheck, isGuard, type Check, type Guard } from "./Expect.ts"
import { isFault, type Fault } from "./Fault.ts"
import { decodeAll, durationOption, under } from "./internal/validate.ts"
import { PolicySettingsSchema, type PolicySettings } from "./Policy.ts"
import { isProbe, type Probe } from "./Probe.ts"
import { isResource, type Resource } from "./Resource.ts"
import { fail, InvalidExperiment, type Issue, type ShiftupError } from "./ShiftupError.ts"
import { targetOf, type Step, type Wait } from "./Step.ts"
import { isTarget, type Target } from "./Target.ts"

export const ExperimentTypeId: unique symbol = Symbol.for("shiftup/Experiment") as never

interface Common {
  /** Stable id like `gateway.fails-closed.auth-down`: lowercase, dots and dashes. */
  readonly id: string
  readonly title: string
  readonly description?: string
  readonly tags?: ReadonlyArray<string>
  /** Every target the experiment may touch, by name. Nothing else can be touched. */
  readonly targets: Readonly<Record<string, Target>>
  readonly budget?: Budget
  /** Opt in to observing production targets (probes only; data stores stay refused). */
  readonly observeProduction?: boolean
  /** Narrow the policy for this experiment. */
  readonly policy?: PolicySettings
  /** Steady state: checked before the method and again after rollback. */
  readonly hypothesis?: ReadonlyArray<Check<any>>
  /** Guards watched during the method; when one fails the run aborts and rolls back. */
  readonly stopWhen?: ReadonlyArray<Guard<any>>
  /** Checks after rollback (and the hypothesis), e.g. `Expect.eventually(... within ...)`. */
  readonly recovery?: ReadonlyArray<Check<any>>
  /** Timeout of each rollback; default 10 seconds. */
  readonly rollbackTimeout?: Duration.Input
  /**
   * What the run owns for its duration (a TCP fault proxy, an alert sink, a fixture), by name:
   * started after the plan is accepted, before the steady state; stopped at the very end.
   */
  readonly resources?: Readonly<Record<string, Resource<any>>>
}

export interface Definition extends Common {
  readonly method: ReadonlyArray<Step>
}

/** What a generator-form method can do; every call is checked against policy, manifest and budget. */
export interface Context {
  readonly runId: string
  /** Observes a probe and returns its typed value. */
  readonly observe: <A>(probe: Probe<A>) => Effect.Effect<A, ShiftupError>
  /** Injects a fault (it stays active until rollback). */
  readonly inject: (fault: Fault) => Effect.Effect<void, ShiftupError>
  /**
   * Rolls back one injected fault now, mid-method (its compensation runs and is recorded as a
   * rollback); the others stay. Faults not removed are rolled back at the end, as always.
   */
  readonly remove: (fault: Fault) => Effect.Effect<void, ShiftupError>
  /** Runs a check; returns whether it held (a violation is recorded as a finding). */
  readonly check: <A>(check: Check<A>) => Effect.Effect<boolean, ShiftupError>
  readonly wait: (duration: Duration.Input) => Effect.Effect<void, ShiftupError>
}

export interface GenDefinition extends Common {
  /** The manifest: which targets (by name) the method may inject into, and up to which class. */
  readonly mayInject: Readonly<Record<string, "disrupt" | "destroy">>
}

export type Body =
  | { readonly _tag: "Steps"; readonly steps: ReadonlyArray<Step> }
  | { readonly _tag: "Gen"; readonly mayInject: Readonly<Record<string, "disrupt" | "destroy">>; readonly run: (ctx: Context) => GenBody }

/**
 * What a generator experiment's function returns: it may `yield*` any Effect that fails only
 * with a `ShiftupError` and needs nothing — `ctx.observe`, `ctx.inject`, `ctx.check`,
 * `ctx.wait`, or your own — and the values flow back typed (no casts in your code or the runner).
 */
export type GenBody = Generator<Effect.Effect<unknown, ShiftupError, never>, void, never>

export interface Experiment {
  readonly [ExperimentTypeId]: typeof ExperimentTypeId
  readonly id: string
  readonly title: string
  readonly description: string
  readonly tags: ReadonlyArray<string>
  readonly targets: Readonly<Record<string, Target>>
  readonly budget: Budget
  readonly observeProduction: boolean
  readonly policy: PolicySettings
  readonly hypothesis: ReadonlyArray<Check<any>>
  readonly stopWhen: ReadonlyArray<Guard<any>>
  readonly recovery: ReadonlyArray<Check<any>>
  /** Timeout of each rollback, when the experiment sets one (else the config's, else 10 s). */
  readonly rollbackTimeoutMs: number | undefined
  readonly resources: Readonly<Record<string, Resource<any>>>
  readonly body: Body
}

export const isExperiment = (u: unknown): u is Experiment => typeof u === "object" && u !== null && ExperimentTypeId in u

const declared = <T>(is: (u: unknown) => u is T, expected: string) => Schema.declare(is, { expected })
const TargetS = declared(isTarget, "a Target (Target.make, Http.target, …)")
const CheckS = declared(isCheck, "a check (Expect.that, Expect.during, Expect.eventually, …)")
const GuardS = declared(isGuard, "a guard (Expect.guard)")
const isWait = (u: unknown): u is Partial<Wait> => typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "Wait"
const StepS = declared(
  (u): u is Step => isFault(u) || isCheck(u) || isProbe(u) || isWait(u),
  "a step: a Fault, a check, a Probe or Step.wait",
)

const common = {
  id: Schema.String.check(Schema.isPattern(/^[a-z0-9][a-z0-9._-]*$/, { message: "use lowercase letters, digits, dots and dashes, e.g. gateway.fails-closed.auth-down" })),
  title: Schema.String.check(Schema.isNonEmpty({ message: "give the experiment a title a person can read" })),
  description: Schema.optionalKey(Schema.String),
  tags: Schema.optionalKey(Schema.Array(Schema.String)),
  targets: Schema.Record(Schema.String, TargetS),
  budget: Schema.optionalKey(BudgetSchema),
  observeProduction: Schema.optionalKey(Schema.Boolean),
  policy: Schema.optionalKey(PolicySettingsSchema),
  hypothesis: Schema.optionalKey(Schema.Array(CheckS)),
  stopWhen: Schema.optionalKey(Schema.Array(GuardS)),
  recovery: Schema.optionalKey(Schema.Array(CheckS)),
  rollbackTimeout: Schema.optionalKey(durationOption("positive")),
  resources: Schema.optionalKey(Schema.Record(Schema.String, declared(isResource, "a resource (Resource.make, Net.proxy, Detect.alertSink, …)"))),
}

const DefinitionSchema = Schema.Struct({ ...common, method: Schema.Array(StepS) })
const GenSchema = Schema.Struct({
  ...common,
  mayInject: Schema.Record(Schema.String, Schema.Literals(["disrupt", "destroy"])),
  run: declared((u): u is (...a: never) => unknown => typeof u === "function", "a generator function"),
})

/**
 * The problems of the options a check, guard or wait was built with, under `path`; none for
 * anything else. A generator's `ctx.check` and `ctx.wait` need the same test at run time.
 */
export const optionIssues = (path: string, item: unknown): ReadonlyArray<Issue> =>
  isCheck(item) || isGuard(item) ? under(`${path}.options`, item.issues) : isWait(item) ? under(path, item.issues ?? []) : []

/**
 * Checks that cannot be expressed per field: undeclared targets, duplicate ids, and the options
 * each check, guard and wait was built with (`method[2].options.samples`).
 */
const crossIssues = (def: Partial<Definition & GenDefinition>): ReadonlyArray<Issue> => {
  const issues: Array<Issue> = []
  const targets = Object.values(def.targets ?? {}).filter(isTarget)
  const ids = new Set(targets.map((t) => t.id))
  if (ids.size !== targets.length) issues.push({ path: "targets", message: "two targets share an id; give each a unique id" })
  const checkTarget = (path: string, target: Target | undefined) => {
    if (target !== undefined && !targets.includes(target) && !ids.has(target.id))
      issues.push({ path, message: `touches target "${target.id}", which is not declared in \`targets\`; add it there so the policy can check it` })
  }
  const seen = new Map<string, string>()
  const walk = (path: string, items: unknown) => {
    if (!Array.isArray(items)) return
    items.forEach((s: unknown, i) => {
      const p = `${path}[${i}]`
      if (isFault(s) || isProbe(s)) checkTarget(p, s.target)
      else if (isCheck(s) || isGuard(s)) checkTarget(p, s.probe.target)
      issues.push(...optionIssues(p, s))
      if (isFault(s)) {
        const other = seen.get(s.id)
        if (other !== undefined) issues.push({ path: p, message: `fault id "${s.id}" is also used at ${other}; fault ids must be unique` })
        seen.set(s.id, p)
      }
    })
  }
  walk("hypothesis", def.hypothesis)
  walk("method", def.method)
  walk("stopWhen", def.stopWhen)
  walk("recovery", def.recovery)
  const resourceIds = new Map<string, string>()
  for (const [key, r] of Object.entries(def.resources ?? {})) {
    if (!isResource(r)) continue
    const other = resourceIds.get(r.id)
    if (other !== undefined) issues.push({ path: `resources.${key}`, message: `resource id "${r.id}" is also used by resources.${other}; give each a unique id` })
    resourceIds.set(r.id, key)
  }
  for (const key of Object.keys(def.mayInject ?? {}))
    if (!(key in (def.targets ?? {}))) issues.push({ path: `mayInject.${key}`, message: `"${key}" is not a key of \`targets\`` })
  return issues
}

const build = (def: Common, body: Body): Experiment => ({
  [ExperimentTypeId]: ExperimentTypeId,
  id: def.id,
  title: def.title,
  description: def.description ?? "",
  tags: def.tags ?? [],
  targets: def.targets,
  budget: def.budget ?? {},
  observeProduction: def.observeProduction ?? false,
  policy: def.policy ?? {},
  hypothesis: def.hypothesis ?? [],
  stopWhen: def.stopWhen ?? [],
  recovery: def.recovery ?? [],
  rollbackTimeoutMs: def.rollbackTimeout === undefined ? undefined : Duration.toMillis(def.rollbackTimeout),
  resources: def.resources ?? {},
  body,
})

const validate = (schema: Schema.Top, def: unknown): void => {
  const issues = [...decodeAll(schema, def), ...(typeof def === "object" && def !== null ? crossIssues(def) : [])]
  if (issues.length > 0) {
    const id = typeof def === "object" && def !== null && typeof (def as { id?: unknown }).id === "string" ? `"${(def as { id: string }).id}"` : "(no id)"
    throw fail(new InvalidExperiment({ source: id, issues }))
  }
}

/**
 * A declarative experiment. Throws a `ShiftupError` (`InvalidExperiment`) listing every problem.
 *
 * @example
 * export default Experiment.make({
 *   id: "gateway.fails-closed.auth-down",
 *   title: "The gateway fails closed when auth is down",
 *   targets: { gateway, auth },
 *   hypothesis: [Expect.that(Probe.status(gateway, "/admin"), Expect.oneOf(401, 403))],
 *   method: [authDown, Expect.during(Probe.status(gateway, "/admin"), Expect.never(200))],
 * })
 */
export const make = (def: Definition): Experiment => {
  validate(DefinitionSchema, def)
  return build(def, { _tag: "Steps", steps: def.method })
}

/**
 * A generator-form experiment: one step's output feeds the next. Every injection is checked at
 * run time against the policy, the manifest (`mayInject`) and the budget.
 *
 * @example
 * Experiment.gen({ id, title, targets: { api, auth }, mayInject: { auth: "disrupt" } }, function* (ctx) {
 *   const before = yield* ctx.observe(Probe.status(api, "/admin"))
 *   yield* ctx.inject(authDown)
 *   yield* ctx.check(Expect.during(Probe.status(api, "/admin"), Expect.equals(before)))
 * })
 */
export const gen = <Eff extends Effect.Effect<unknown, ShiftupError, never>>(def: GenDefinition, run: (ctx: Context) => Generator<Eff, void, never>): Experiment => {
  validate(GenSchema, { ...def, run })
  return build(def, { _tag: "Gen", mayInject: def.mayInject, run })
}

/** The (step, target) pairs a declarative body touches, for planning. */
export const stepsOf = (e: Experiment): ReadonlyArray<Step> => (e.body._tag === "Steps" ? e.body.steps : [])

export { targetOf }
