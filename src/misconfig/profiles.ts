/**
 * Environment profiles: the security parameters of one kind of environment, as a typed value.
 * The right parameters for a hospital are not those of a web shop: a profile sets each rule's
 * severity and which rules are mandatory, what blocks CI, TLS and certificate thresholds, the
 * oldest image allowed, probe rate caps, which fault classes may run, required headers and
 * which leakage patterns to look for. Every profile — built-in or a user's override — may only
 * tighten the floor (`floor`); `resolveProfile` rejects one that loosens it.
 */
import { fail, InvalidConfig } from "../ShiftupError.ts"
import { severityRank, type Severity } from "./model.ts"

export type TlsVersion = "TLSv1.2" | "TLSv1.3"
export type FaultClass = "observe" | "disrupt" | "destroy"
export type LeakPattern = "email" | "card-number" | "medical-record-number" | "date-of-birth" | "national-id" | "api-key"

export interface Profile {
  readonly name: string
  readonly description: string
  /** Per rule id: its severity here, or `off` (not evaluated). A floor-mandatory rule cannot be `off`. */
  readonly severities: Readonly<Record<string, Severity | "off">>
  /** Rules whose findings block CI whatever their severity. */
  readonly mandatory: ReadonlyArray<string>
  /** Findings at or above this severity block CI (`shiftup misconfig` exits 1). */
  readonly failOn: Severity
  readonly minTls: TlsVersion
  /** A certificate expiring within this many days is a finding. */
  readonly certExpiryDays: number
  readonly maxImageAgeDays: number
  /** Probe requests per second, at most (the budget's probe rate is capped to it). */
  readonly maxProbeRate: number
  /** Fault classes experiments may run in this environment. */
  readonly faultClasses: ReadonlyArray<FaultClass>
  /** Response headers every HTTP endpoint must send (lower case). */
  readonly requiredHeaders: ReadonlyArray<string>
  readonly leakage: ReadonlyArray<LeakPattern>
  /** A data store (PostgreSQL, MySQL/MariaDB) that does not offer TLS is a finding. */
  readonly dataStoreTls: boolean
  /** A self-signed certificate is a finding (production-like environments). */
  readonly selfSignedForbidden: boolean
}

/** What every profile must at least demand. */
export const floor: Omit<Profile, "name" | "description" | "severities"> = {
  mandatory: ["container.privileged", "container.docker-socket", "tls.cert-expired"],
  failOn: "critical",
  minTls: "TLSv1.2",
  certExpiryDays: 7,
  maxImageAgeDays: 365,
  maxProbeRate: 50,
  faultClasses: ["observe", "disrupt", "destroy"],
  requiredHeaders: [],
  leakage: [],
  dataStoreTls: false,
  selfSignedForbidden: false,
}

const web: Profile = {
  name: "web",
  description: "A public web application: browser-facing headers, TLS 1.2+, image and certificate hygiene; infrastructure findings at their default severity.",
  severities: { "container.no-healthcheck": "low", "container.writable-rootfs": "low" },
  mandatory: [...floor.mandatory, "container.secret-in-env"],
  failOn: "high",
  minTls: "TLSv1.2",
  certExpiryDays: 14,
  maxImageAgeDays: 180,
  maxProbeRate: 20,
  faultClasses: ["observe", "disrupt", "destroy"],
  requiredHeaders: ["strict-transport-security", "content-security-policy", "x-content-type-options"],
  leakage: ["email", "api-key"],
  dataStoreTls: false,
  selfSignedForbidden: true,
}

const healthcare: Profile = {
  name: "healthcare",
  description: "Systems holding health records (HIPAA, GDPR art. 9): TLS 1.3, encrypted data stores, no secrets in the environment, immutable least-privilege containers, gentle probing, no destructive faults.",
  severities: {
    "container.root-user": "high",
    "container.writable-rootfs": "medium",
    "container.no-new-privileges": "high",
    "container.no-memory-limit": "high",
    "container.no-pids-limit": "high",
    "container.port-all-interfaces": "high",
    "container.secret-in-env": "critical",
    "container.sshd": "high",
    "container.host-devices": "high",
    "container.host-userns": "high",
    "container.mount-propagation-shared": "high",
    "container.default-bridge": "medium",
    "datastore.postgres-no-tls": "critical",
    "datastore.mysql-no-tls": "critical",
    "datastore.redis-no-auth": "critical",
    "tls.self-signed": "high",
    "tls.min-version": "high",
    "headers.required-missing": "high",
    "cookies.secure-missing": "high",
    "cookies.httponly-missing": "high",
    "leak.sensitive-data": "critical",
    "leak.stack-trace": "high",
  },
  mandatory: [...floor.mandatory, "container.secret-in-env", "datastore.redis-no-auth", "datastore.postgres-no-tls", "datastore.mysql-no-tls", "tls.min-version", "container.root-user"],
  failOn: "medium",
  minTls: "TLSv1.3",
  certExpiryDays: 30,
  maxImageAgeDays: 90,
  maxProbeRate: 5,
  faultClasses: ["observe", "disrupt"],
  requiredHeaders: ["strict-transport-security", "content-security-policy", "x-content-type-options", "cache-control"],
  leakage: ["medical-record-number", "date-of-birth", "national-id", "email", "api-key"],
  dataStoreTls: true,
  selfSignedForbidden: true,
}

