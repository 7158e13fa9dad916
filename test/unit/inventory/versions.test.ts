/**
 * Version orderings per ecosystem: each ecosystem's documented hard cases (table-driven), and
 * on generated versions that each ordering is total (every pair compares, and the opposite way
 * gives the opposite answer), antisymmetric and transitive.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Versions from "../../../src/inventory/versions/index.ts"
import { alpineVersion, debianVersion, npmVersion, pypiVersion } from "../../support/inventory-versions.ts"

type Case = readonly [string, "<" | "=" | ">", string]
const sign = { "<": -1, "=": 0, ">": 1 } as const

const tables: Readonly<Record<"npm" | "Debian" | "Alpine" | "PyPI", ReadonlyArray<Case>>> = {
  Debian: [
    ["1:1.0~rc1-1", ">", "1.0-1"], // an epoch outranks everything after it
    ["1.0-1", "=", "0:1.0-1"], // a missing epoch is 0
    ["1:0.1", ">", "9.9"],
    ["1.0~rc1-1", "<", "1.0-1"], // a tilde sorts before the end
    ["1.0~~", "<", "1.0~"],
    ["1.0~~a", "<", "1.0~"],
    ["1.0~", "<", "1.0"],
    ["1.0", "<", "1.0a"], // the end before letters
    ["1.0a", "<", "1.0+"], // letters before other characters
    ["1.0+", "<", "1.0."],
    ["1.0Z", "<", "1.0a"], // ASCII order among letters
    ["1.0", "=", "1.0-0"], // a missing revision is 0
    ["1.0-1", "<", "1.0-1ubuntu1"],
    ["1.0-1ubuntu1", "<", "1.0-2"],
    ["2.30-1+deb12u1", ">", "2.30-1"],
    ["1.01", "=", "1.1"], // digit runs compare as numbers
    ["1.10", ">", "1.9"],
    ["1.0-2-3", ">", "1.0-2"], // the last hyphen starts the revision
    ["3.0.2-0ubuntu1.10", ">", "3.0.2-0ubuntu1.9"],
    ["7.88.1-10+deb12u5", "<", "7.88.1-10+deb12u12"],
  ],
  Alpine: [
    ["1.2.3_rc1-r0", "<", "1.2.3-r0"], // a pre-release suffix sorts before the release…
    ["1.2.3_rc1", "<", "1.2.3"],
    ["1.2.3_alpha", "<", "1.2.3_beta"],
    ["1.2.3_beta2", "<", "1.2.3_pre1"],
    ["1.2.3_pre1", "<", "1.2.3_rc1"],
    ["1.2.3_rc2", ">", "1.2.3_rc1"],
    ["1.2.3_p1", ">", "1.2.3"], // …and a post-release one after it
    ["1.2.3_p1", ">", "1.2.3-r9"],
    ["1.2.3_cvs", "<", "1.2.3_svn"],
    ["1.2.3_git", "<", "1.2.3_hg"],
    ["1.2.3_hg", "<", "1.2.3_p"],
    ["1.2.3-r1", ">", "1.2.3"], // a revision after the bare version
    ["1.2.3-r10", ">", "1.2.3-r9"],
    ["1.2.3-r0", ">", "1.2.3"],
    ["1.2.4_rc1", ">", "1.2.3-r5"],
    ["1.2a", ">", "1.2"], // a letter after the digits
    ["1.2b", ">", "1.2a"],
    ["1.2.1", ">", "1.2a"],
    ["1.01", "<", "1.1"], // a leading zero compares as a fraction
    ["1.001", "<", "1.01"],
    ["1.10", ">", "1.9"],
    ["3.0.12-r0", "<", "3.0.13-r0"],
    ["1.36.1-r15", "<", "1.36.1-r29"],
    ["1.2.3", "=", "1.2.3"],
  ],
  npm: [
    ["1.0.0-alpha", "<", "1.0.0-alpha.1"], // semver.org §11's chain
    ["1.0.0-alpha.1", "<", "1.0.0-alpha.beta"],
    ["1.0.0-alpha.beta", "<", "1.0.0-beta"],
    ["1.0.0-beta", "<", "1.0.0-beta.2"],
    ["1.0.0-beta.2", "<", "1.0.0-beta.11"],
    ["1.0.0-beta.11", "<", "1.0.0-rc.1"],
    ["1.0.0-rc.1", "<", "1.0.0"],
    ["1.0.0+build.5", "=", "1.0.0"], // build metadata is ignored
    ["4.17.20", "<", "4.17.21"],
    ["10.0.0", ">", "9.99.99"],
    ["v1.2.3", "=", "1.2.3"],
  ],
  PyPI: [
    ["1.0.dev1", "<", "1.0a1"],
    ["1.0a1", "<", "1.0a2.dev1"],
    ["1.0a2.dev1", "<", "1.0a2"],
    ["1.0b1", "<", "1.0rc1"],
    ["1.0rc1", "<", "1.0"],
    ["1.0", "<", "1.0.post1.dev1"],
    ["1.0.post1.dev1", "<", "1.0.post1"],
    ["1.0", "<", "1.0+local"], // a local version sorts after its public one
    ["1.0+abc.5", "<", "1.0+abc.10"],
    ["1.0-RC1", "=", "1.0rc1"], // normalisation
    ["1.0", "=", "1.0.0"],
    ["1!0.1", ">", "2.0"], // epochs
    ["2.31.0", "<", "2.32.3"],
  ],
}

describe.each(Object.entries(tables))("%s ordering: the documented hard cases", (ecosystem, cases) => {
  it.each(cases)("%s %s %s", (a, op, b) => {
    const e = ecosystem as Versions.Ecosystem
    expect(Versions.compare(e, a, b)).toBe(sign[op])
    expect(Versions.compare(e, b, a)).toBe(-sign[op] || 0)
  })
})

const arbitraries: ReadonlyArray<readonly [Versions.Ecosystem, fc.Arbitrary<string>]> = [
  ["Debian", debianVersion],
  ["Alpine", alpineVersion],
  ["npm", npmVersion],
  ["PyPI", pypiVersion],
]

describe.each(arbitraries)("%s ordering on generated versions", (ecosystem, version) => {
  const o = Versions.ordering(ecosystem)
  it("accepts every generated version", () => fc.assert(fc.property(version, (v) => o.valid(v)), { numRuns: 500 }))
  it("is total and antisymmetric: a pair compares both ways, with opposite answers, equal only to itself's equivalents", () =>
    fc.assert(
      fc.property(version, version, (a, b) => {
        const ab = o.compare(a, b)
        expect([-1, 0, 1]).toContain(ab)
        expect(o.compare(b, a)).toBe(-ab || 0)
        expect(o.compare(a, a)).toBe(0)
      }),
      { numRuns: 2000 },
    ))
  it("is transitive (for ≤ and for =)", () =>
    fc.assert(
      fc.property(fc.array(version, { minLength: 3, maxLength: 3 }), (vs) => {
        const [a, b, c] = [...vs].sort(o.compare) as [string, string, string]
        expect(o.compare(a, b)).toBeLessThanOrEqual(0)
        expect(o.compare(b, c)).toBeLessThanOrEqual(0)
        expect(o.compare(a, c)).toBeLessThanOrEqual(0)
        if (o.compare(a, b) === 0 && o.compare(b, c) === 0) expect(o.compare(a, c)).toBe(0)
      }),
      { numRuns: 2000 },
    ))
})

describe("invalid versions", () => {
  it.each([
    ["Debian", "x:1.0"],
    ["Debian", ""],
    ["Alpine", "1.0_foo"],
    ["Alpine", "1.0-1"],
    ["Alpine", "a1"],
    ["npm", "1.0"],
    ["PyPI", "1.0-banana-split"],
  ] as const)("%s rejects %s", (ecosystem, v) => {
    expect(Versions.ordering(ecosystem).valid(v)).toBe(false)
    expect(() => Versions.compare(ecosystem, v, v)).toThrow()
  })
})
