/** The Markdown summary: a table row per run, the findings with evidence, refusals and aborts. */
import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import type { Journal } from "shiftup"
import { markdown } from "shiftup/report"
import { gameDay } from "../../fixtures/report/gameday.ts"
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
      expect(c.length).toBe(10)
      expect(c[1]).toContain(`\`${j.experiment.id}\``)
      expect(c[4]?.trim()).toBe(String(j.findings.length))
      expect(c[9]).toContain(j.runId)
    }
  })

  it("a game day: TTD and TTR columns per run, summed up across runs above the table; a finding's samples", () => {
    const runs = gameDay()
    const md = markdown(runs)
    expect(md).toContain("| | experiment | status | checks | findings | TTD | TTR | rollbacks | duration | run |")
    const row = (id: string) => cells(md.split("\n").find((l) => l.includes(`\`${id}\``)) ?? "").map((c) => c.trim())
    expect(row("gameday.detect-and-recover-3").slice(5, 7)).toEqual(["380 ms", "1900 ms"])
    expect(row("gameday.detect-and-recover-5").slice(5, 7)).toEqual(["not detected", "700 ms"])
    expect(row("gameday.audit.headers-and-tls").slice(5, 7)).toEqual(["—", "—"])
    expect(md).toContain("Time to detect: 4 runs measured: median 515 ms, slowest 950 ms (gameday.detect-and-recover-4); 1 run detected nothing.")
    expect(md).toContain("Time to recover: 5 runs measured: median 450 ms, slowest 1900 ms (gameday.detect-and-recover-3).")
    expect(md).toContain("  - samples: 7 of 15 samples observed 200, first at +170 ms (175 ms after the last injection)")
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
    for (const r of rows) expect(cells(r).length).toBe(10)
  })

  it("is deterministic", () => {
    expect(markdown(all)).toBe(markdown(all))
  })
})

/**
 * What GitHub does with a comment: cmark-gfm (GitHub's own renderer; Debian package `cmark-gfm`)
 * with its extensions, keeping raw HTML (`--unsafe`) so that any tag that survives is visible —
 * GitHub's sanitizer comes after and is not ours to rely on.
 */
const renderLikeGitHub = (md: string): string => {
  const r = spawnSync("cmark-gfm", ["--unsafe", "-e", "table", "-e", "autolink", "-e", "strikethrough"], { input: md, encoding: "utf8" })
  if (r.error !== undefined) throw new Error(`cmark-gfm is needed for this test (apt-get install cmark-gfm): ${r.error.message}`)
  return r.stdout
}

/** Payloads that try to leave their cell, their code span or plain text; `N` numbers each use. */
const payloads = [
  "<img src=x onerror=alert(N)>",
  "</td><script>alert(N)</script>",
  "a`b``c`<img src=x onerror=alert(N)>``",
  "x\\|<img src=x onerror=alert(N)>",
  "line\n\n<img src=x onerror=alert(N)>",
  "[click](javascript:alert(N)) **bold** ~~s~~ <!-- open",
  "&lt;img src=x onerror=alert(N)&gt; | pipe",
]

/** A failed, an incomplete and a refused run whose every string field a reporter prints holds `payload`. */
const hostileRuns = (payload: string): ReadonlyArray<Journal.Journal> => {
  let n = 0
  const p = () => payload.replace("N", String(++n))
  const failed = byStatus("failed")
  const finding = failed.findings[0] as Journal.Finding
  const step = failed.steps.find((s) => s.id === finding.id && s.outcome === "violated") as Journal.StepRecord
  const id = p()
  const withStep = { ...step, id, phase: finding.phase, startedAt: p(), message: p() }
  const rollback = { seq: 1, fault: p(), target: p(), compensation: p(), startedAt: "t", endedAt: "t", durationMs: 1, outcome: "failed" as const, error: p() }
  return [
    { ...failed, runId: p(), experiment: { ...failed.experiment, id: p(), title: p() }, steps: [withStep], findings: [{ ...finding, id, title: p(), target: p(), expected: p(), observed: p(), remediation: p(), cwe: p() }] },
    { ...failed, status: "rollback-incomplete", exitCode: 5, summary: p(), findings: [], rollbacks: [rollback] },
    { ...byStatus("refused"), refusal: { rule: p(), target: p(), step: p(), reason: p() } },
    { ...failed, status: "aborted", exitCode: 3, findings: [], abort: { cause: "guard", detail: p() } },
  ]
}

describe("markdown rendered as GitHub renders it", () => {
  it.each(payloads)("no tag, link or broken cell survives from journal text: %s", (payload) => {
    const md = markdown(hostileRuns(payload))
    const html = renderLikeGitHub(md)
    expect(html, md).not.toMatch(/<(img|script|a)[\s>]/i)
    expect(html, md).not.toMatch(/<!--/)
    expect(html, md).not.toMatch(/<strong>bold|<del>/)
    // Every run is one row of eight cells: nothing left its cell.
    const rows = html.split("<tr>").slice(2)
    expect(rows.length).toBe(4)
    for (const row of rows) expect(row.match(/<td>/g)?.length, row).toBe(10)
    // The text is still there to read, escaped.
    expect(html).toContain("alert(")
  })
})
