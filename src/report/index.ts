/**
 * `shiftup/report`: reporters, each a pure function of run journals — HTML (a self-contained
 * page with an SVG timeline and plots), JUnit XML (one testcase per assertion), SARIF 2.1.0
 * (findings as code-scanning results with CWE ids), Markdown (a pull-request summary) — and the
 * live console reporter. Misconfiguration results (rules.ts) go through the same HTML, JUnit and
 * SARIF reporters.
 *
 * @example
 * import { html, junit, writeReports } from "shiftup/report"
 * writeReports([journal], { formats: ["html", "junit"], out: "reports" })
 */
import "../../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails
import { mkdirSync, renameSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Journal } from "../Journal.ts"
import { fail, InvalidArguments } from "../ShiftupError.ts"
import { html, type HtmlOptions } from "./html.ts"
import { junit } from "./junit.ts"
import { markdown } from "./markdown.ts"
import { sarif, type SarifOptions } from "./sarif.ts"
import type { RuleResults } from "./rules.ts"

export { consoleReporter, nextStep, type ConsoleOptions } from "./console.ts"
export { html, type HtmlOptions, type Vulnerability } from "./html.ts"
export { junit } from "./junit.ts"
export { markdown } from "./markdown.ts"
export { cweOf, rulesRun, sarif, sarifSchemaUri, type SarifOptions } from "./sarif.ts"
export { cweUrl, helpUri, referencesOf, ruleFindingsOf, type Reference, type RuleFinding, type RuleInfo, type RuleResults } from "./rules.ts"

export type Format = "html" | "junit" | "sarif" | "md"

export const formats: ReadonlyArray<Format> = ["html", "junit", "sarif", "md"]

/** The file each format is written to, inside the output directory. */
export const fileNames: Readonly<Record<Format, string>> = { html: "shiftup-report.html", junit: "shiftup-junit.xml", sarif: "shiftup.sarif", md: "shiftup-summary.md" }

/**
 * Parses a comma-separated list of formats (`html,junit`; `markdown` and `xml` are accepted as
 * aliases). Unknown formats are an `InvalidArguments` error listing the known ones.
 */
export const parseFormats = (list: ReadonlyArray<string>): ReadonlyArray<Format> => {
  const alias: Readonly<Record<string, Format>> = { markdown: "md", xml: "junit" }
  const names = list.flatMap((s) => s.split(",")).map((s) => s.trim().toLowerCase()).filter((s) => s !== "")
  const unknown = names.filter((n) => !(formats as ReadonlyArray<string>).includes(n) && alias[n] === undefined)
  if (unknown.length > 0) throw fail(new InvalidArguments({ detail: `unknown report format${unknown.length === 1 ? "" : "s"} ${unknown.map((u) => `"${u}"`).join(", ")}; known: ${formats.join(", ")}` }))
  if (names.length === 0) throw fail(new InvalidArguments({ detail: `no report format given; known: ${formats.join(", ")}` }))
  return [...new Set(names.map((n) => alias[n] ?? (n as Format)))]
}

export interface RenderOptions {
  readonly html?: HtmlOptions
  readonly sarif?: SarifOptions
  /** Misconfiguration results (`shiftup misconfig --report`): a section of the HTML, a JUnit suite, a SARIF run. */
  readonly misconfig?: RuleResults
}

/** Renders journals in one format, as the text of the file. */
export const render = (format: Format, journals: ReadonlyArray<Journal>, options: RenderOptions = {}): string => {
  switch (format) {
    case "html":
      return html(journals, { ...options.html, ...(options.misconfig === undefined ? {} : { misconfig: options.misconfig }) })
    case "junit":
      return junit(journals, options.misconfig === undefined ? {} : { misconfig: options.misconfig })
    case "sarif":
      return `${JSON.stringify(sarif(journals, { ...options.sarif, ...(options.misconfig === undefined ? {} : { misconfig: options.misconfig }) }), null, 2)}\n`
    case "md":
      return markdown(journals, options.misconfig === undefined ? {} : { misconfig: options.misconfig })
  }
}

/**
 * Writes one file per format into `out` (created if missing; each written atomically) and
 * returns their paths.
 */
export const writeReports = (journals: ReadonlyArray<Journal>, options: RenderOptions & { readonly formats: ReadonlyArray<Format>; readonly out: string }): ReadonlyArray<string> => {
  mkdirSync(options.out, { recursive: true })
  return options.formats.map((f) => {
    const path = join(options.out, fileNames[f])
    const tmp = `${path}.${process.pid}.tmp`
    writeFileSync(tmp, render(f, journals, options))
    renameSync(tmp, path)
    return path
  })
}
