/**
 * The HTML report as text: self-contained (no script, no external reference, a CSP that forbids
 * the network), the timeline, fault windows, rollbacks and plots present, findings with evidence
 * and policy decisions with reasons, everything escaped; 10,000 steps stay small and fast.
 * (test/integration/report-html-browser.test.ts renders it in Chromium.)
 */
import { describe, expect, it } from "vitest"
import { html } from "shiftup/report"
import { synthetic } from "../../fixtures/report/synthetic.ts"
import { aborted, all, byStatus, frozen, real, withHostileText } from "./journals.ts"

const count = (s: string, needle: string) => s.split(needle).length - 1

describe("html", () => {
  it("is one self-contained document: no script, no external reference, a CSP forbidding the network", () => {
    // (journal text is checked separately below: escaped markup may legitimately read "src=")
    const page = html(frozen([...real, aborted]))
    expect(page.startsWith("<!doctype html>")).toBe(true)
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`)
    expect(page).not.toMatch(/<script|<link|<iframe|<img|<object|<embed|@import|<[^>]*\ssrc=|url\((?!#)/i)
    expect(page).not.toMatch(/href="(?!#)/)
  })

  it("draws a timeline per run with phases, fault windows, steps per target and rollbacks", () => {
    const j = byStatus("failed")
    const page = html([j])
    expect(count(page, '<svg class="timeline"')).toBe(1)
    expect(page).toContain('class="ph method"')
    expect(page).toContain('class="ph before"')
    expect(count(page, 'class="fw"')).toBe(1)
    expect(page).toContain("fault auth-slow on auth active")
    expect(count(page, 'class="rb ok"')).toBe(1)
    expect(page).toContain("↺ rollback")
    expect(page).toContain("◉ gateway")
    expect(count(page, 'class="s v"')).toBe(1)
    expect(count(page, '<svg class="timeline"')).toBe(1)
    expect(count(html(real), '<svg class="timeline"')).toBe(real.length)
  })

  it("plots probe values over time, one small plot per probed series", () => {
    const page = html([byStatus("failed")])
    const series = new Set(byStatus("failed").steps.filter((s) => s.kind === "check").map((s) => s.id))
    expect(count(page, '<svg class="plot"')).toBe(series.size)
    expect(page).toContain('class="pt v"')
    expect(page).toContain('class="pt h"')
  })

  it("shows the findings with evidence and the policy decisions with their reasons", () => {
    const page = html([byStatus("failed"), byStatus("refused")])
    expect(page).toContain('<div class="finding critical">')
    expect(page).toContain("6 sample(s) over 1.1 s")
    expect(page).toContain("Treat an auth timeout as a denial (fail closed), and alert on it.")
    expect(page).toContain("staging permits disrupt")
    expect(page).toMatch(/<td class="no">REFUSE<\/td><td>payments-latency<\/td><td><code>payments<\/code><\/td><td>disrupt<\/td><td><code>floor.production-observe-only<\/code><\/td><td>production \(label env=prod\)/)
    expect(page).toContain("refused before any side effect: nothing ran")
  })

  it("marks the abort and the stop condition on the timeline", () => {
    const page = html([aborted])
    expect(page).toContain('class="mk abt"')
    expect(page).toContain("■ stop condition")
    expect(page).toContain("aborted (guard): guard: gateway /health equals 200: observed 503")
  })

  it("escapes everything taken from the journal", () => {
    const page = html([withHostileText])
    expect(page).not.toContain("<script>alert(1)</script>")
    expect(page).not.toContain("<img src=x")
    expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;")
  })

  it("10,000 steps: under 2 MB, bounded drawing, every violation still listed", () => {
    const j = synthetic({ steps: 10_000, seed: 5, faults: 4 })
    const t0 = performance.now()
    const page = html([j])
    const took = performance.now() - t0
    expect(page.length).toBeLessThan(2 * 1024 * 1024)
    // Generous bound for a loaded CI machine; bench/report.ts measures the real figure.
    expect(took).toBeLessThan(5000)
    expect(count(page, 'class="fw"')).toBe(4)
    const violated = j.steps.filter((s) => s.outcome === "violated").length
    expect(violated).toBeGreaterThan(0)
    expect(count(page, '<td class="no">violated</td>')).toBe(violated)
    expect(count(page, "<rect class=\"s ")).toBeLessThan(6000)
  })

  it("is a pure function of the journals", () => {
    expect(html(all)).toBe(html(all))
  })
})
