/**
 * Report generation: the HTML report (and, for comparison, the other formats) of a synthetic
 * journal of 10,000 steps — median time to render and the size of the file. Aims: HTML under
 * 1 s and under 2 MB.
 */
import { html, junit, markdown, sarif } from "../src/report/index.ts"
import { synthetic } from "../test/fixtures/report/synthetic.ts"
import { median, spread, type Line, type Section } from "./lib.ts"

const time = (f: () => unknown, reps: number) => {
  const ts: Array<number> = []
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now()
    f()
    ts.push(performance.now() - t0)
  }
  return ts
}

export const report: Section = {
  name: "report",
  title: "report generation for a synthetic journal of 10,000 steps (4 targets, 5 faults, ~1% violations)",
  run: async () => {
    const journal = synthetic({ steps: 10_000, seed: 42, faults: 5 })
    for (let i = 0; i < 3; i++) html([journal]) // warm up
    const htmlMs = time(() => html([journal]), 15)
    const page = html([journal])
    const junitMs = time(() => junit([journal]), 7)
    const sarifMs = time(() => JSON.stringify(sarif([journal])), 7)
    const mdMs = time(() => markdown([journal]), 7)
    // A game day: 12 runs of 1,000 steps, a third of them failing.
    const gameDay = Array.from({ length: 12 }, (_, i) => synthetic({ steps: 1000, seed: 100 + i, faults: 2, violations: i % 3 === 0 ? 0.02 : 0 }))
    for (let i = 0; i < 2; i++) html(gameDay)
    const gameDayMs = time(() => html(gameDay), 9)
    const lines: ReadonlyArray<Line> = [
      { name: "report.html_ms_10k", value: median(htmlMs), note: "median ms to render the HTML report of 10,000 steps (aim < 1000)" },
      { name: "report.html_ms_10k_spread", value: spread(htmlMs) },
      { name: "report.html_kb_10k", value: Buffer.byteLength(page) / 1024, digits: 0, note: "size of that HTML file in KiB (aim < 2048)" },
      { name: "report.junit_ms_10k", value: median(junitMs) },
      { name: "report.junit_kb_10k", value: Buffer.byteLength(junit([journal])) / 1024, digits: 0 },
      { name: "report.sarif_ms_10k", value: median(sarifMs) },
      { name: "report.md_ms_10k", value: median(mdMs) },
      { name: "report.html_ms_gameday", value: median(gameDayMs), note: "median ms to render the HTML report of a game day: 12 runs of 1,000 steps" },
      { name: "report.html_kb_gameday", value: Buffer.byteLength(html(gameDay)) / 1024, digits: 0 },
    ]
    return lines
  },
}
