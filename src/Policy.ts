/**
 * The safety policy: a hard floor that nothing lowers, then configuration and per-experiment
 * settings that can only refuse more. Every decision names the rule and the signals behind it.
 */
import { Schema } from "effect"
import { glob } from "./internal/glob.ts"
import type { Classification } from "./internal/classify.ts"
import type { Safety } from "./Fault.ts"

/** Environments where configuration may narrow what is allowed. Production is fixed by the floor. */
export type NarrowableEnvironment = "staging" | "development" | "lab"

export interface PolicySettings {
  /** Safety classes allowed per environment; anything absent from a list is refused. */
  readonly allow?: Partial<Record<NarrowableEnvironment, ReadonlyArray<Safety>>>
  /**
   * In an experiment: `true` opts in to observing production (probes only).
   * In a config: `false` forbids every experiment's opt-in.
   */
  readonly observeProduction?: boolean
  /** Refuse data stores in every environment. */
  readonly denyDataStores?: boolean
  /** Target ids (`*` wildcards) that are always refused. */
  readonly denyTargets?: ReadonlyArray<string>
}

const SafetySchema = Schema.Literals(["observe", "disrupt", "destroy"])

export const PolicySettingsSchema = Schema.Struct({
  allow: Schema.optionalKey(
    Schema.Struct({
      staging: Schema.optionalKey(Schema.Array(SafetySchema)),
      development: Schema.optionalKey(Schema.Array(SafetySchema)),
      lab: Schema.optionalKey(Schema.Array(SafetySchema)),
    }),
  ),
  observeProduction: Schema.optionalKey(Schema.Boolean),
  denyDataStores: Schema.optionalKey(Schema.Boolean),
  denyTargets: Schema.optionalKey(Schema.Array(Schema.String)),
})

export interface Decision {
  readonly step: string
  readonly target: string
  readonly safety: Safety
  readonly allowed: boolean
  /** Stable rule id, e.g. `floor.unknown-is-production`; `allowed` when permitted. */
  readonly rule: string
  readonly reason: string
}

/**
 * The environment profile in force for a target (docs/misconfig.md): its fault classes narrow
 * what the floor allows, like config does. Structural, so the core needs no profile module.
 */
export interface ProfileInForce {
  readonly name: string
  /** Why this profile governs the target: `--profile healthcare`, `misconfig.environments.staging …`. */
  readonly why: string
  readonly faultClasses: ReadonlyArray<Safety>
}

/**
 * Decides whether `safety` may touch a target so classified.
 * Order: the hard floor first (no setting can pass it), then the profile in force, config, the experiment.
 */
export const decide = (input: {
  readonly step: string
  readonly target: string
  readonly safety: Safety
  readonly classification: Classification
  readonly experiment: PolicySettings
  readonly config: PolicySettings
  readonly profile?: ProfileInForce | undefined
}): Decision => {
  const { classification: c, safety } = input
  const verdict = (allowed: boolean, rule: string, reason: string): Decision => ({ step: input.step, target: input.target, safety, allowed, rule, reason })
  const refuse = (rule: string, reason: string) => verdict(false, rule, reason)
  const env = c.environment
  const envSignals = c.environmentSignals.map((s) => `${s.source} ${s.key}=${s.value}`).join(", ")
  const store = c.dataStore.is ? `data store${c.dataStore.engine === undefined ? "" : ` (${c.dataStore.engine})`}` : undefined

  if (c.effective === "production") {
    const what = env === "unknown" ? `environment unknown (no signal), treated as production` : `production (${envSignals})`
    if (store !== undefined) return refuse("floor.production-data-store", `${what} ${store}: refused for every step, even observation`)
    if (safety !== "observe")
      return refuse(env === "unknown" ? "floor.unknown-is-production" : "floor.production-observe-only", `${what}: only observation is allowed, not ${safety}. Declare the target's environment if it is not production`)
    if (input.experiment.observeProduction !== true)
      return refuse("floor.production-observe-opt-in", `${what}: observing production needs \`observeProduction: true\` in the experiment`)
    if (input.config.observeProduction === false) return refuse("config.observe-production", `${what}: the config forbids observing production`)
  }
  if (safety === "destroy" && c.effective !== "lab") return refuse("floor.destroy-lab-only", `${safety} is allowed only on lab targets; this one is ${env}`)

  const p = input.profile
  if (p !== undefined && !p.faultClasses.includes(safety))
    return refuse(
      "profile.fault-class",
      `profile ${p.name} (chosen by ${p.why}) allows only [${p.faultClasses.join(", ")}] in ${c.effective}, not ${safety}; remove the ${safety} step or run it against a target whose profile allows ${safety} (misconfig.targets / misconfig.environments in the config) — a profile can only narrow what the floor allows, and --profile cannot widen what the config chose`,
    )

  for (const [source, settings] of [["config", input.config], ["experiment", input.experiment]] as const) {
    const denied = settings.denyTargets?.find((p) => glob(p).test(input.target))
    if (denied !== undefined) return refuse(`${source}.deny-target`, `target matches denied pattern "${denied}"`)
    if (settings.denyDataStores === true && store !== undefined) return refuse(`${source}.deny-data-stores`, `${store} refused by ${source}`)
    if (c.effective !== "production") {
      const allowed = settings.allow?.[c.effective]
      if (allowed !== undefined && !allowed.includes(safety)) return refuse(`${source}.allow`, `${source} allows only [${allowed.join(", ")}] in ${c.effective}`)
    }
  }
  return verdict(true, "allowed", `${env}${env === c.effective ? "" : ` as ${c.effective}`} permits ${safety}${store === undefined ? "" : ` on a ${store}`}`)
}
