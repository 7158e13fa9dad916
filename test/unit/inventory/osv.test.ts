/**
 * OSV semantics on advisory fixtures written in the schema: ranges with introduced / fixed /
 * last_affected / limit, `"0"` first, `versions` lists, SEMVER vs ECOSYSTEM orderings, GIT
 * ranges not evaluated, withdrawn advisories ignored, release suffixes matched to the package's
 * release; and the validation that refuses what the schema forbids, naming file and field.
 */
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { InvalidInventoryFile, Osv, type Package } from "../../../src/inventory/index.ts"
import * as Versions from "../../../src/inventory/versions/index.ts"
import type { Ecosystem } from "../../../src/inventory/versions/index.ts"
import { alpineVersion, debianVersion, npmVersion, pypiVersion } from "../../support/inventory-versions.ts"

const pkg = (ecosystem: Ecosystem, name: string, version: string, extra: Partial<Package> = {}): Package => ({ ecosystem, name, version, purl: `pkg:x/${name}@${version}`, location: { image: "app:1", path: "/x" }, ...extra })

const advisory = (id: string, affected: ReadonlyArray<object>, extra: object = {}) => Osv.parseAdvisory({ id, modified: "2024-01-01T00:00:00Z", aliases: [`CVE-2024-${id.length}`], affected, ...extra }, `${id}.json`)

const range = (type: string, ...events: ReadonlyArray<object>) => ({ type, events })

const affectedIds = (advisories: ReadonlyArray<Osv.Advisory>, p: Package) => Osv.match(Osv.index(advisories), [p]).findings.map((f) => f.advisory)

