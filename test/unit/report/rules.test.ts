/**
 * Rule findings in the reporters, as pure functions: references become links to real pages
 * (MITRE's CWE entry, the CIS benchmark's page, OWASP ASVS); a journal finding is recognised as
 * carrying rule findings only when its observed value is a list of them; and text a target
 * controls (container and environment variable names end up in evidence and asset ids) stays
 * inert in the HTML, the JUnit XML (which parses, with one testcase per rule and asset) and the
 * Markdown (rendered by cmark-gfm, GitHub's renderer).
 */
import { spawnSync } from "node:child_process"
import { XMLParser, XMLValidator } from "fast-xml-parser"
import { describe, expect, it } from "vitest"
import { html, junit, markdown, referencesOf, ruleFindingsOf, type RuleResults } from "shiftup/report"
import { Misconfig } from "shiftup/inventory"

const payload = `<img src=x onerror=alert(1)>|*x*\`]]>`
const finding = (rule: string, severity: "critical" | "medium" | "info", asset: string) => {
  const r = Misconfig.rules.find((x) => x.id === rule)
  if (r === undefined) throw new Error(rule)
  return { rule, title: r.title, asset, severity, blocking: severity === "critical", profile: "web", evidence: [`${payload} (secret-like name; value not shown)`], remediation: r.remediation, references: r.references }
}
const results: RuleResults = {
  findings: [finding("container.privileged", "critical", `docker:local/${payload}`), finding("container.root-user", "medium", "docker:local/app"), finding("container.no-healthcheck", "info", "docker:local/app")],
  passed: [{ rule: "container.host-pid", asset: "docker:local/app" }],
  notEvaluated: [{ rule: "container.secret-in-env", asset: "docker:local/app" }],
  profiles: { "docker:local/app": { profile: "web", why: `misconfig.targets["${payload}"]` } },
  rules: Misconfig.rules,
}

describe("rule findings in reports", () => {
  it("references: CWE to MITRE, CIS to the benchmark's page, ASVS to OWASP's; absolute https URLs", () => {
    expect(referencesOf({ cis: ["5.4"], cwe: ["CWE-250"], asvs: ["V9.1.2"] })).toEqual([
      { label: "CWE-250", url: "https://cwe.mitre.org/data/definitions/250.html" },
      { label: "CIS Docker 5.4", url: "https://www.cisecurity.org/benchmark/docker" },
      { label: "ASVS 4.0.3 V9.1.2", url: "https://owasp.org/www-project-application-security-verification-standard/" },
    ])
    for (const r of Misconfig.rules) for (const ref of referencesOf(r.references)) expect(ref.url, r.id).toMatch(/^https:\/\/(cwe\.mitre\.org\/data\/definitions\/\d+\.html|www\.cisecurity\.org\/benchmark\/docker|owasp\.org\/www-project-application-security-verification-standard\/)$/)
  })

  it("a journal finding carries rule findings only when its observed value is a list of them", () => {
    expect(ruleFindingsOf({ observed: results.findings })).toHaveLength(3)
    expect(ruleFindingsOf({ observed: [] })).toEqual([])
    expect(ruleFindingsOf({ observed: [{ rule: "x", title: "y" }] })).toEqual([])
    expect(ruleFindingsOf({ observed: [...results.findings, 200] })).toEqual([])
    expect(ruleFindingsOf({ observed: "container.privileged" })).toEqual([])
  })

  it("HTML: target text is inert, severities in order, references as links", () => {
    const page = html([], { misconfig: results })
    expect(page).not.toContain("<img")
    expect(page).toContain("&lt;img src=x onerror=alert(1)&gt;")
    const order = ["critical", "medium", "info"].map((s) => page.indexOf(`data-severity="${s}"`))
    expect(order.every((x, i) => x > 0 && (i === 0 || x > (order[i - 1] ?? 0)))).toBe(true)
    expect(page).toContain('<a href="https://cwe.mitre.org/data/definitions/250.html" rel="noreferrer">CWE-250</a>')
  })

  it("JUnit: parses; one testcase per rule and asset — failures, a pass, a skip", () => {
    const xml = junit([], { misconfig: results })
    expect(XMLValidator.validate(xml)).toBe(true)
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (n) => ["testsuite", "testcase"].includes(n) }).parse(xml) as {
      testsuites: { tests: string; failures: string; skipped: string; testsuite: ReadonlyArray<{ testcase: ReadonlyArray<{ name: string; failure?: { type: string }; skipped?: unknown }> }> }
    }
    expect([doc.testsuites.tests, doc.testsuites.failures, doc.testsuites.skipped]).toEqual(["5", "3", "1"])
    const cases = doc.testsuites.testsuite[0]?.testcase ?? []
    expect(cases.map((c) => [c.name, c.failure?.type ?? (c.skipped === undefined ? "pass" : "skipped")])).toEqual([
      [`container.privileged on docker:local/${payload}`, "misconfig.critical"],
      ["container.root-user on docker:local/app", "misconfig.medium"],
      ["container.no-healthcheck on docker:local/app", "misconfig.info"],
      ["container.host-pid on docker:local/app", "pass"],
      ["container.secret-in-env on docker:local/app", "skipped"],
    ])
  })

  it("Markdown: rendered as GitHub does, no tag from the target's text", () => {
    const md = markdown([], { misconfig: results })
    const r = spawnSync("cmark-gfm", ["--unsafe", "-e", "table", "-e", "autolink"], { input: md, encoding: "utf8" })
    if (r.error !== undefined) throw new Error(`cmark-gfm is needed for this test (apt-get install cmark-gfm): ${r.error.message}`)
    expect(r.stdout).not.toContain("<img")
    expect(r.stdout).toContain('<a href="https://cwe.mitre.org/data/definitions/250.html">CWE-250</a>')
    expect(md.split("\n")[0]).toBe("## shiftup: 3 misconfigurations, 1 blocking")
  })
})
