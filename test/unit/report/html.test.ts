/**
 * The HTML report as text: self-contained (no script, no external reference, a CSP that forbids
 * the network), the timeline, fault windows, rollbacks and plots present, findings with evidence
 * and policy decisions with reasons, everything escaped; 10,000 steps stay small and fast.
 * (test/integration/report-html-browser.test.ts renders it in Chromium.)
 */
import { describe, expect, it } from "vitest"
import { html } from "shiftup/report"
import type { Journal } from "shiftup"
import { gameDay } from "../../fixtures/report/gameday.ts"
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

  it("charts probe values: checks observed once or twice share one strip chart per family (here: the target), a row per check", () => {
    const j = byStatus("failed")
    const page = html([j])
    const series = new Set(j.steps.filter((s) => s.kind === "check").map((s) => s.id))
    expect(count(page, '<svg class="plot"')).toBe(0)
    expect(count(page, '<svg class="strip"')).toBe(1)
    expect(page).toContain(`checks of gateway: ${series.size} checks, 1 failing`)
    expect(count(page, '<circle class="pt v"')).toBe(1)
    expect(page).toContain('<text class="lane bad"')
  })

  it("a headers+TLS audit of 29 rules draws one chart per rule family (7), the failing family first, before any passing one", () => {
    const audit = gameDay().find((j) => j.experiment.id === "gameday.audit.headers-and-tls") as Journal.Journal
    const page = html([audit])
    expect(count(page, '<svg class="strip"')).toBe(7)
    expect(count(page, '<svg class="plot"')).toBe(0)
    const captions = [...page.matchAll(/<div class="family"><div class="cap">([^<]*)<\/div>/g)].map((m) => m[1])
    expect(captions[0]).toBe("tls rules: 6 checks, 1 failing")
    expect(captions.slice(1).sort()).toEqual(["cookies rules: 3 checks", "cors rules: 2 checks", "headers rules: 5 checks", "inject rules: 7 checks", "leak rules: 5 checks", "rate rules: 1 check"])
    // rows are named by the rule, the failing one first in its chart
    expect(page).toMatch(/<svg class="strip"[^>]*aria-label="tls rules"[^>]*>.*?<text class="lane bad"[^>]*>tls\.legacy-protocol</)
    // the finding comes before the charts
    expect(page.indexOf('<div class="finding')).toBeLessThan(page.indexOf('<svg class="strip"'))
  })

  it("a during check's kept samples are all plotted, each at its time, violations in red; the finding says how many", () => {
    const failOpen = gameDay().find((j) => j.experiment.id === "gameday.gateway.fails-closed.auth-slow") as Journal.Journal
    const page = html([failOpen])
    const plot = /<svg class="plot"[\s\S]*?<\/svg>/.exec(page)?.[0] ?? ""
    const dots = (cls: string) => (new RegExp(`<path class="pt ${cls}" d="([^"]*)"`).exec(plot)?.[1] ?? "").split("M").filter((m) => m !== "")
    expect(dots("h")).toHaveLength(8)
    expect(dots("v")).toHaveLength(7)
    expect(plot).toContain("15 observation(s), 7 not as expected")
    // one x position per sample: the samples are spread over the check's 610 ms
    expect(new Set([...dots("h"), ...dots("v")].map((d) => d.split(" ")[0])).size).toBe(15)
    expect(page).toContain('<dd class="evidence">7 of 15 samples observed 200, first at +170 ms (175 ms after the last injection)</dd>')
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

  describe("a game day (several journals)", () => {
    const runs = gameDay()
    const page = html(runs)
    const order = [...page.matchAll(/<(section|details) class="run" id="run-(\d+)" data-status="([^"]+)"/g)].map((m) => ({ tag: m[1], i: Number(m[2]), status: m[3] }))

    it("puts failures first: failed, then aborted and refused, then the passing runs, in run order within each", () => {
      expect(order.map((o) => o.i)).toEqual(runs.map((_, i) => i))
      expect(order.map((o) => o.status)).toEqual(["failed", "failed", "failed", "aborted", "refused", ...Array.from({ length: 8 }, () => "passed")])
      const ids = [...page.matchAll(/<h2><span class="badge [^"]+">[^<]+<\/span>([^<]+)<\/h2>/g)].map((m) => m[1])
      expect(ids.slice(0, 3)).toEqual(["gameday.audit.headers-and-tls", "gameday.gateway.fails-closed.auth-slow", "gameday.detect-and-recover-5"])
    })

    it("collapses passing runs (a closed <details>), shows the others open", () => {
      expect(order.filter((o) => o.status === "passed").every((o) => o.tag === "details")).toBe(true)
      expect(order.filter((o) => o.status !== "passed").every((o) => o.tag === "section")).toBe(true)
      expect(page).not.toMatch(/<details class="run"[^>]* open/)
      expect(page).toContain('<details class="passed"><summary>8 passed runs</summary>')
    })

    it("sums up time-to-detect and time-to-recover across runs, and per run in the overview", () => {
      expect(page).toContain("<b>time-to-detect</b> 4 runs measured: median 515 ms, slowest 950 ms (gameday.detect-and-recover-4); 1 run detected nothing</div>")
      expect(page).toContain("<b>time-to-recover</b> 5 runs measured: median 450 ms, slowest 1900 ms (gameday.detect-and-recover-3)</div>")
      expect(page).toMatch(/gameday\.detect-and-recover-5<\/a><\/td><td class="num">1<\/td><td class="num no">not detected<\/td><td class="num">700 ms<\/td>/)
      expect(page).toMatch(/gameday\.detect-and-recover-3<\/a><\/td><td class="num">0<\/td><td class="num">380 ms<\/td><td class="num">1900 ms<\/td>/)
    })

    it("a single run is never collapsed, and has no overview", () => {
      const one = html([runs[0] as Journal.Journal])
      expect(one).toContain('<section class="run" id="run-0" data-status="passed">')
      expect(one).not.toContain('class="overview"')
    })
  })

  it("is a pure function of the journals", () => {
    expect(html(all)).toBe(html(all))
  })

  it("lists vulnerable components worst first, escaped, with fixes and where they were read", () => {
    const v = (advisory: string, level: string, score: number | undefined, name: string, fixed: ReadonlyArray<string>) => ({
      advisory,
      aliases: [`CVE-${advisory}`],
      summary: `<b>${name}</b> is vulnerable`,
      severity: { level, ...(score === undefined ? {} : { score }) },
      package: { ecosystem: "npm", name, version: "1.0.0" },
      fixed,
      location: { image: "app:1", path: "/app/package-lock.json" },
    })
    const page = html([], { vulnerabilities: [v("LOW-1", "low", 2.1, "a", []), v("CRIT-1", "critical", 9.8, "b", ["1.0.1"]), v("HIGH-1", "high", 7.5, "c", ["2.0.0"])] })
    expect(page).toContain("<title>shiftup: vulnerable components</title>")
    expect(page).toContain("Vulnerable components (3)")
    const at = ["CRIT-1", "HIGH-1", "LOW-1"].map((id) => page.indexOf(id))
    expect(at.every((x, i) => x > 0 && (i === 0 || x > (at[i - 1] ?? 0))), `positions ${at.join(", ")}`).toBe(true)
    expect(page).toContain("&lt;b&gt;b&lt;/b&gt; is vulnerable")
    expect(page).not.toContain("<b>b</b> is vulnerable")
    expect(page).toContain("no fix known")
    expect(page).toContain("<code>/app/package-lock.json</code>")
    expect(html([], { vulnerabilities: [] })).toContain("No installed package matched an advisory.")
    expect(html(frozen(real))).not.toContain("Vulnerable components")
  })
})
