/**
 * Misconfiguration and OSV findings as store observations: `info` is not recorded; an OSV match
 * is one observation per package and advisory, its location the package and file without the
 * version (so an upgrade that is still affected keeps the fingerprint); severities none and
 * unknown become low and medium (the latter said in the detail).
 */
import { describe, expect, it } from "vitest"
import { fingerprint, fromMisconfig, fromVulns } from "shiftup/watch"
import type { Osv } from "shiftup/inventory"

const misconfiguration = (rule: string, severity: "critical" | "info") => ({ rule, title: rule, asset: "docker:local/app", severity, blocking: severity === "critical", profile: "web", evidence: ["HostConfig.Privileged"], remediation: "Drop it.", references: { cwe: ["CWE-250"] } })

const match = (version: string, level: Osv.FindingSeverity["level"], path = "/app/package-lock.json"): Osv.Finding => ({
  advisory: "GHSA-x",
  aliases: ["CVE-2021-1"],
  severity: { level },
  package: { ecosystem: "npm", name: "lodash", version, purl: `pkg:npm/lodash@${version}`, location: { image: "app:1", path } },
  affected: ["< 4.17.21"],
  fixed: ["4.17.21"],
  location: { image: "app:1", path },
  file: "GHSA-x.json",
})

describe("observations of the fact jobs", () => {
  it("misconfiguration: rule, asset, severity; info not recorded", () => {
    const seen = fromMisconfig([misconfiguration("container.privileged", "critical"), misconfiguration("container.no-healthcheck", "info")])
    expect(seen).toEqual([expect.objectContaining({ rule: "misconfig/container.privileged", asset: "docker:local/app", location: "", severity: "critical", detail: expect.stringContaining("profile web, blocking") })])
  })

  it("OSV: the version is no part of the fingerprint; duplicates of one package and file count once", () => {
    const [a] = fromVulns("docker:local/app", [match("4.17.20", "high"), match("4.17.20", "high")])
    const [b] = fromVulns("docker:local/app", [match("4.17.19", "high")])
    expect(fromVulns("docker:local/app", [match("4.17.20", "high"), match("4.17.20", "high")])).toHaveLength(1)
    expect(fingerprint(a!)).toBe(fingerprint(b!))
    expect(a).toMatchObject({ rule: "osv/GHSA-x", location: "npm/lodash /app/package-lock.json", severity: "high" })
    // Another file is another place.
    const [c] = fromVulns("docker:local/app", [match("4.17.20", "high", "/srv/package-lock.json")])
    expect(fingerprint(c!)).not.toBe(fingerprint(a!))
  })

  it("OSV severities none and unknown are recorded as low and medium", () => {
    expect(fromVulns("x", [match("1", "none")])[0]?.severity).toBe("low")
    const unknown = fromVulns("x", [match("1", "unknown")])[0]
    expect(unknown?.severity).toBe("medium")
    expect(unknown?.detail).toContain("severity unknown, recorded as medium")
  })
})
