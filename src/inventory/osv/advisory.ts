/**
 * The OSV schema (ossf.github.io/osv-schema), the part matching needs, and its validation: a
 * JSON value becomes an `Advisory` or an `InvalidInventoryFile` naming the file and the field.
 * The rules checked are the schema's: `id` and `modified` are required; a range has a `type`
 * (`ECOSYSTEM`, `SEMVER` or `GIT`, which also needs `repo`) and events; each event holds exactly
 * one of `introduced`, `fixed`, `last_affected`, `limit`; a range has at least one `introduced`
 * and never both `fixed` and `last_affected`.
 */
import { InvalidInventoryFile } from "../../ShiftupError.ts"

export type Event = { readonly introduced: string } | { readonly fixed: string } | { readonly last_affected: string } | { readonly limit: string }

export interface Range {
  readonly type: "ECOSYSTEM" | "SEMVER" | "GIT"
  readonly repo?: string
  readonly events: ReadonlyArray<Event>
}

export interface Affected {
  readonly package?: { readonly ecosystem: string; readonly name: string; readonly purl?: string }
  readonly ranges: ReadonlyArray<Range>
  readonly versions: ReadonlyArray<string>
  readonly severity: ReadonlyArray<SeverityEntry>
}

export interface SeverityEntry {
  /** `CVSS_V2`, `CVSS_V3`, `CVSS_V4` or `Ubuntu`. */
  readonly type: string
  readonly score: string
}

export interface Advisory {
  readonly id: string
  readonly modified: string
  readonly withdrawn?: string
  readonly aliases: ReadonlyArray<string>
  readonly summary?: string
  readonly details?: string
  readonly severity: ReadonlyArray<SeverityEntry>
  readonly affected: ReadonlyArray<Affected>
  /** A severity word the database gave (GitHub's `database_specific.severity`, e.g. `HIGH`), when there is one. */
  readonly databaseSeverity?: string
  /** The file the advisory was read from. */
  readonly file: string
}

type Json = unknown
const isObject = (x: Json): x is Record<string, Json> => typeof x === "object" && x !== null && !Array.isArray(x)
const eventKeys = ["introduced", "fixed", "last_affected", "limit"] as const

/** Validates one parsed OSV document read from `file`. */
export const parseAdvisory = (json: Json, file: string): Advisory => {
  const fail = (field: string, detail: string) => new InvalidInventoryFile({ file, field, detail })
  if (!isObject(json)) throw fail("", "an OSV advisory is a JSON object")
  const str = (o: Record<string, Json>, key: string, path: string, required: boolean): string | undefined => {
    const v = o[key]
    if (v === undefined && !required) return undefined
    if (typeof v !== "string" || (required && v === "")) throw fail(path, v === undefined ? "missing (required by the OSV schema)" : "must be a non-empty string")
    return v
  }
  const strings = (o: Record<string, Json>, key: string, path: string): ReadonlyArray<string> => {
    const v = o[key]
    if (v === undefined || v === null) return []
    if (!Array.isArray(v)) throw fail(path, "must be an array of strings")
    return v.map((x, i) => {
      if (typeof x !== "string") throw fail(`${path}[${i}]`, "must be a string")
      return x
    })
  }
  const severities = (o: Record<string, Json>, path: string): ReadonlyArray<SeverityEntry> => {
    const v = o["severity"]
    if (v === undefined || v === null) return []
    if (!Array.isArray(v)) throw fail(path, "must be an array of { type, score }")
    return v.map((s, i) => {
      if (!isObject(s)) throw fail(`${path}[${i}]`, "must be an object { type, score }")
      return { type: str(s, "type", `${path}[${i}].type`, true) ?? "", score: str(s, "score", `${path}[${i}].score`, true) ?? "" }
    })
  }
  const id = str(json, "id", "id", true) ?? ""
  const modified = str(json, "modified", "modified", true) ?? ""
  const withdrawn = str(json, "withdrawn", "withdrawn", false)
  const summary = str(json, "summary", "summary", false)
  const details = str(json, "details", "details", false)
  const affectedJson = json["affected"] ?? []
  if (!Array.isArray(affectedJson)) throw fail("affected", "must be an array")
  const affected = affectedJson.map((a: Json, ai): Affected => {
    const at = `affected[${ai}]`
    if (!isObject(a)) throw fail(at, "must be an object")
    const pkg = a["package"]
    let parsedPackage: Affected["package"]
    if (pkg !== undefined) {
      if (!isObject(pkg)) throw fail(`${at}.package`, "must be an object { ecosystem, name }")
      const purl = str(pkg, "purl", `${at}.package.purl`, false)
      parsedPackage = { ecosystem: str(pkg, "ecosystem", `${at}.package.ecosystem`, true) ?? "", name: str(pkg, "name", `${at}.package.name`, true) ?? "", ...(purl === undefined ? {} : { purl }) }
    }
    const rangesJson = a["ranges"] ?? []
    if (!Array.isArray(rangesJson)) throw fail(`${at}.ranges`, "must be an array")
    const ranges = rangesJson.map((r: Json, ri): Range => {
      const rp = `${at}.ranges[${ri}]`
      if (!isObject(r)) throw fail(rp, "must be an object { type, events }")
      const type = r["type"]
      if (type !== "ECOSYSTEM" && type !== "SEMVER" && type !== "GIT") throw fail(`${rp}.type`, `must be ECOSYSTEM, SEMVER or GIT (got ${JSON.stringify(type)})`)
      const repo = str(r, "repo", `${rp}.repo`, type === "GIT")
      const eventsJson = r["events"]
      if (!Array.isArray(eventsJson) || eventsJson.length === 0) throw fail(`${rp}.events`, "must be a non-empty array of events")
      const events = eventsJson.map((e: Json, ei): Event => {
        const ep = `${rp}.events[${ei}]`
        if (!isObject(e)) throw fail(ep, "must be an object")
        const keys = Object.keys(e)
        const key = keys[0]
        if (keys.length !== 1 || key === undefined || !(eventKeys as ReadonlyArray<string>).includes(key)) throw fail(ep, `an event holds exactly one of introduced, fixed, last_affected, limit (got ${keys.length === 0 ? "none" : keys.join(", ")})`)
        const v = e[key]
        if (typeof v !== "string" || v === "") throw fail(`${ep}.${key}`, "must be a non-empty string")
        return { [key]: v } as Event
      })
      if (!events.some((e) => "introduced" in e)) throw fail(`${rp}.events`, "a range needs at least one introduced event")
      if (events.some((e) => "fixed" in e) && events.some((e) => "last_affected" in e)) throw fail(`${rp}.events`, "fixed and last_affected must not be used together in one range")
      return { type, ...(repo === undefined ? {} : { repo }), events }
    })
    return { ...(parsedPackage === undefined ? {} : { package: parsedPackage }), ranges, versions: strings(a, "versions", `${at}.versions`), severity: severities(a, `${at}.severity`) }
  })
  const db = json["database_specific"]
  const databaseSeverity = isObject(db) && typeof db["severity"] === "string" ? db["severity"] : undefined
  return {
    id,
    modified,
    ...(withdrawn === undefined ? {} : { withdrawn }),
    aliases: strings(json, "aliases", "aliases"),
    ...(summary === undefined ? {} : { summary }),
    ...(details === undefined ? {} : { details }),
    severity: severities(json, "severity"),
    affected,
    ...(databaseSeverity === undefined ? {} : { databaseSeverity }),
    file,
  }
}
