/**
 * `shiftup vulns` on SBOMs (CycloneDX and SPDX) and an OSV directory, as a user runs it: the
 * findings in each format, exit 1 at or above `--fail-on` and 0 below it, exit 4 for an invalid
 * advisory (naming file and field) or missing arguments.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { runCli, tempDir, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

const setup = () => {
  const dir = tempDir("shiftup-vulns-")
  const osv = join(dir, "osv")
  mkdirSync(osv)
  writeFileSync(join(osv, "GHSA-35jh-r3h4-6jhm.json"), JSON.stringify({ id: "GHSA-35jh-r3h4-6jhm", modified: "2024-01-01T00:00:00Z", aliases: ["CVE-2021-23337"], summary: "Command Injection in lodash", severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H" }], affected: [{ package: { ecosystem: "npm", name: "lodash" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "4.17.21" }] }] }] }))
  writeFileSync(join(osv, "PYSEC-2023-74.json"), JSON.stringify({ id: "PYSEC-2023-74", modified: "2024-01-01T00:00:00Z", aliases: ["CVE-2023-32681"], affected: [{ package: { ecosystem: "PyPI", name: "requests" }, ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "2.3.0" }, { fixed: "2.31.0" }] }] }] }))
  const cdx = join(dir, "app.cdx.json")
  writeFileSync(cdx, JSON.stringify({ bomFormat: "CycloneDX", specVersion: "1.5", components: [{ type: "library", name: "lodash", version: "4.17.20", purl: "pkg:npm/lodash@4.17.20" }, { type: "library", name: "left-pad", purl: "pkg:npm/left-pad@1.3.0", components: [{ name: "log4j-core", purl: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1" }] }] }))
  const spdx = join(dir, "py.spdx.json")
  writeFileSync(spdx, JSON.stringify({ spdxVersion: "SPDX-2.3", packages: [{ name: "requests", versionInfo: "2.28.0", externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: "pkg:pypi/requests@2.28.0" }] }] }))
  return { dir, osv, cdx, spdx }
}

describe("shiftup vulns", () => {
  it("text by default, exit 1 on any finding; SBOM packages of unsupported types are not matched", async () => {
    const { osv, cdx, spdx } = setup()
    const r = await runCli(["vulns", "--osv", osv, "--sbom", cdx, "--sbom", spdx])
    expect(r.code, r.output).toBe(1)
    expect(r.stdout).toContain("HIGH     GHSA-35jh-r3h4-6jhm (CVE-2021-23337): npm lodash 4.17.20 — fixed in 4.17.21")
    expect(r.stdout).toContain("UNKNOWN  PYSEC-2023-74 (CVE-2023-32681): PyPI requests 2.28.0 — fixed in 2.31.0")
    expect(r.stderr).toContain("3 packages, 2 advisories, 2 findings")
  })

  it("--fail-on: exit 1 at or above the level, 0 below it; SARIF to a file", async () => {
    const { dir, osv, cdx } = setup()
    const out = join(dir, "vulns.sarif")
    const high = await runCli(["vulns", "--osv", osv, "--sbom", cdx, "--format", "sarif", "--out", out, "--fail-on", "high"])
    expect(high.code, high.output).toBe(1)
    const log = JSON.parse(readFileSync(out, "utf8")) as { version: string; runs: [{ tool: { driver: { rules: Array<{ id: string }> } } }] }
    expect(log.version).toBe("2.1.0")
    expect(log.runs[0].tool.driver.rules.map((r) => r.id)).toEqual(["GHSA-35jh-r3h4-6jhm"])
    const critical = await runCli(["vulns", "--osv", osv, "--sbom", cdx, "--format", "json", "--fail-on", "critical"])
    expect(critical.code, critical.output).toBe(0)
    expect((JSON.parse(critical.stdout) as { findings: Array<unknown> }).findings.length).toBe(1)
  })

  it("an invalid advisory: exit 4 naming the file and the field", async () => {
    const { osv, cdx } = setup()
    writeFileSync(join(osv, "BAD-1.json"), JSON.stringify({ id: "BAD-1", modified: "x", affected: [{ package: { ecosystem: "npm", name: "a" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0", fixed: "1.0.0" }] }] }] }))
    const r = await runCli(["vulns", "--osv", osv, "--sbom", cdx])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain(`${join(osv, "BAD-1.json")} at affected[0].ranges[0].events[0]: an event holds exactly one of introduced, fixed, last_affected, limit`)
  })

  it("missing --osv or sources: exit 4 saying what is needed", async () => {
    const { osv } = setup()
    expect((await runCli(["vulns", "--sbom", "x.json"])).stderr).toContain("needs --osv")
    const r = await runCli(["vulns", "--osv", osv])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain("needs --image <ref> or --sbom <file>")
  })
})
