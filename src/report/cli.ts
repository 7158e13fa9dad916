/**
 * The report side of the CLI: `shiftup report <journals…> --format …` and the `--report`/`--out`
 * options of `shiftup run` and `shiftup plan`, and the `--report` of `shiftup misconfig` and
 * `shiftup inventory --check`. Unknown formats and unreadable journals are
 * invalid input (exit 4).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import type { Journal } from "../Journal.ts"
import { JournalSchema, schema } from "../Journal.ts"
import { decodeAll } from "../internal/validate.ts"
import { describeUnknown, fail, formatIssues, InvalidArguments, LoadFailed } from "../ShiftupError.ts"
import { fileNames, formats, parseFormats, render, writeReports, type Format, type RenderOptions } from "./index.ts"

interface Io {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

export interface ReportTarget {
  readonly formats: ReadonlyArray<Format>
  readonly out: string | undefined
}

/** `--report` and `--out` of run/plan, validated before anything runs. */
export const reportTarget = (report: ReadonlyArray<string> | undefined, out: string | undefined): ReportTarget | undefined => {
  if (report === undefined) {
    if (out !== undefined) throw fail(new InvalidArguments({ detail: "--out needs --report <formats>" }))
    return undefined
  }
  return { formats: parseFormats(report), out }
}

/** After a run: writes the reports of its journals and says where. */
export const writeRunReports = (
  journals: ReadonlyArray<Journal>,
  selected: ReadonlyArray<{ readonly file: string; readonly experiment: { readonly id: string } }>,
  target: ReportTarget | undefined,
  stateDir: string | undefined,
  io: Io,
): void => {
  if (target === undefined || journals.length === 0) return
  const out = target.out ?? join(stateDir ?? ".shiftup", "reports")
  const files: Record<string, string> = {}
  for (const s of selected) files[s.experiment.id] = relative(process.cwd(), s.file)
  try {
    const paths = writeReports(journals, { formats: target.formats, out, sarif: { files } })
    io.out(`reports: ${paths.join(", ")}\n`)
  } catch (e) {
    io.err(`shiftup: could not write reports to ${out}: ${describeUnknown(e)}\n`)
  }
}

const journalFiles = (paths: ReadonlyArray<string>): ReadonlyArray<string> =>
  paths.flatMap((p) => {
    if (!existsSync(p)) throw fail(new LoadFailed({ file: p, detail: "no such file or directory" }))
    if (!statSync(p).isDirectory()) return [p]
    return journalFiles(
      readdirSync(p)
        .sort()
        .filter((f) => f.endsWith(".json") || statSync(join(p, f)).isDirectory())
        .map((f) => join(p, f)),
    )
  })

/**
 * Reads a journal file and checks it against the documented schema (docs/journal.md); anything
 * else — unreadable, empty, not JSON, another document, a field missing or of the wrong type —
 * is a `LoadFailed` naming the file and every path that is wrong.
 */
export const readJournalFile = (file: string): Journal => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (e) {
    throw fail(new LoadFailed({ file, detail: `cannot read it: ${describeUnknown(e)}` }))
  }
  if (text.trim() === "") throw fail(new LoadFailed({ file, detail: `the file is empty, not a ${schema} journal` }))
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw fail(new LoadFailed({ file, detail: `not JSON (${describeUnknown(e)}); a journal is one ${schema} JSON object` }))
  }
  const declared = typeof value === "object" && value !== null && !Array.isArray(value) ? (value as { schema?: unknown }).schema : undefined
  if (declared !== schema) throw fail(new LoadFailed({ file, detail: `not a ${schema} journal (${Array.isArray(value) ? "a JSON array" : `schema: ${JSON.stringify(declared) ?? "none"}`})` }))
  const issues = decodeAll(JournalSchema, value, { excess: "ignore" })
  if (issues.length > 0) throw fail(new LoadFailed({ file, detail: `not a valid ${schema} journal (see docs/journal.md):\n${formatIssues(issues)}` }))
  return value as Journal
}

/** `shiftup report <journal files or folders…> --format <formats> [--out <dir>]`; resolves with the exit code. */
export const reportCommand = (paths: ReadonlyArray<string>, options: { readonly formats: ReadonlyArray<string>; readonly out: string | undefined }, io: Io): number => {
  if (paths.length === 0) throw fail(new InvalidArguments({ detail: "`shiftup report` needs journal files or folders" }))
  const formats = parseFormats(options.formats)
  const files = journalFiles(paths)
  if (files.length === 0) throw fail(new InvalidArguments({ detail: `no journal (*.json) found in ${paths.join(", ")}` }))
  const journals = files.map(readJournalFile)
  if (options.out === undefined) {
    const [only] = formats
    if (formats.length !== 1 || only === undefined) throw fail(new InvalidArguments({ detail: "several formats need --out <dir>" }))
    io.out(render(only, journals))
    return 0
  }
  const written = writeReports(journals, { formats, out: options.out })
  io.out(`reports: ${written.join(", ")}\n`)
  return 0
}

const byExtension: ReadonlyArray<readonly [RegExp, Format]> = [
  [/\.html?$/i, "html"],
  [/\.xml$/i, "junit"],
  [/\.sarif(\.json)?$/i, "sarif"],
  [/\.md$/i, "md"],
]

/**
 * `--report` of `shiftup misconfig` and `shiftup inventory --check`: each entry a format
 * (`html,junit`: written into `defaultDir` under the usual names), a directory (an existing one,
 * or a path ending in `/`: HTML, JUnit and SARIF into it) or a file whose extension names its
 * format (`.html`, `.xml` JUnit, `.sarif`, `.md`). Anything else is invalid input.
 */
export const reportFiles = (list: ReadonlyArray<string>, defaultDir: string): ReadonlyArray<{ readonly format: Format; readonly path: string }> => {
  const entries = list.flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s !== "")
  if (entries.length === 0) throw fail(new InvalidArguments({ detail: "--report needs formats (html,junit,sarif,md), a directory or report files (.html, .xml, .sarif, .md)" }))
  const files = entries.flatMap((entry) => {
    if (/[\\/]$/.test(entry) || (existsSync(entry) && statSync(entry).isDirectory())) return (["html", "junit", "sarif"] as const).map((format) => ({ format, path: join(entry, fileNames[format]) }))
    const known = byExtension.find(([re]) => re.test(entry))
    if (known !== undefined) return [{ format: known[1], path: entry }]
    if (/[\\/.]/.test(entry)) throw fail(new InvalidArguments({ detail: `--report ${entry}: not a format (${formats.join(", ")}), a directory (an existing one, or ending in /) nor a report file (.html, .xml for JUnit, .sarif, .md)` }))
    return parseFormats([entry]).map((format) => ({ format, path: join(defaultDir, fileNames[format]) }))
  })
  return [...new Map(files.map((f) => [f.path, f])).values()]
}

/** Writes each report file (its folder created, the file written atomically); returns the paths. */
export const writeReportFiles = (files: ReadonlyArray<{ readonly format: Format; readonly path: string }>, journals: ReadonlyArray<Journal>, options: RenderOptions): ReadonlyArray<string> =>
  files.map(({ format, path }) => {
    mkdirSync(dirname(path), { recursive: true })
    const tmp = `${path}.${process.pid}.tmp`
    writeFileSync(tmp, render(format, journals, options))
    renameSync(tmp, path)
    return path
  })
