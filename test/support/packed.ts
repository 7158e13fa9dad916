/**
 * The package as a user receives it: `npm pack` of this checkout (prepack builds dist/), the
 * tarball installed into a fresh project (`"type": "module"`). Shared by the consumer test and
 * `npm run bench -- cli`, which measures the installed layout. Dependencies come from npm's
 * cache where it has them (`--prefer-offline`; the registry is reachable here and in CI); their
 * install scripts are not run: nothing shiftup needs builds anything at install time.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { userInfo } from "node:os"
import { delimiter, dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = fileURLToPath(new URL("../../", import.meta.url))

/** A user's shell: Node 24 first on PATH, npm's real cache (test files get a HOME of their own), nothing of the `npm test` or vitest around us. */
export const userEnv = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env["PATH"] ?? ""}` }
  for (const k of Object.keys(e)) if ((k.startsWith("npm_") && k !== "npm_config_cache" && k !== "npm_config_registry") || k.startsWith("VITEST") || k === "NODE_OPTIONS") delete e[k]
  e["npm_config_cache"] ??= join(userInfo().homedir, ".npm")
  return e
}

/** Runs a command to completion (synchronously: nothing of this process needs to answer it). */
export const runSync = (command: string, args: ReadonlyArray<string>, cwd: string, timeoutMs = 240_000): SpawnSyncReturns<string> => {
  const r = spawnSync(command, args, { cwd, env: userEnv(), encoding: "utf8", timeout: timeoutMs })
  if (r.error !== undefined) throw r.error
  return r
}

const check = (r: SpawnSyncReturns<string>, what: string) => {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}:\n${r.stdout}\n${r.stderr}`)
}

export interface Installed {
  /** The project's folder: its package.json says `"type": "module"`. */
  readonly project: string
  /** `node_modules/shiftup` of the project. */
  readonly pkg: string
  /** `node_modules/.bin/shiftup`, as npm linked it. */
  readonly bin: string
}

/** Packs this checkout into `work` and installs the tarball (and `extra` packages) into `work/project`. */
export const packAndInstall = (work: string, extra: ReadonlyArray<string> = []): Installed => {
  check(runSync("npm", ["pack", "--pack-destination", work], repoRoot), "npm pack")
  const tarball = join(work, readdirSync(work).find((f) => f.endsWith(".tgz")) ?? "no tarball")
  const project = join(work, "project")
  mkdirSync(project)
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2))
  check(runSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", tarball, ...extra], project), "npm install")
  return { project, pkg: join(project, "node_modules", "shiftup"), bin: join(project, "node_modules", ".bin", "shiftup") }
}

/** The version of a package this checkout has installed, to install the same into a project. */
export const checkoutVersion = (name: string): string => (JSON.parse(readFileSync(join(repoRoot, "node_modules", name, "package.json"), "utf8")) as { version: string }).version
