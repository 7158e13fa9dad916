/**
 * OSV advisories from a local directory, and matching packages against them. See
 * docs/inventory.md for how to download OSV's exports and the exact semantics.
 */
export type { Advisory, Affected, Event, Range, SeverityEntry } from "./advisory.ts"
export { parseAdvisory } from "./advisory.ts"
export { type Database, load, readAdvisory } from "./load.ts"
export { type Finding, type FindingSeverity, type Index, index, match, type MatchResult, type Skipped } from "./match.ts"
