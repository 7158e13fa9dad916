/**
 * Which environment profile is in force for one subject — an inventory asset or a run's target —
 * and why: `--profile`, else the subject's entry in `misconfig.targets`, its environment's in
 * `misconfig.environments`, the config's `misconfig.profile`, and `web` when nothing names one.
 * One rule for `shiftup misconfig`, `shiftup plan`/`run` and the probes of shiftup/http.
 */
import type { Environment } from "../Target.ts"
import { resolveProfile, type Profile } from "./profiles.ts"
import type { MisconfigSettings } from "./settings.ts"

/** Where the choice came from; `default`: nothing named a profile (the fallback `web`). */
export type ProfileSource = "flag" | "target" | "environment" | "config" | "default"

export interface InForce {
  readonly profile: Profile
  /** Why this profile: `--profile healthcare`, `misconfig.targets["docker:local/db"]`… */
  readonly why: string
  readonly source: ProfileSource
}

export interface Subject {
  /** The names a `misconfig.targets` entry may use, most specific first (an id, then a name). */
  readonly keys: ReadonlyArray<string>
  /** The environment the safety floor applies (`unknown` counts as production). */
  readonly effective: Exclude<Environment, "unknown">
  /** How the subject is called in the reason, e.g. `the asset`, `the target`. */
  readonly noun?: string
}

/**
 * A `--profile` under the profile the config chose for the same subject: the flag's profile
 * judges findings, but the config's limits stay — only the fault classes both allow, the lower
 * probe rate. A flag never widens what the config narrowed (the most restrictive signal wins).
 */
export const narrowedBy = (chosen: InForce, configured: InForce): InForce => {
  const a = chosen.profile
  const b = configured.profile
  const faultClasses = a.faultClasses.filter((c) => b.faultClasses.includes(c))
  const maxProbeRate = Math.min(a.maxProbeRate, b.maxProbeRate)
  if (faultClasses.length === a.faultClasses.length && maxProbeRate === a.maxProbeRate) return chosen
  return { ...chosen, why: `${chosen.why}, within ${b.name}'s limits (${configured.why})`, profile: { ...a, faultClasses, maxProbeRate } }
}

/**
 * The profile in force for `subject`. `resolved` caches resolved profiles across calls; an unknown
 * name or a profile that loosens the floor fails with `InvalidConfig` naming the known profiles.
 */
export const select = (subject: Subject, settings: MisconfigSettings = {}, override?: string, resolved: Map<string, Profile> = new Map()): InForce => {
  const pick = (name: string, why: string, source: ProfileSource): InForce => {
    let profile = resolved.get(name)
    if (profile === undefined) resolved.set(name, (profile = resolveProfile(name, settings.profiles ?? {})))
    return { profile, why, source }
  }
  if (override !== undefined) return pick(override, `--profile ${override}`, "flag")
  for (const key of subject.keys) {
    const t = settings.targets?.[key]
    if (t !== undefined) return pick(t, `misconfig.targets[${JSON.stringify(key)}]`, "target")
  }
  const env = settings.environments?.[subject.effective]
  if (env !== undefined) return pick(env, `misconfig.environments.${subject.effective} (${subject.noun ?? "the asset"} classifies as ${subject.effective})`, "environment")
  if (settings.profile !== undefined) return pick(settings.profile, "misconfig.profile", "config")
  return pick("web", "the default profile (no --profile, no misconfig section naming one)", "default")
}
