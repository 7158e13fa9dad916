/**
 * Loading experiment files and the config. TypeScript is loaded directly (the `shiftup` bin
 * registers tsx). Every experiment export counts, default and named. Problems become typed
 * errors that name the file and what to change.
 */
import { existsSync, readdirSync, statSync } from "node:fs"
import { extname, join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { defineConfig, type Config } from "../Config.ts"
import { isExperiment, type Experiment } from "../Experiment.ts"
import { describeUnknown, fail, InvalidArguments, isShiftupError, LoadFailed } from "../ShiftupError.ts"

const extensions = new Set([".ts", ".mts", ".js", ".mjs"])
const isSource = (f: string) => extensions.has(extname(f)) && !f.endsWith(".d.ts") && !/\.(test|spec)\.[mc]?[jt]s$/.test(f)

/** Expands files and folders (recursively, sorted) into experiment source files. */
export const expand = (paths: ReadonlyArray<string>): ReadonlyArray<string> =>
  paths.flatMap((p) => {
    const abs = resolve(p)
    if (!existsSync(abs)) throw fail(new LoadFailed({ file: p, detail: "no such file or folder" }))
    if (!statSync(abs).isDirectory()) return [abs]
    const walk = (dir: string): ReadonlyArray<string> =>
      readdirSync(dir, { withFileTypes: true })
        .sort((a, b) => a.name.localeCompare(b.name))
        .flatMap((d) => (d.isDirectory() ? (d.name === "node_modules" ? [] : walk(join(dir, d.name))) : isSource(d.name) ? [join(dir, d.name)] : []))
    const found = walk(abs)
    if (found.length === 0) throw fail(new LoadFailed({ file: p, detail: "the folder holds no .ts or .js files" }))
    return found
  })

export interface Loaded {
  readonly file: string
  readonly experiments: ReadonlyArray<Experiment>
}

/** Imports one file and returns its experiments (default export first). */
export const loadFile = async (file: string): Promise<Loaded> => {
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } catch (e) {
    if (isShiftupError(e)) throw e
    throw fail(new LoadFailed({ file, detail: describeUnknown(e) }))
  }
  const experiments = [mod["default"], ...Object.entries(mod).filter(([k]) => k !== "default").map(([, v]) => v)].filter(isExperiment)
  const unique = [...new Set(experiments)]
  if (unique.length === 0) throw fail(new LoadFailed({ file, detail: "it exports no experiment; export one made with Experiment.make or Experiment.gen" }))
  return { file, experiments: unique }
}

/** Loads `--config`, or `shiftup.config.ts` in the working directory when present. */
export const loadConfig = async (explicit: string | undefined): Promise<Config> => {
  const candidates = explicit !== undefined ? [explicit] : ["shiftup.config.ts", "shiftup.config.mts", "shiftup.config.js", "shiftup.config.mjs"].filter((f) => existsSync(f))
  const file = candidates[0]
  if (file === undefined) return {}
  if (!existsSync(file)) throw fail(new InvalidArguments({ detail: `--config ${file}: no such file` }))
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>
  } catch (e) {
    if (isShiftupError(e)) throw e
    throw fail(new LoadFailed({ file, detail: describeUnknown(e) }))
  }
  const config = mod["default"]
  if (typeof config !== "object" || config === null) throw fail(new LoadFailed({ file, detail: "it must `export default defineConfig({ … })`" }))
  return { ...defineConfig(config as Config, file), module: resolve(file) }
}
