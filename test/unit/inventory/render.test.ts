/**
 * Rendering vulnerable-component findings: text for a terminal, JSON (`shiftup.vulns/v1`), and
 * SARIF 2.1.0 valid against the official OASIS schema with one rule per advisory (two packages
 * hit by one advisory share it) and the package's file inside its image as the location.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Ajv } from "ajv"
import { describe, expect, it } from "vitest"
import { atLeast, Osv, type Package, renderFindings } from "shiftup/inventory"
import { repoRoot } from "../../support/api-report.ts"

const at = { image: "registry.local/app:1.4", path: "/app/package-lock.json" }
const npm = (name: string, version: string): Package => ({ ecosystem: "npm", name, version, purl: `pkg:npm/${name}@${version}`, location: at })
const deb: Package = { ecosystem: "Debian", name: "libssl3", version: "3.0.11-1~deb12u2", origin: { name: "openssl", version: "3.0.11-1~deb12u2" }, release: "12", purl: "pkg:deb/debian/libssl3@3.0.11-1~deb12u2", location: { image: "registry.local/app:1.4", path: "/var/lib/dpkg/status" } }

const advisories = [
  Osv.parseAdvisory(
    {
      id: "GHSA-35jh-r3h4-6jhm",
      modified: "2024-01-01T00:00:00Z",
      aliases: ["CVE-2021-23337"],
      summary: "Command Injection in lodash",
      severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H" }],
      affected: [{ package: { ecosystem: "npm", name: "lodash" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "4.17.21" }] }] }],
    },
    "GHSA-35jh-r3h4-6jhm.json",
  ),
  Osv.parseAdvisory(
    { id: "DSA-5764-1", modified: "2024-01-01T00:00:00Z", aliases: ["CVE-2024-5535"], affected: [{ package: { ecosystem: "Debian:12", name: "openssl" }, ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "3.0.14-1~deb12u1" }] }] }] },
    "DSA-5764-1.json",
  ),
  Osv.parseAdvisory(
    { id: "GHSA-crit", modified: "2024-01-01T00:00:00Z", database_specific: { severity: "CRITICAL" }, affected: [{ package: { ecosystem: "npm", name: "minimist" }, versions: ["1.2.5"] }] },
    "GHSA-crit.json",
  ),
]
const { findings } = Osv.match(Osv.index(advisories), [npm("lodash", "4.17.20"), npm("lodash", "3.10.1"), deb, npm("minimist", "1.2.5"), npm("express", "4.18.2")])

describe("renderFindings", () => {
  it("text: a count by severity, then one block per finding, most severe first", () => {
    const out = renderFindings(findings, "text")
    expect(out.split("\n")[0]).toBe("4 vulnerable component findings (1 critical, 2 high, 1 unknown)")
    expect(out).toContain("CRITICAL GHSA-crit: npm minimist 1.2.5 — no fix known")
    expect(out).toContain("HIGH     GHSA-35jh-r3h4-6jhm (CVE-2021-23337): npm lodash 4.17.20 — fixed in 4.17.21")
    expect(out).toContain("at registry.local/app:1.4:/app/package-lock.json; affected >= 0, < 4.17.21; CVSS 7.2 CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H")
    expect(out).toContain("UNKNOWN  DSA-5764-1 (CVE-2024-5535): Debian libssl3 3.0.11-1~deb12u2 — fixed in 3.0.14-1~deb12u1")
    expect(out.indexOf("GHSA-crit")).toBeLessThan(out.indexOf("GHSA-35jh"))
    expect(renderFindings([], "text")).toBe("no vulnerable components found\n")
  })

  it("JSON: the findings, versioned", () => {
    const doc = JSON.parse(renderFindings(findings, "json")) as { schema: string; findings: ReadonlyArray<Osv.Finding> }
    expect(doc.schema).toBe("shiftup.vulns/v1")
    expect(doc.findings.map((f) => `${f.advisory} ${f.package.name}@${f.package.version}`).sort()).toEqual(["DSA-5764-1 libssl3@3.0.11-1~deb12u2", "GHSA-35jh-r3h4-6jhm lodash@3.10.1", "GHSA-35jh-r3h4-6jhm lodash@4.17.20", "GHSA-crit minimist@1.2.5"])
  })

  it("SARIF: valid against the OASIS 2.1.0 schema, one rule per advisory, results pointing at the file in the image", () => {
    const { $schema: _draft, id: _id, ...official } = JSON.parse(readFileSync(join(repoRoot, "test/fixtures/report/sarif-2.1.0-rtm.5.oasis.schema.json"), "utf8")) as Record<string, unknown>
    const check = new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false }).compile(official)
    const log = JSON.parse(renderFindings(findings, "sarif")) as { runs: [{ tool: { driver: { rules: Array<{ id: string; properties: Record<string, unknown> }> } }; results: Array<{ ruleId: string; ruleIndex: number; level: string; locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }> }] }
    expect(check(log), JSON.stringify(check.errors)).toBe(true)
    const [run] = log.runs
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual(["GHSA-crit", "GHSA-35jh-r3h4-6jhm", "DSA-5764-1"])
    expect(run.tool.driver.rules[1]?.properties).toMatchObject({ "security-severity": "7.2", tags: ["security", "vulnerability", "shiftup", "CVE-2021-23337"] })
    expect(run.results.length).toBe(4)
    for (const r of run.results) expect(run.tool.driver.rules[r.ruleIndex]?.id).toBe(r.ruleId)
    expect(run.results.filter((r) => r.ruleId === "GHSA-35jh-r3h4-6jhm").map((r) => [r.level, r.locations[0]?.physicalLocation.artifactLocation.uri])).toEqual([
      ["error", "app/package-lock.json"],
      ["error", "app/package-lock.json"],
    ])
  })

  it("atLeast: the --fail-on threshold", () => {
    const level = (id: string) => findings.find((f) => f.advisory === id)
    const high = level("GHSA-35jh-r3h4-6jhm")
    const unknown = level("DSA-5764-1")
    if (high === undefined || unknown === undefined) throw new Error("fixtures")
    expect([atLeast(high, "critical"), atLeast(high, "high"), atLeast(high, "low")]).toEqual([false, true, true])
    expect([atLeast(unknown, "low"), atLeast(unknown, "none")]).toEqual([false, true])
  })
})