const payments: Profile = {
  name: "payments",
  description: "Card data environments (PCI DSS 4.0): TLS 1.2+ everywhere including data stores, card numbers (Luhn-checked) must never leak, strict container hardening.",
  severities: {
    "container.root-user": "high",
    "container.no-new-privileges": "high",
    "container.port-all-interfaces": "high",
    "container.secret-in-env": "critical",
    "container.sshd": "high",
    "container.host-devices": "high",
    "container.default-bridge": "medium",
    "datastore.postgres-no-tls": "critical",
    "datastore.mysql-no-tls": "critical",
    "datastore.redis-no-auth": "critical",
    "tls.self-signed": "high",
    "headers.required-missing": "high",
    "leak.sensitive-data": "critical",
  },
  mandatory: [...floor.mandatory, "container.secret-in-env", "datastore.redis-no-auth", "datastore.postgres-no-tls", "datastore.mysql-no-tls", "tls.min-version"],
  failOn: "medium",
  minTls: "TLSv1.2",
  certExpiryDays: 30,
  maxImageAgeDays: 90,
  maxProbeRate: 10,
  faultClasses: ["observe", "disrupt"],
  requiredHeaders: ["strict-transport-security", "content-security-policy", "x-content-type-options", "x-frame-options", "cache-control"],
  leakage: ["card-number", "email", "api-key"],
  dataStoreTls: true,
  selfSignedForbidden: true,
}

const internal: Profile = {
  name: "internal",
  description: "Internal tools behind the perimeter: the floor, self-signed certificates accepted, hygiene findings informational.",
  severities: {
    "container.no-healthcheck": "info",
    "container.writable-rootfs": "info",
    "container.no-cpu-limit": "info",
    "container.root-user": "low",
    "container.restart-policy": "info",
    "container.ulimit-override": "info",
    "container.cgroup-parent": "info",
    "container.default-bridge": "info",
    "tls.self-signed": "info",
  },
  mandatory: floor.mandatory,
  failOn: "critical",
  minTls: "TLSv1.2",
  certExpiryDays: 7,
  maxImageAgeDays: 365,
  maxProbeRate: 50,
  faultClasses: ["observe", "disrupt", "destroy"],
  requiredHeaders: [],
  leakage: ["api-key"],
  dataStoreTls: false,
  selfSignedForbidden: false,
}

export const profiles: Readonly<Record<"web" | "healthcare" | "payments" | "internal", Profile>> = { web, healthcare, payments, internal }
export type ProfileName = keyof typeof profiles

/** A user's profile in `shiftup.config.ts`: a built-in one, with type-checked overrides. */
export interface ProfileOverride extends Partial<Omit<Profile, "name" | "description">> {
  readonly extends: ProfileName
  readonly description?: string
}

const tlsRank: Readonly<Record<TlsVersion, number>> = { "TLSv1.2": 2, "TLSv1.3": 3 }

/** How a profile loosens the floor: one line per problem, with the path of the field. */
export const loosenings = (p: Profile): ReadonlyArray<{ readonly path: string; readonly message: string }> => {
  const out: Array<{ path: string; message: string }> = []
  const add = (path: string, message: string) => out.push({ path, message })
  for (const id of floor.mandatory) {
    if (!p.mandatory.includes(id)) add("mandatory", `must keep the floor's mandatory rule ${id}`)
    if (p.severities[id] === "off") add(`severities.${id}`, `${id} is mandatory on the floor and cannot be off`)
  }
  if (severityRank[p.failOn] > severityRank[floor.failOn]) add("failOn", `cannot be above the floor's ${floor.failOn}`)
  if (tlsRank[p.minTls] < tlsRank[floor.minTls]) add("minTls", `cannot be below the floor's ${floor.minTls}`)
  if (!(p.certExpiryDays >= floor.certExpiryDays)) add("certExpiryDays", `cannot be below the floor's ${floor.certExpiryDays} days`)
  if (!(p.maxImageAgeDays <= floor.maxImageAgeDays && p.maxImageAgeDays > 0)) add("maxImageAgeDays", `must be in 1..${floor.maxImageAgeDays} days (the floor's)`)
  if (!(p.maxProbeRate <= floor.maxProbeRate && p.maxProbeRate > 0)) add("maxProbeRate", `must be in (0, ${floor.maxProbeRate}] requests per second (the floor's)`)
  for (const c of p.faultClasses) if (!floor.faultClasses.includes(c)) add("faultClasses", `${String(c)} is not a fault class the floor allows`)
  for (const h of floor.requiredHeaders) if (!p.requiredHeaders.includes(h)) add("requiredHeaders", `must keep the floor's ${h}`)
  return out
}

/**
 * The profile a name stands for: a built-in one, or one of the config's overrides (its base with
 * the overrides applied). Rejects an unknown name and a profile that loosens the floor with a
 * typed `InvalidConfig` naming each field.
 */
export const resolveProfile = (name: string, overrides: Readonly<Record<string, ProfileOverride>> = {}, source = "shiftup.config.ts"): Profile => {
  const own = overrides[name]
  const base = own === undefined ? (profiles as Readonly<Record<string, Profile>>)[name] : profiles[own.extends]
  if (base === undefined)
    throw fail(new InvalidConfig({ source, issues: [{ path: "misconfig.profile", message: `no profile ${JSON.stringify(name)}: the built-in ones are ${Object.keys(profiles).join(", ")}${Object.keys(overrides).length === 0 ? "" : `, the config's ${Object.keys(overrides).join(", ")}`}` }] }))
  const { extends: _base, ...fields } = own ?? { extends: base.name as ProfileName }
  const profile: Profile = { ...base, ...fields, name, description: own?.description ?? base.description, severities: { ...base.severities, ...fields.severities } }
  const issues = loosenings(profile).map((i) => ({ path: `misconfig.profiles.${name}.${i.path}`, message: i.message }))
  if (issues.length > 0) throw fail(new InvalidConfig({ source, issues }))
  return profile
}
