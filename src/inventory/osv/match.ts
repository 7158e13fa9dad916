/**
 * Matching packages against OSV advisories, with the schema's semantics: an advisory's affected
 * entry applies to a package of its ecosystem and name (and, for an ecosystem with a release
 * suffix such as `Debian:12` or `Alpine:v3.19`, of that release when the package's release is
 * known); the package's version is affected when `versions` lists it or any range contains it.
 * A range is evaluated as the schema's algorithm says: events sorted by version (`introduced:
 * "0"` first), `introduced` opens, `fixed` closes at that version, `last_affected` closes after
 * it, and `limit` events bound the range from above. `ECOSYSTEM` ranges use the ecosystem's
 * ordering, `SEMVER` ranges semver; `GIT` ranges (commit hashes) are not evaluated: a package
 * version is not a commit. Withdrawn advisories are skipped.
 *
 * Advisories are indexed by ecosystem and name once (`index`), so matching is a lookup per package.
 */
import { baseScore, type Severity, severityOf } from "../Cvss.ts"
import type { Location, Package } from "../Package.ts"
import { type Ecosystem, isEcosystem, ordering, type Ordering } from "../versions/index.ts"
import * as Npm from "../versions/npm.ts"
import type { Advisory, Affected, Event, Range, SeverityEntry } from "./advisory.ts"

export interface FindingSeverity {
  /** From the CVSS v3 base score when a v3 vector is given, else the database's own word, else `unknown`. */
  readonly level: Severity | "unknown"
  readonly score?: number
  /** The CVSS vector as the advisory gives it (v3 preferred, else v4 or v2). */
  readonly vector?: string
}

/** A package with a version an advisory says is affected. */
export interface Finding {
  readonly advisory: string
  /** CVE and GHSA ids (and any other) the advisory is also known as. */
  readonly aliases: ReadonlyArray<string>
  readonly summary?: string
  readonly severity: FindingSeverity
  readonly package: Package
  /** The affected versions that matched, e.g. `>= 1.0.0, < 1.2.3` or `= 1.2.0 (listed)`. */
  readonly affected: ReadonlyArray<string>
  /** The versions that fix it (from the matching ranges), lowest first; empty when no fix is known. */
  readonly fixed: ReadonlyArray<string>
  /** Where the package was read from (image and file). */
  readonly location: Location
  /** The advisory's file in the OSV directory. */
  readonly file: string
}

/** A package or range that could not be evaluated, with why: a value, not a silent miss. */
export interface Skipped {
  readonly advisory?: string
  readonly package: string
  readonly reason: string
}

export interface MatchResult {
  readonly findings: ReadonlyArray<Finding>
  readonly skipped: ReadonlyArray<Skipped>
}

interface Entry {
  readonly advisory: Advisory
  readonly affected: Affected
  /** The part of the ecosystem after its name (`12` of `Debian:12`), when there is one. */
  readonly release?: string
}

export interface Index {
  readonly size: number
  /** Advisories that were withdrawn (not indexed). */
  readonly withdrawn: number
  readonly lookup: (ecosystem: Ecosystem, name: string) => ReadonlyArray<Entry>
}

/** PyPI names compare normalised (PEP 503): case and runs of `-`, `_`, `.` do not matter. */
const normaliseName = (ecosystem: string, name: string) => (ecosystem === "PyPI" ? name.toLowerCase().replace(/[-_.]+/g, "-") : name)

