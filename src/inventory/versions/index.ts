/**
 * Version ordering per ecosystem, by OSV's ecosystem names: `npm` (semver), `Debian` and
 * `Ubuntu` (dpkg), `Alpine` (apk-tools), `PyPI` (PEP 440). Each ordering is total on valid
 * versions; `valid` says whether a version is one, and comparing an invalid one throws.
 */
import * as Alpine from "./alpine.ts"
import * as Debian from "./debian.ts"
import * as Npm from "./npm.ts"
import * as PyPI from "./pypi.ts"

/** The ecosystems whose versions shiftup orders (OSV's names, without a release suffix). */
export type Ecosystem = "npm" | "Debian" | "Ubuntu" | "Alpine" | "PyPI"

export const ecosystems: ReadonlyArray<Ecosystem> = ["npm", "Debian", "Ubuntu", "Alpine", "PyPI"]

export interface Ordering {
  readonly valid: (version: string) => boolean
  /** -1, 0 or 1; throws on an invalid version. */
  readonly compare: (a: string, b: string) => -1 | 0 | 1
}

const debian: Ordering = {
  valid: (v) => Debian.parse(v) !== undefined,
  compare: (a, b) => {
    const pa = Debian.parse(a)
    const pb = Debian.parse(b)
    if (pa === undefined || pb === undefined) throw new Error(`not a Debian version: ${pa === undefined ? a : b}`)
    return Debian.compareParsed(pa, pb)
  },
}

const alpine: Ordering = {
  valid: Alpine.valid,
  compare: (a, b) => {
    if (!Alpine.valid(a) || !Alpine.valid(b)) throw new Error(`not an Alpine version: ${Alpine.valid(a) ? b : a}`)
    return Alpine.compare(a, b)
  },
}

const orderings: Readonly<Record<Ecosystem, Ordering>> = { npm: Npm, Debian: debian, Ubuntu: debian, Alpine: alpine, PyPI: PyPI }

/** Whether shiftup orders versions of this ecosystem (a release suffix like `Debian:12` is ignored). */
export const isEcosystem = (name: string): name is Ecosystem => (ecosystems as ReadonlyArray<string>).includes(name)

/**
 * The ordering of an ecosystem.
 *
 * @example
 * Versions.ordering("Debian").compare("1:1.0~rc1-1", "1.0-1") // 1: the epoch wins
 */
export const ordering = (ecosystem: Ecosystem): Ordering => orderings[ecosystem]

/** Compares two versions of one ecosystem: -1, 0 or 1. */
export const compare = (ecosystem: Ecosystem, a: string, b: string): -1 | 0 | 1 => orderings[ecosystem].compare(a, b)
