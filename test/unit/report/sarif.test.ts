/**
 * SARIF 2.1.0: every log validates against the schema shipped in test/fixtures/report (a
 * faithful subset of the OASIS schema, see its description), rules carry CWE ids, and each
 * finding of the journal is one result pointing at its rule.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Ajv } from "ajv"
import { describe, expect, it } from "vitest"
import { cweOf, sarif } from "shiftup/report"
import { synthetic } from "../../fixtures/report/synthetic.ts"
import { all, byStatus, fixtureDir, frozen } from "./journals.ts"

const schema = JSON.parse(readFileSync(join(fixtureDir, "sarif-2.1.0.schema.json"), "utf8")) as object
const ajv = new Ajv({ allErrors: true, strict: false })
ajv.addFormat("uri", /^[a-z][a-z0-9+.-]*:[^\s]*$/i)
ajv.addFormat("uri-reference", /^[^\s]*$/)
ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/)
const validate = ajv.compile(schema)

const valid = (log: unknown) => {
  const ok = validate(JSON.parse(JSON.stringify(log)))
  return ok ? "valid" : JSON.stringify(validate.errors, null, 1)
}

interface Result {
  readonly ruleId: string
  readonly ruleIndex: number
  readonly level: string
  readonly message: { readonly text: string }
  readonly properties: { readonly runId: string; readonly observed: string }
  readonly locations: ReadonlyArray<{ readonly physicalLocation?: { readonly artifactLocation: { readonly uri: string } } }>
}
interface Rule {
  readonly id: string
  readonly properties: { readonly tags: ReadonlyArray<string>; readonly cwe: ReadonlyArray<string>; readonly "security-severity": string }
  readonly help: { readonly text: string }
}

describe("sarif", () => {
  it("validates against the SARIF 2.1.0 schema, for every kind of run", () => {
    const log = sarif(frozen([...all]), { files: { "gateway.fails-closed.auth-slow": "experiments/gateway.fails-closed.auth-slow.ts" } })
    expect(valid(log)).toBe("valid")
    expect(log.version).toBe("2.1.0")
    expect(log.runs.length).toBe(all.length)
  })

  it("validates against the official OASIS SARIF 2.1.0 (rtm.5) schema too, which rejects a broken log", () => {
    // The schema as published by OASIS/SchemaStore (shipped by Microsoft's sarif-js-sdk, MIT).
    // It is draft-04 and one of its patterns is not valid with the `u` flag, hence the options.
    const { $schema: _draft, id: _id, ...official } = JSON.parse(readFileSync(join(fixtureDir, "sarif-2.1.0-rtm.5.oasis.schema.json"), "utf8")) as Record<string, unknown>
    const check = new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false }).compile(official)
    for (const j of [...all, synthetic({ steps: 200, seed: 3, violations: 5 })]) expect(check(JSON.parse(JSON.stringify(sarif([j])))), JSON.stringify(check.errors)).toBe(true)
    const log = JSON.parse(JSON.stringify(sarif(all))) as { runs: Array<Record<string, unknown>> }
    expect(check({ ...log, runs: [{ ...log.runs[0], results: [{ level: "catastrophic", message: { text: "x" } }] }] })).toBe(false)
  })

  it("one result per finding, each pointing at a rule with CWE ids", () => {
    for (const [i, j] of all.entries()) {
      const run = sarif([j]).runs[0] as unknown as { results: ReadonlyArray<Result>; tool: { driver: { rules: ReadonlyArray<Rule> } }; invocations: ReadonlyArray<{ exitCode: number }> }
      expect(run.results.length, `run ${i}`).toBe(j.findings.length)
      expect(run.invocations[0]?.exitCode).toBe(j.exitCode)
      for (const [k, r] of run.results.entries()) {
        const f = j.findings[k]
        const rule = run.tool.driver.rules[r.ruleIndex] as Rule
        expect(rule.id).toBe(r.ruleId)
        expect(r.ruleId).toBe(`${j.experiment.id}/${f?.id}`)
        expect(rule.properties.cwe.length).toBeGreaterThan(0)
        expect(rule.properties.tags).toContain(`external/cwe/cwe-${rule.properties.cwe[0]?.replace("CWE-", "")}`)
        expect(Number(rule.properties["security-severity"])).toBeGreaterThan(0)
        expect(r.properties.runId).toBe(j.runId)
        expect(r.level).toBe(f?.severity === "critical" || f?.severity === "high" ? "error" : f?.severity === "medium" ? "warning" : "note")
      }
    }
  })

  it("the real failing run: a fail-open finding is CWE-636, located in the experiment file when known", () => {
    const j = byStatus("failed")
    const run = sarif([j], { files: { [j.experiment.id]: "experiments/gateway.fails-closed.auth-slow.ts" } }).runs[0] as unknown as { results: ReadonlyArray<Result>; tool: { driver: { rules: ReadonlyArray<Rule> } } }
    expect(run.tool.driver.rules[0]?.properties.cwe).toEqual(["CWE-636"])
    expect(run.tool.driver.rules[0]?.help.text).toContain("fail closed")
    expect(run.results[0]?.message.text).toContain("observed 200")
    expect(run.results[0]?.locations[0]?.physicalLocation?.artifactLocation.uri).toBe("experiments/gateway.fails-closed.auth-slow.ts")
  })

  it("CWE ids: the check's own CWE, then experiment tags, then the phase and detection decide", () => {
    const j = synthetic({ steps: 50, seed: 2, violations: 1 })
    const f = j.findings[0]
    if (f === undefined) throw new Error("expected a finding")
    expect(cweOf(j, f)).toEqual(["636"])
    expect(cweOf({ ...j, experiment: { ...j.experiment, tags: ["CWE-285", "auth"] } }, f)).toEqual(["285"])
    expect(cweOf(j, { ...f, phase: "recovery" })).toEqual(["703"])
    expect(cweOf(j, { ...f, phase: "after" })).toEqual(["693"])
    expect(cweOf(j, { ...f, id: "alerts detected within 2s: at least one" })).toEqual(["778"])
    expect(cweOf({ ...j, experiment: { ...j.experiment, tags: ["CWE-285"] } }, { ...f, cwe: "CWE-306" })).toEqual(["306"])
  })

  it("the shipped schema is live: it rejects logs that break SARIF 2.1.0", () => {
    const good = sarif([byStatus("failed")]) as unknown as { runs: Array<{ results: Array<Record<string, unknown>> }> }
    const clone = () => JSON.parse(JSON.stringify(good)) as typeof good
    expect(valid({ ...clone(), version: "2.0.0" })).not.toBe("valid")
    const noMessage = clone()
    delete noMessage.runs[0]?.results[0]?.["message"]
    expect(valid(noMessage)).not.toBe("valid")
    const badLevel = clone()
    if (badLevel.runs[0]?.results[0] !== undefined) badLevel.runs[0].results[0]["level"] = "critical"
    expect(valid(badLevel)).not.toBe("valid")
    const extra = clone()
    if (extra.runs[0]?.results[0] !== undefined) extra.runs[0].results[0]["severity"] = "critical"
    expect(valid(extra)).not.toBe("valid")
    expect(valid({ version: "2.1.0", runs: [{}] })).not.toBe("valid")
  })
})