/** Indexes advisories by ecosystem and package name; withdrawn advisories and other ecosystems are left out. */
export const index = (advisories: ReadonlyArray<Advisory>): Index => {
  // One map per ecosystem, keyed by name: no key strings to build for 100,000 advisories.
  const byEcosystem = new Map<string, Map<string, Array<Entry>>>()
  let withdrawn = 0
  let size = 0
  for (const advisory of advisories) {
    if (advisory.withdrawn !== undefined) {
      withdrawn++
      continue
    }
    size++
    for (const affected of advisory.affected) {
      if (affected.package === undefined) continue
      const full = affected.package.ecosystem
      const colon = full.indexOf(":")
      const base = colon === -1 ? full : full.slice(0, colon)
      let names = byEcosystem.get(base)
      if (names === undefined) {
        if (!isEcosystem(base)) continue
        names = new Map()
        byEcosystem.set(base, names)
      }
      const name = normaliseName(base, affected.package.name)
      const entry: Entry = colon === -1 ? { advisory, affected } : { advisory, affected, release: full.slice(colon + 1) }
      const list = names.get(name)
      if (list === undefined) names.set(name, [entry])
      else list.push(entry)
    }
  }
  return { size, withdrawn, lookup: (ecosystem, name) => byEcosystem.get(ecosystem)?.get(normaliseName(ecosystem, name)) ?? [] }
}

/** Whether an ecosystem's release suffix names the package's release (`v3.19`; Ubuntu's `22.04:LTS` or `Pro:18.04:LTS`). */
const sameRelease = (suffix: string | undefined, release: string | undefined) => suffix === undefined || release === undefined || suffix === release || suffix.split(":").includes(release)

const eventVersion = (e: Event): string => ("introduced" in e ? e.introduced : "fixed" in e ? e.fixed : "last_affected" in e ? e.last_affected : e.limit)

class Unordered extends Error {}

/** The schema's evaluation of one range; throws `Unordered` naming a version the ordering cannot compare. */
const inRange = (order: Ordering, version: string, range: Range): boolean => {
  const cmp = (a: string, b: string) => {
    if (!order.valid(b)) throw new Unordered(`version ${JSON.stringify(b)} of a ${range.type} range is not valid in its ordering`)
    return order.compare(a, b)
  }
  const limits = range.events.filter((e) => "limit" in e).map(eventVersion)
  if (limits.length > 0 && !limits.some((l) => l === "*" || cmp(version, l) < 0)) return false
  const zeroFirst = (e: Event) => "introduced" in e && e.introduced === "0"
  // At one version, `introduced` comes first: `introduced: 1.0, fixed: 1.0` is empty, `introduced: 1.0, last_affected: 1.0` is 1.0 alone.
  const opensFirst = (a: Event, b: Event) => ("introduced" in b ? 1 : 0) - ("introduced" in a ? 1 : 0)
  const events = range.events
    .filter((e) => !("limit" in e))
    .sort((a, b) => (zeroFirst(a) ? (zeroFirst(b) ? 0 : -1) : zeroFirst(b) ? 1 : cmp(eventVersion(a), eventVersion(b)) || opensFirst(a, b)))
  let affected = false
  for (const e of events) {
    if ("introduced" in e) {
      if (e.introduced === "0" || cmp(version, e.introduced) >= 0) affected = true
    } else if ("fixed" in e) {
      if (cmp(version, e.fixed) >= 0) affected = false
    } else if ("last_affected" in e && cmp(version, e.last_affected) > 0) affected = false
  }
  return affected
}

const describeRange = (range: Range): string => {
  const parts: Array<string> = []
  for (const e of range.events) {
    if ("introduced" in e) parts.push(e.introduced === "0" ? ">= 0" : `>= ${e.introduced}`)
    else if ("fixed" in e) parts.push(`< ${e.fixed}`)
    else if ("last_affected" in e) parts.push(`<= ${e.last_affected}`)
    else parts.push(`< ${e.limit} (limit)`)
  }
  return parts.join(", ")
}

const semverOrder: Ordering = Npm

const severityWords: Readonly<Record<string, Severity>> = { CRITICAL: "critical", HIGH: "high", MODERATE: "medium", MEDIUM: "medium", LOW: "low", NONE: "none" }

