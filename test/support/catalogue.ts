/**
 * Docs are executed: the experiment and example files of a folder, and what each experiment is
 * expected to end as — read from the experiment itself (tags `refused`, `finding`, `plan` /
 * `dry-run`) plus a table of known outcomes, for the catalogue tests.
 */
import { type Dirent, readdirSync } from "node:fs"
import { extname, join } from "node:path"
import { pathToFileURL } from "node:url"
import { Experiment, type Journal } from "shiftup"
import { repoRoot } from "./proc-cli.ts"

/** Source files under `folder` (recursively), sorted; subfolders named in `skip` are left out. */
export const sources = (folder: string, skip: ReadonlyArray<string> = []): ReadonlyArray<string> => {
  const walk = (dir: string): ReadonlyArray<string> => {
    let entries: Array<Dirent>
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return []
    }
    return entries
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((d) =>
        d.isDirectory()
          ? skip.includes(d.name)
            ? []
            : walk(join(dir, d.name))
          : [".ts", ".mts", ".js", ".mjs"].includes(extname(d.name)) && !/\.d\.ts$|\.(test|spec)\.[mc]?[jt]s$/.test(d.name)
            ? [join(dir, d.name)]
            : [],
      )
  }
  return walk(join(repoRoot, folder))
}

export interface Expectation {
  readonly id: string
  readonly status: Journal.Status
  readonly planOnly: boolean
}

/** Loads a file here (as the CLI does) to read its experiments' ids and tags. */
export const expectationsOf = async (file: string, known: Readonly<Record<string, Journal.Status>> = {}): Promise<ReadonlyArray<Expectation>> => {
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  const experiments = [...new Set(Object.values(mod).filter(Experiment.isExperiment))]
  return experiments.map((e) => ({
    id: e.id,
    status: e.tags.includes("refused") ? "refused" : (known[e.id] ?? (e.tags.includes("finding") ? "failed" : "passed")),
    planOnly: e.tags.includes("plan") || e.tags.includes("dry-run"),
  }))
}

/** What the CLI runs for a file: refused-only files are planned and run (both must refuse), plan-only ones planned. */
export const commandsFor = (expected: ReadonlyArray<Expectation>): ReadonlyArray<"plan" | "run"> => {
  const refusedOnly = expected.every((x) => x.status === "refused")
  const planOnly = !refusedOnly && expected.every((x) => x.planOnly || x.status === "refused")
  return refusedOnly ? ["plan", "run"] : planOnly ? ["plan"] : ["run"]
}
