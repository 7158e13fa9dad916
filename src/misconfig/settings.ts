/**
 * The `misconfig` section of `shiftup.config.ts`: which profile is in force for which
 * environment or target, and the config's own profiles (a built-in one extended with
 * type-checked overrides). Validated with the rest of the config: a profile that loosens the
 * floor, or a name that is no profile, is rejected at load with every issue at once.
 */
import { Schema } from "effect"
import { InvalidConfig, type Issue } from "../ShiftupError.ts"
import { profiles, resolveProfile, type ProfileOverride } from "./profiles.ts"

export interface MisconfigSettings {
  /** The profile when nothing more specific names one; default `web`. */
  readonly profile?: string
  /** Per effective environment of an asset (`production`, `staging`…), the profile. */
  readonly environments?: Readonly<Partial<Record<"production" | "staging" | "development" | "lab", string>>>
  /** Per asset id or container name, the profile: the most specific choice. */
  readonly targets?: Readonly<Record<string, string>>
  /**
   * The config's own profiles: a built-in one extended with type-checked overrides.
   *
   * @example
   * profiles: { clinic: { extends: "healthcare", certExpiryDays: 45, requiredHeaders: ["strict-transport-security", "content-security-policy", "x-content-type-options", "cache-control", "permissions-policy"] } }
   */
  readonly profiles?: Readonly<Record<string, ProfileOverride>>
}

const Severity = Schema.Literals(["critical", "high", "medium", "low", "info"])
const OverrideSchema = Schema.Struct({
  extends: Schema.Literals(Object.keys(profiles) as ["web", "healthcare", "payments", "internal"]),
  description: Schema.optionalKey(Schema.String),
  severities: Schema.optionalKey(Schema.Record(Schema.String, Schema.Union([Severity, Schema.Literal("off")]))),
  mandatory: Schema.optionalKey(Schema.Array(Schema.String)),
  failOn: Schema.optionalKey(Severity),
  minTls: Schema.optionalKey(Schema.Literals(["TLSv1.2", "TLSv1.3"])),
  certExpiryDays: Schema.optionalKey(Schema.Number),
  maxImageAgeDays: Schema.optionalKey(Schema.Number),
  maxProbeRate: Schema.optionalKey(Schema.Number),
  faultClasses: Schema.optionalKey(Schema.Array(Schema.Literals(["observe", "disrupt", "destroy"]))),
  requiredHeaders: Schema.optionalKey(Schema.Array(Schema.String)),
  leakage: Schema.optionalKey(Schema.Array(Schema.Literals(["email", "card-number", "medical-record-number", "date-of-birth", "national-id", "api-key"]))),
  dataStoreTls: Schema.optionalKey(Schema.Boolean),
  selfSignedForbidden: Schema.optionalKey(Schema.Boolean),
})

export const MisconfigSettingsSchema = Schema.Struct({
  profile: Schema.optionalKey(Schema.String),
  environments: Schema.optionalKey(Schema.Struct({ production: Schema.optionalKey(Schema.String), staging: Schema.optionalKey(Schema.String), development: Schema.optionalKey(Schema.String), lab: Schema.optionalKey(Schema.String) })),
  targets: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  profiles: Schema.optionalKey(Schema.Record(Schema.String, OverrideSchema)),
})

/** Every profile the settings name or define, resolved: the issues of those that are unknown or loosen the floor. */
export const profileIssues = (settings: MisconfigSettings): ReadonlyArray<Issue> => {
  const names = new Set([...Object.keys(settings.profiles ?? {}), ...(settings.profile === undefined ? [] : [settings.profile]), ...Object.values(settings.environments ?? {}), ...Object.values(settings.targets ?? {})])
  return [...names].flatMap((name) => {
    try {
      resolveProfile(name, settings.profiles ?? {})
      return []
    } catch (e) {
      return e instanceof InvalidConfig ? e.issues : [{ path: `misconfig.profiles.${name}`, message: String(e) }]
    }
  })
}
