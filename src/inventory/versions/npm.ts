/**
 * npm version ordering: Semantic Versioning 2.0 as npm's own `semver` package implements it
 * (prereleases before their release, build metadata ignored). OSV's `SEMVER` ranges use it too.
 */
import semver from "semver"

/** Whether `version` is a valid semantic version (a leading `v` and `=` are accepted, as npm does). */
export const valid = (version: string): boolean => semver.valid(version) !== null

/** Compares two semantic versions: -1, 0 or 1. Invalid versions throw; check with `valid` first. */
export const compare = (a: string, b: string): -1 | 0 | 1 => semver.compare(a, b)
