/**
 * Loading experiment files and the config. Both are ES modules whatever the package.json of
 * their folder says (no "type", or "commonjs"), so `export default` and top-level `await` work
 * anywhere. TypeScript is stripped by Node itself; tsx is loaded only for a file Node cannot
 * strip (an enum, a namespace, a parameter property, a decorator), which costs it ~3× the time.
 * Every experiment export counts, default and named. Problems become typed errors that name
 * the file and what to change.
 */
import { existsSync, readdirSync, statSync } from "node:fs"
import module from "node:module"
import { extname, join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { defineConfig, type Config } from "../Config.ts"
import type { Experiment } from "../Experiment.ts"
import type { Property } from "../Property.ts"
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

/**
 * URLs loaded as ES modules: the files the CLI was given, and the TypeScript files outside
 * node_modules that they import (a `.cts` stays CommonJS, a `.js` follows Node's own rules).
 */
const forced = new Set<string>()
const bare = (url: string) => url.replace(/[?#].*$/, "")
const ownTypeScript = (url: string) => url.startsWith("file:") && /\.m?ts$/.test(url) && !url.includes("/node_modules/")
let hooked = false

const forceModules = () => {
  if (hooked) return
  hooked = true
  module.registerHooks({
    resolve: (specifier, context, next) => {
      const resolved = next(specifier, context)
      const url = bare(resolved.url)
      const parent = context.parentURL === undefined ? undefined : bare(context.parentURL)
      if (!forced.has(url) && !(parent !== undefined && forced.has(parent) && ownTypeScript(url))) return resolved
      forced.add(url)
      return { ...resolved, format: /\.m?ts$/.test(url) ? "module-typescript" : "module" }
    },
  })
}

let tsx: Promise<void> | undefined
const useTsx = (): Promise<void> => (tsx ??= import("tsx/esm/api").then((api) => void api.register()))

/** What Node's type stripping refuses but tsx (esbuild) compiles. */
const stripRefused = (e: unknown) => e instanceof Error && ["ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX", "ERR_INVALID_TYPESCRIPT_SYNTAX"].includes((e as { code?: string }).code ?? "")

/** Imports a file as an ES module: with Node's type stripping, or tsx when Node cannot strip it. */
const importModule = async (file: string): Promise<Record<string, unknown>> => {
  forceModules()
  const url = pathToFileURL(file).href
  forced.add(url)
  // Type stripping turned off (--no-experimental-strip-types): tsx for every file.
  if (process.features.typescript === undefined && /\.m?ts$/.test(file)) await useTsx()
  try {
    return (await import(url)) as Record<string, unknown>
  } catch (e) {
    if (!stripRefused(e) || tsx !== undefined) throw e
    await useTsx()
    // A module that failed stays failed under its URL: the query makes a new one.
    return (await import(`${url}?tsx`)) as Record<string, unknown>
  }
}

export interface Loaded {
  readonly file: string
  readonly experiments: ReadonlyArray<Experiment>
  /** Property-based experiments (`Property.make`): each runs many schedules. */
  readonly properties: ReadonlyArray<Property>
}

/** A Chaos Toolkit experiment file, by its extension: translated by `shiftup/ctk`, loaded only for it. */
const isCtkFile = (file: string) => /\.(json|ya?ml)$/i.test(file)

export interface LoadOptions {
  /** `--environment`: a signal for the targets of Chaos Toolkit experiments. */
  readonly environment?: string
}

/** Imports one file and returns its experiments (default export first). */
export const loadFile = async (file: string, warn: (line: string) => void = () => {}, options: LoadOptions = {}): Promise<Loaded> => {
  if (isCtkFile(file)) {
    const ctk = await import("../ctk/index.ts")
    const { experiment, notes } = await ctk.load(file, options.environment === undefined ? {} : { environment: options.environment })
    for (const n of notes) warn(`shiftup: note: ${file}: ${n}\n`)
    return { file, experiments: [experiment], properties: [] }
  }
  let mod: Record<string, unknown>
  const before = sockets()
  try {
    mod = await importModule(file)
  } catch (e) {
    if (isShiftupError(e)) throw e
    throw fail(new LoadFailed({ file, detail: describeUnknown(e) }))
  }
  // An experiment module must not start anything at import: that happens before the plan, so
  // before any refusal (plan before touch). Resources are the place for servers and proxies.
  // A server binds a tick after `listen`: look once the module's own callbacks had their turn.
  await new Promise((r) => setImmediate(r))
  const opened = sockets() - before
  if (opened > 0)
    warn(`shiftup: warning: loading ${file} opened ${opened} socket(s) or server(s) before the run was planned — a refused run would not stop them. Start proxies, sinks and fixtures as \`resources\` of the experiment instead (docs/writing-experiments.md)\n`)
  // Loaded here, not at the top: `recover` loads a config but no experiment (nor the probes and undici they bring).
  const [{ isExperiment }, { isProperty }] = await Promise.all([import("../Experiment.ts"), import("../Property.ts")])
  const exported = [...new Set([mod["default"], ...Object.entries(mod).filter(([k]) => k !== "default").map(([, v]) => v)])]
  const experiments = exported.filter(isExperiment)
  const properties = exported.filter(isProperty)
  if (experiments.length === 0 && properties.length === 0)
    throw fail(new LoadFailed({ file, detail: "it exports no experiment; export one made with Experiment.make, Experiment.gen or Property.make" }))
  return { file, experiments, properties }
}

/** Network handles this process holds now (servers, sockets, UDP). */
const sockets = (): number => process.getActiveResourcesInfo().filter((r) => /^(TCPServerWrap|TCPSocketWrap|TCPWrap|UDPWrap|PipeServerWrap)$/.test(r)).length

/** Loads `--config`, or `shiftup.config.ts` in the working directory when present. */
export const loadConfig = async (explicit: string | undefined): Promise<Config> => {
  const candidates = explicit !== undefined ? [explicit] : ["shiftup.config.ts", "shiftup.config.mts", "shiftup.config.js", "shiftup.config.mjs"].filter((f) => existsSync(f))
  const file = candidates[0]
  if (file === undefined) return {}
  if (!existsSync(file)) throw fail(new InvalidArguments({ detail: `--config ${file}: no such file` }))
  let mod: Record<string, unknown>
  try {
    mod = await importModule(resolve(file))
  } catch (e) {
    if (isShiftupError(e)) throw e
    throw fail(new LoadFailed({ file, detail: describeUnknown(e) }))
  }
  const config = mod["default"]
  if (typeof config !== "object" || config === null) throw fail(new LoadFailed({ file, detail: "it must `export default defineConfig({ … })`" }))
  return { ...defineConfig(config as Config, file), module: resolve(file) }
}
