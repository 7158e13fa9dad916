/**
 * JUnit XML: parsed back with fast-xml-parser and checked against the journal it came from —
 * one testcase per assertion (check step), in order, failures exactly the violated checks,
 * errors the failed steps, failed rollbacks and runs that ended without a verdict.
 */
import fc from "fast-check"
import { XMLParser, XMLValidator } from "fast-xml-parser"
import { describe, expect, it } from "vitest"
import type { Journal } from "shiftup"
import { junit } from "shiftup/report"
import { synthetic } from "../../fixtures/report/synthetic.ts"
import { all, byStatus, frozen, hostile, withHostileText } from "./journals.ts"

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  isArray: (name) => ["testsuite", "testcase", "property"].includes(name),
})

interface Case {
  readonly classname: string
  readonly name: string
  readonly time: string
  readonly failure?: { readonly message: string; readonly type: string; readonly "#text"?: string }
  readonly error?: { readonly message: string; readonly type: string; readonly "#text"?: string }
}
interface Suite {
  readonly name: string
  readonly tests: string
  readonly failures: string
  readonly errors: string
  readonly properties: { readonly property: ReadonlyArray<{ readonly name: string; readonly value: string }> }
  readonly testcase?: ReadonlyArray<Case>
}

const parse = (xml: string) => {
  expect(XMLValidator.validate(xml)).toBe(true)
  return (parser.parse(xml) as { testsuites: { tests: string; failures: string; errors: string; testsuite: ReadonlyArray<Suite> } }).testsuites
}

// oxlint-disable-next-line no-control-regex -- XML 1.0 forbids these; the reporter replaces them
const xmlSafe = (s: string) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "\ufffd")
const body = (s: string) => xmlSafe(s).replace(/\r\n?/g, "\n")
const attr = (s: string) => xmlSafe(s).replace(/\r\n|[\r\n\t]/g, " ")

const checkAgainst = (j: Journal.Journal, suite: Suite) => {
  const cases = suite.testcase ?? []
  const checks = j.steps.filter((s) => s.kind === "check")
  const checkCases = cases.filter((c) => !c.classname.endsWith(".rollback") && !c.classname.endsWith(".run"))
  expect(checkCases.map((c) => c.name)).toEqual(checks.map((s) => attr(`${s.phase}: ${s.id}`)))
  for (const [i, s] of checks.entries()) {
    const c = checkCases[i] as Case
    expect(c.classname).toBe(attr(`${j.experiment.id}.${s.phase}`))
    expect(Number(c.time)).toBeCloseTo(s.durationMs / 1000, 3)
    expect(c.failure !== undefined, `${s.id} failure`).toBe(s.outcome === "violated")
    expect(c.error !== undefined, `${s.id} error`).toBe(s.outcome === "error")
    if (s.outcome === "violated") {
      expect(c.failure?.["#text"]).toContain(`expected: ${body(s.expected ?? "?")}`)
      const f = j.findings.find((x) => x.id === s.id && x.phase === s.phase)
      if (f !== undefined) {
        expect(c.failure?.type).toBe(`finding.${f.severity}`)
        if (f.remediation !== undefined) expect(c.failure?.["#text"]).toContain(body(f.remediation))
      }
    }
  }
  const rollbackCases = cases.filter((c) => c.classname.endsWith(".rollback"))
  expect(rollbackCases.map((c) => c.name)).toEqual(j.rollbacks.map((r) => attr(`rollback: ${r.fault} on ${r.target}`)))
  expect(rollbackCases.map((c) => c.error === undefined)).toEqual(j.rollbacks.map((r) => r.outcome === "restored"))
  const runCases = cases.filter((c) => c.classname.endsWith(".run"))
  expect(runCases.length).toBe(["refused", "aborted", "invalid"].includes(j.status) ? 1 : 0)
  expect(Number(suite.tests)).toBe(cases.length)
  expect(Number(suite.failures)).toBe(checks.filter((s) => s.outcome === "violated").length)
  expect(Number(suite.errors)).toBe(cases.filter((c) => c.error !== undefined).length)
  const props = Object.fromEntries(suite.properties.property.map((p) => [p.name, p.value]))
  expect(props["runId"]).toBe(j.runId)
  expect(props["status"]).toBe(j.status)
  expect(props["exitCode"]).toBe(String(j.exitCode))
}

describe("junit", () => {
  it("has one testsuite per journal and one testcase per assertion, matching the journal", () => {
    const doc = parse(junit(frozen([...all])))
    expect(doc.testsuite.map((s) => s.name)).toEqual(all.map((j) => attr(j.experiment.id)))
    for (const [i, j] of all.entries()) checkAgainst(j, doc.testsuite[i] as Suite)
    const sum = (k: "tests" | "failures" | "errors") => doc.testsuite.reduce((n, s) => n + Number(s[k]), 0)
    expect(Number(doc.tests)).toBe(sum("tests"))
    expect(Number(doc.failures)).toBe(sum("failures"))
    expect(Number(doc.errors)).toBe(sum("errors"))
  })

  it("reports the real failing run's finding as a failure with its evidence and fix", () => {
    const j = byStatus("failed")
    const suite = parse(junit([j])).testsuite[0] as Suite
    const failed = (suite.testcase ?? []).filter((c) => c.failure !== undefined)
    expect(failed.map((c) => c.name)).toEqual(["method: GET /admin as anonymous during faults: never 200"])
    expect(failed[0]?.failure?.message).toBe("[critical] expected never 200, observed 200")
    expect(failed[0]?.failure?.["#text"]).toContain("remediation: Treat an auth timeout as a denial")
  })

  it("a refused run is one errored testcase naming the rule", () => {
    const suite = parse(junit([byStatus("refused")])).testsuite[0] as Suite
    expect(suite.testcase?.length).toBe(1)
    expect(suite.testcase?.[0]?.error?.message).toContain("floor.production-observe-only")
  })

  it("escapes markup and quotes; the text round-trips through a parser", () => {
    const xml = junit([withHostileText])
    expect(xml).not.toContain("<script>")
    const suite = parse(xml).testsuite[0] as Suite
    expect(suite.testcase?.some((c) => c.name.includes(hostile.replace(/\r\n|[\r\n\t]/g, " ")))).toBe(true)
  })

  it("property: any step ids and observed values give well-formed XML that parses back to the journal", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 5, max: 60 }), (text, seed, steps) => {
        const j = synthetic({ steps, seed, violations: 0.5, text })
        checkAgainst(j, parse(junit([j])).testsuite[0] as Suite)
      }),
      { numRuns: 100 },
    )
  })
})