/** The finding's severity: a CVSS v3 vector is scored; otherwise the database's own word. */
export const severityOfAdvisory = (advisory: Advisory, affected: ReadonlyArray<Affected>): FindingSeverity => {
  const entries: ReadonlyArray<SeverityEntry> = [...affected.flatMap((a) => a.severity), ...advisory.severity]
  const v3 = entries.find((s) => s.type === "CVSS_V3")
  const score = v3 === undefined ? undefined : baseScore(v3.score)
  const vector = v3?.score ?? entries.find((s) => s.type === "CVSS_V4")?.score ?? entries.find((s) => s.type === "CVSS_V2")?.score
  const word = advisory.databaseSeverity === undefined ? undefined : severityWords[advisory.databaseSeverity.toUpperCase()]
  return { level: score !== undefined ? severityOf(score) : (word ?? "unknown"), ...(score === undefined ? {} : { score }), ...(vector === undefined ? {} : { vector }) }
}

/**
 * Matches packages against an index. Each (advisory, package) pair is one finding, whatever the
 * number of affected entries and ranges that matched.
 *
 * @example
 * const { findings } = Osv.match(Osv.index((await Osv.load("osv/")).advisories), packages)
 */
export const match = (idx: Index, packages: ReadonlyArray<Package>): MatchResult => {
  const findings: Array<Finding> = []
  const skipped: Array<Skipped> = []
  for (const pkg of packages) {
    // OS advisories name source packages: look the package up by its origin, then by its own name.
    const names = [...new Set([pkg.origin?.name, pkg.name].filter((n): n is string => n !== undefined))]
    const byAdvisory = new Map<Advisory, { affected: Array<Affected>; ranges: Array<string>; fixed: Set<string> }>()
    for (const name of names) {
      const version = name === pkg.origin?.name ? pkg.origin.version : pkg.version
      const order = ordering(pkg.ecosystem)
      if (!order.valid(version)) {
        if (idx.lookup(pkg.ecosystem, name).length > 0) skipped.push({ package: `${pkg.name}@${version}`, reason: `not a valid ${pkg.ecosystem} version` })
        continue
      }
      for (const entry of idx.lookup(pkg.ecosystem, name)) {
        if (!sameRelease(entry.release, pkg.release)) continue
        const hit = { ranges: [] as Array<string>, fixed: [] as Array<string> }
        if (entry.affected.versions.some((v) => v === version || (order.valid(v) && order.compare(v, version) === 0))) hit.ranges.push(`= ${version} (listed)`)
        for (const range of entry.affected.ranges) {
          if (range.type === "GIT") continue
          const o = range.type === "SEMVER" ? semverOrder : order
          try {
            if (range.type === "SEMVER" && !o.valid(version)) throw new Unordered(`package version ${version} is not a semantic version`)
            if (inRange(o, version, range)) {
              hit.ranges.push(`${describeRange(range)}${range.type === "SEMVER" && pkg.ecosystem !== "npm" ? " (semver)" : ""}`)
              for (const e of range.events) if ("fixed" in e) hit.fixed.push(e.fixed)
            }
          } catch (e) {
            if (!(e instanceof Unordered)) throw e
            skipped.push({ advisory: entry.advisory.id, package: `${pkg.name}@${version}`, reason: e.message })
          }
        }
        if (hit.ranges.length === 0) continue
        const acc = byAdvisory.get(entry.advisory) ?? { affected: [], ranges: [], fixed: new Set<string>() }
        byAdvisory.set(entry.advisory, acc)
        acc.affected.push(entry.affected)
        acc.ranges.push(...hit.ranges)
        for (const f of hit.fixed) acc.fixed.add(f)
      }
    }
    for (const [advisory, acc] of byAdvisory) {
      const order = ordering(pkg.ecosystem)
      const fixed = [...acc.fixed].sort((a, b) => (order.valid(a) && order.valid(b) ? order.compare(a, b) : a < b ? -1 : 1))
      findings.push({
        advisory: advisory.id,
        aliases: advisory.aliases,
        ...(advisory.summary === undefined ? {} : { summary: advisory.summary }),
        severity: severityOfAdvisory(advisory, acc.affected),
        package: pkg,
        affected: [...new Set(acc.ranges)],
        fixed,
        location: pkg.location,
        file: advisory.file,
      })
    }
  }
  return { findings, skipped }
}