describe("range evaluation", () => {
  const lodash = advisory("GHSA-lodash", [{ package: { ecosystem: "npm", name: "lodash" }, ranges: [range("SEMVER", { introduced: "0" }, { fixed: "4.17.21" })] }])
  it.each([
    ["4.17.20", true],
    ["4.17.21", false], // fixed is exclusive
    ["4.17.21-rc.1", true], // a prerelease of the fix is before it
    ["0.0.1", true], // "0" opens from the start
    ["5.0.0", false],
  ])("npm lodash@%s affected: %s", (v, expected) => expect(affectedIds([lodash], pkg("npm", "lodash", v))).toEqual(expected ? ["GHSA-lodash"] : []))

  const multi = advisory("OSV-multi", [
    { package: { ecosystem: "PyPI", name: "Django" }, ranges: [range("ECOSYSTEM", { introduced: "3.0" }, { fixed: "3.2.25" }, { introduced: "4.0" }, { fixed: "4.2.11" })] },
  ])
  it.each([
    ["2.2", false],
    ["3.0", true], // introduced is inclusive
    ["3.2.24", true],
    ["3.2.25", false],
    ["3.3", false], // between two intervals
    ["4.0rc1", false], // a pre-release of 4.0 is before 4.0
    ["4.2.10.post1", true],
    ["4.2.11", false],
  ])("PyPI django@%s (name normalised) affected: %s", (v, expected) => expect(affectedIds([multi], pkg("PyPI", "django", v))).toEqual(expected ? ["OSV-multi"] : []))

  it("events are evaluated in version order, whatever order the file lists them in", () => {
    const unordered = advisory("OSV-unordered", [{ package: { ecosystem: "PyPI", name: "x" }, ranges: [range("ECOSYSTEM", { fixed: "2.0" }, { introduced: "1.0" }, { introduced: "0" }, { fixed: "0.5" })] }])
    expect(["0.1", "0.5", "1.5", "2.0"].map((v) => affectedIds([unordered], pkg("PyPI", "x", v)).length)).toEqual([1, 0, 1, 0])
  })

  it("last_affected is inclusive, and nothing after it is affected", () => {
    const a = advisory("OSV-last", [{ package: { ecosystem: "Debian", name: "openssl" }, ranges: [range("ECOSYSTEM", { introduced: "0" }, { last_affected: "3.0.11-1~deb12u2" })] }])
    expect(["3.0.11-1~deb12u1", "3.0.11-1~deb12u2", "3.0.11-1", "1:0.1"].map((v) => affectedIds([a], pkg("Debian", "openssl", v)).length)).toEqual([1, 1, 0, 0])
  })

  it("a limit bounds the range from above", () => {
    const a = advisory("OSV-limit", [{ package: { ecosystem: "npm", name: "y" }, ranges: [range("SEMVER", { introduced: "1.0.0" }, { limit: "2.0.0" })] }])
    expect(["0.9.0", "1.5.0", "2.0.0", "3.0.0"].map((v) => affectedIds([a], pkg("npm", "y", v)).length)).toEqual([0, 1, 0, 0])
  })

  it("an unfixed range (introduced only) affects every later version", () => {
    const a = advisory("OSV-open", [{ package: { ecosystem: "Alpine:v3.19", name: "busybox" }, ranges: [range("ECOSYSTEM", { introduced: "1.36.1-r0" })] }])
    expect(["1.36.0-r9", "1.36.1_rc1-r0", "1.36.1-r0", "1.37.0-r0"].map((v) => affectedIds([a], pkg("Alpine", "busybox", v, { release: "v3.19" })).length)).toEqual([0, 0, 1, 1])
  })

  it("Alpine: a -r revision of the fixed version is fixed; the _rc before it is not (the classic false positive)", () => {
    const a = advisory("ALPINE-CVE", [{ package: { ecosystem: "Alpine:v3.19", name: "openssl" }, ranges: [range("ECOSYSTEM", { introduced: "0" }, { fixed: "3.1.4-r1" })] }])
    expect(["3.1.4-r0", "3.1.4-r1", "3.1.4-r2", "3.1.4_rc1-r5", "3.1.5_rc1-r0"].map((v) => affectedIds([a], pkg("Alpine", "openssl", v, { release: "v3.19" })).length)).toEqual([1, 0, 0, 1, 0])
  })

  it("listed versions are affected, other versions are not (when no range covers them)", () => {
    const a = advisory("OSV-listed", [{ package: { ecosystem: "PyPI", name: "z" }, versions: ["1.0", "1.1"] }])
    expect(["1.0", "1.0.0", "1.1", "1.2"].map((v) => affectedIds([a], pkg("PyPI", "z", v)).length)).toEqual([1, 1, 1, 0])
  })

  it("GIT ranges are not evaluated (a package version is not a commit)", () => {
    const a = advisory("OSV-git", [{ package: { ecosystem: "npm", name: "g" }, ranges: [{ type: "GIT", repo: "https://example.invalid/g", events: [{ introduced: "0" }, { fixed: "abc123" }] }] }])
    // Not evaluated at all: no finding, and nothing "skipped" for a commit hash that is no version.
    expect(Osv.match(Osv.index([a]), [pkg("npm", "g", "1.0.0")])).toEqual({ findings: [], skipped: [] })
  })

  it("withdrawn advisories are ignored", () => {
    const a = advisory("GHSA-withdrawn", [{ package: { ecosystem: "npm", name: "lodash" }, ranges: [range("SEMVER", { introduced: "0" })] }], { withdrawn: "2024-02-01T00:00:00Z" })
    const idx = Osv.index([a])
    expect(idx.withdrawn).toBe(1)
    expect(Osv.match(idx, [pkg("npm", "lodash", "1.0.0")]).findings).toEqual([])
  })

  it("a release suffix matches the package's release; an unknown release matches every release", () => {
    const a = advisory("DSA-1", [
      { package: { ecosystem: "Debian:12", name: "openssl" }, ranges: [range("ECOSYSTEM", { introduced: "0" }, { fixed: "3.0.13-1~deb12u1" })] },
      { package: { ecosystem: "Debian:11", name: "openssl" }, ranges: [range("ECOSYSTEM", { introduced: "0" }, { fixed: "1.1.1w-0+deb11u1" })] },
    ])
    const on = (release: string | undefined) => Osv.match(Osv.index([a]), [pkg("Debian", "openssl", "3.0.11-1~deb12u2", release === undefined ? {} : { release })]).findings.map((f) => f.fixed)
    expect(on("12")).toEqual([["3.0.13-1~deb12u1"]])
    expect(on("11")).toEqual([]) // 3.0.11 is after bullseye's fix
    expect(on("10")).toEqual([])
    expect(on(undefined)).toEqual([["3.0.13-1~deb12u1"]])
  })

  it("an OS package is matched by its source package (origin), as OSV's distro advisories name them", () => {
    const a = advisory("DSA-2", [{ package: { ecosystem: "Debian:12", name: "openssl" }, ranges: [range("ECOSYSTEM", { introduced: "0" }, { fixed: "3.0.13-1~deb12u1" })] }])
    const libssl = pkg("Debian", "libssl3", "3.0.11-1~deb12u2", { release: "12", origin: { name: "openssl", version: "3.0.11-1~deb12u2" } })
    const [f] = Osv.match(Osv.index([a]), [libssl]).findings
    expect(f?.package.name).toBe("libssl3")
    expect(f?.affected).toEqual([">= 0, < 3.0.13-1~deb12u1"])
  })

  it("a finding carries id, aliases, summary, severity from the CVSS vector, ranges, fixed versions and the asset path", () => {
    const a = advisory(
      "GHSA-full",
      [{ package: { ecosystem: "npm", name: "lodash" }, ranges: [range("SEMVER", { introduced: "4.0.0" }, { fixed: "4.17.21" }), range("SEMVER", { introduced: "0" }, { fixed: "3.10.2" })] }],
      { aliases: ["CVE-2021-23337"], summary: "Command injection in lodash", severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H" }] },
    )
    expect(Osv.match(Osv.index([a]), [pkg("npm", "lodash", "4.17.20")])).toEqual({
      findings: [
        {
          advisory: "GHSA-full",
          aliases: ["CVE-2021-23337"],
          summary: "Command injection in lodash",
          severity: { level: "high", score: 7.2, vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H" },
          package: pkg("npm", "lodash", "4.17.20"),
          affected: [">= 4.0.0, < 4.17.21"],
          fixed: ["4.17.21"],
          location: { image: "app:1", path: "/x" },
          file: "GHSA-full.json",
        },
      ],
      skipped: [],
    })
  })

  it("a version the ordering cannot read is reported as skipped, not silently unaffected", () => {
    const a = advisory("OSV-bad", [{ package: { ecosystem: "PyPI", name: "q" }, ranges: [range("ECOSYSTEM", { introduced: "0" }, { fixed: "not a version!" })] }])
    expect(Osv.match(Osv.index([a]), [pkg("PyPI", "q", "1.0")]).skipped).toEqual([{ advisory: "OSV-bad", package: "q@1.0", reason: 'version "not a version!" of a ECOSYSTEM range is not valid in its ordering' }])
  })
})

describe("range evaluation on generated versions, against the plain definition", () => {
  const cases: ReadonlyArray<readonly [Ecosystem, string, "ECOSYSTEM" | "SEMVER", fc.Arbitrary<string>]> = [
    ["npm", "npm", "SEMVER", npmVersion],
    ["PyPI", "PyPI", "ECOSYSTEM", pypiVersion],
    ["Debian", "Debian:12", "ECOSYSTEM", debianVersion],
    ["Alpine", "Alpine:v3.19", "ECOSYSTEM", alpineVersion],
  ]
  it.each(cases)("%s: introduced a, fixed b ⇔ a ≤ v < b; introduced a, last_affected b ⇔ a ≤ v ≤ b; in either event order, a = b included", (ecosystem, osvEcosystem, type, version) => {
    const o = Versions.ordering(ecosystem)
    fc.assert(
      fc.property(version, version, fc.option(version, { nil: undefined }), fc.boolean(), fc.boolean(), (v, x, maybeY, lastAffected, reversed) => {
        // Without y the range starts and ends at one version (and v is often that version).
        const y = maybeY ?? x
        const [a, b] = o.compare(x, y) <= 0 ? [x, y] : [y, x]
        const events = [{ introduced: a }, lastAffected ? { last_affected: b } : { fixed: b }]
        const doc = advisory("P", [{ package: { ecosystem: osvEcosystem, name: "p" }, ranges: [range(type, ...(reversed ? events.reverse() : events))] }])
        const version = maybeY === undefined && reversed ? x : v
        const expected = o.compare(a, version) <= 0 && (lastAffected ? o.compare(version, b) <= 0 : o.compare(version, b) < 0)
        const { findings, skipped } = Osv.match(Osv.index([doc]), [pkg(ecosystem, "p", version, osvEcosystem.includes(":") ? { release: osvEcosystem.split(":")[1] ?? "" } : {})])
        expect(skipped).toEqual([])
        expect(findings.length === 1).toBe(expected)
      }),
      { numRuns: 400 },
    )
  })
})

describe("validation: what the schema forbids is refused, naming the file and the field", () => {
  const base = { id: "X-1", modified: "2024-01-01T00:00:00Z" }
  const bad = (json: object): InvalidInventoryFile => {
    try {
      Osv.parseAdvisory(json, "bad.json")
    } catch (e) {
      if (e instanceof InvalidInventoryFile) return e
      throw e
    }
    throw new Error("accepted")
  }
  it.each([
    ["an event with two keys", { ...base, affected: [{ package: { ecosystem: "npm", name: "a" }, ranges: [range("SEMVER", { introduced: "0", fixed: "1.0.0" })] }] }, "affected[0].ranges[0].events[0]", /exactly one/],
    ["an event with no key", { ...base, affected: [{ package: { ecosystem: "npm", name: "a" }, ranges: [range("SEMVER", { introduced: "0" }, {})] }] }, "affected[0].ranges[0].events[1]", /exactly one/],
    ["fixed and last_affected together", { ...base, affected: [{ package: { ecosystem: "npm", name: "a" }, ranges: [range("SEMVER", { introduced: "0" }, { fixed: "1.0.0" }, { last_affected: "0.9.0" })] }] }, "affected[0].ranges[0].events", /fixed and last_affected/],
    ["a range without introduced", { ...base, affected: [{ package: { ecosystem: "npm", name: "a" }, ranges: [range("SEMVER", { fixed: "1.0.0" })] }] }, "affected[0].ranges[0].events", /introduced/],
    ["an unknown range type", { ...base, affected: [{ ranges: [range("RANGE", { introduced: "0" })] }] }, "affected[0].ranges[0].type", /ECOSYSTEM, SEMVER or GIT/],
    ["a GIT range without repo", { ...base, affected: [{ ranges: [range("GIT", { introduced: "0" })] }] }, "affected[0].ranges[0].repo", /missing/],
    ["no id", { modified: "x" }, "id", /missing/],
    ["no modified", { id: "x" }, "modified", /missing/],
    ["a package without a name", { ...base, affected: [{ package: { ecosystem: "npm" } }] }, "affected[0].package.name", /missing/],
  ])("%s", (_, json, field, detail) => {
    const e = bad(json)
    expect(e._tag).toBe("InvalidInventoryFile")
    expect(e.file).toBe("bad.json")
    expect(e.field).toBe(field)
    expect(e.detail).toMatch(detail)
  })
})

describe("loading a directory", () => {
  const dir = () => mkdtempSync(join(tmpdir(), "shiftup-osv-"))
  it("reads every .json below it (recursively), lists zips as ignored", async () => {
    const d = dir()
    mkdirSync(join(d, "npm"))
    writeFileSync(join(d, "npm", "GHSA-a.json"), JSON.stringify({ id: "GHSA-a", modified: "2024-01-01T00:00:00Z" }))
    writeFileSync(join(d, "PYSEC-b.json"), JSON.stringify({ id: "PYSEC-b", modified: "2024-01-01T00:00:00Z" }))
    writeFileSync(join(d, "all.zip"), "PK")
    const db = await Osv.load(d)
    expect(db.advisories.map((a) => a.id).sort()).toEqual(["GHSA-a", "PYSEC-b"])
    expect(db.ignored).toEqual([join(d, "all.zip")])
  })
  it("a directory of zips only says to unzip first", async () => {
    const d = dir()
    writeFileSync(join(d, "all.zip"), "PK")
    await expect(Osv.load(d)).rejects.toMatchObject({ _tag: "InvalidInventoryFile", detail: expect.stringMatching(/unzip/) })
  })
  it("a file that is not JSON is named", async () => {
    const d = dir()
    writeFileSync(join(d, "broken.json"), "{")
    await expect(Osv.load(d)).rejects.toMatchObject({ _tag: "InvalidInventoryFile", file: join(d, "broken.json"), field: "" })
  })
})
