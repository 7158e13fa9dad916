/** The Markdown summary: a table row per run, the findings with evidence, refusals and aborts. */
import { describe, expect, it } from "vitest"
import { markdown } from "shiftup/report"
import { synthetic } from "../../fixtures/report/synthetic.ts"
import { aborted, all, byStatus, frozen, real, withHostileText } from "./journals.ts"

/** Cells of a Markdown table row, splitting on pipes that are not escaped. */
const cells = (row: string) => row.split(/(?<!\\)\|/).slice(1, -1)

describe("markdown", () => {
  it("one table row per run with its status, checks, findings and rollbacks", () => {
    const md = markdown(frozen([...real]))
    expect(md).toMatch(/^## shiftup: 5 experiments — 3 passed, 1 failed, 1 refused$/m)
    const rows = md.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| |") && !l.startsWith("| ---"))
    expect(rows.length).toBe(real.length)
    for (const [i, j] of real.entries()) {
      const c = cells(rows[i] as string)
      expect(c.length).toBe(8)
      expect(c[1]).toContain(`\`${j.experiment.id}\``)
      expect(c[4]?.trim()).toBe(String(j.findings.length))
      expect(c[7]).toContain(j.runId)
    }
  })

  it("lists the real finding with its evidence and fix, and the refusal with its rule", () => {
    const md = markdown([byStatus("failed"), byStatus("refused")])
    expect(md).toContain("**[critical] GET /admin as anonymous during faults: never 200**")
    expect(md).toContain("expected `never 200`, observed `200`")
    expect(md).toContain("evidence: 6 sample(s) over 1125 ms")
    expect(md).toContain("fix: Treat an auth timeout as a denial (fail closed), and alert on it.")
    expect(md).toContain("floor.production-observe-only")
    expect(md).toMatch(/Exit code 2\./)
  })

  it("an aborted run says why", () => {
    expect(markdown([aborted])).toContain("aborted (guard): guard: gateway /health equals 200: observed 503")
  })

  it("pipes, backticks and newlines in values cannot break the table", () => {
    const md = markdown([withHostileText, synthetic({ steps: 30, seed: 9, text: "a|b\nc`d" })])
    const rows = md.split("\n").filter((l) => l.startsWith("| ✅") || l.startsWith("| ❌"))
    expect(rows.length).toBe(2)
    for (const r of rows) expect(cells(r).length).toBe(8)
  })

  it("is deterministic", () => {
    expect(markdown(all)).toBe(markdown(all))
  })
})
