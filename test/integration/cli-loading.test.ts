/**
 * How the CLI starts and loads files, through the real bin: `--version`, `--help` and argument
 * errors answer without loading the library; experiment and config files load as ES modules
 * whatever their folder's package.json says, with top-level `await`; a file Node cannot strip
 * (an enum) still loads, through tsx; a mistyped key names the key meant. Only `plan` runs here:
 * the targets are loopback addresses nothing listens on, and planning an observation contacts
 * nothing.
 */
import { spawnSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, test } from "vitest"
import { bin, repoRoot, tempDir, testScope, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

/** An experiment observing 127.0.0.1:9 (discard: nothing answers, and `plan` does not ask). */
const experiment = (id: string, extra = "") => `import { Expect, Experiment, Probe } from "shiftup"
import * as Http from "shiftup/http"
${extra}
const port: number = await Promise.resolve(9) // top-level await, with a type to strip
const api = Http.target("api", { url: \`http://127.0.0.1:\${port}\`, environment: "lab" })
export default Experiment.make({
  id: "${id}",
  title: "loaded as an ES module",
  targets: { api },
  hypothesis: [Expect.that(Probe.status(api, "/"), Expect.equals(200))],
  method: [],
})
`

describe.concurrent("loading experiment and config files", () => {
  test("a module that starts a server at import gets a warning naming resources; one that does not, none", async (context) => {
    const scope = testScope(context)
    const dir = scope.tempDir("shiftup-sidefx-")
    // The server closes itself after a moment, so the plan still ends.
    writeFileSync(join(dir, "noisy.ts"), experiment("loading.side-effect", 'import * as net from "node:net"\nconst s = net.createServer().listen(0, "127.0.0.1"); setTimeout(() => s.close(), 300).unref()'))
    writeFileSync(join(dir, "quiet.ts"), experiment("loading.quiet"))
    const noisy = await scope.runCli(["plan", "noisy.ts"], { cwd: dir })
    expect(noisy.code, noisy.output).toBe(0)
    expect(noisy.stderr).toMatch(/loading .*noisy\.ts opened 1 socket\(s\) or server\(s\) before the run was planned.*`resources`/)
    const quiet = await scope.runCli(["plan", "quiet.ts"], { cwd: dir })
    expect(quiet.stderr).not.toContain("opened")
  })

  for (const [name, packageJson] of [
    ["no type", { name: "typeless" }],
    ['"type": "commonjs"', { name: "cjs", type: "commonjs" }],
  ] as const)
    test(`a .ts experiment and config in a folder whose package.json has ${name} load as ES modules, top-level await included`, async (context) => {
      const scope = testScope(context)
      const dir = scope.tempDir("shiftup-folder-")
      writeFileSync(join(dir, "package.json"), JSON.stringify(packageJson))
      writeFileSync(join(dir, "exp.ts"), experiment("loading.cjs-folder"))
      writeFileSync(join(dir, "shiftup.config.ts"), 'import { defineConfig } from "shiftup"\nconst rate: number = await Promise.resolve(7)\nexport default defineConfig({ budget: { maxProbeRate: rate } })\n')
      const r = await scope.runCli(["plan", "exp.ts"], { cwd: dir })
      expect(r.code, r.output).toBe(0)
      expect(r.stdout).toContain("loading.cjs-folder")
      // The config was read: its cap is in the plan.
      expect(r.stdout).toContain("probes per target ≤ 7/s in production, 7/s in staging, 7/s in development, 7/s in lab")
      expect(r.stderr, "no warning about the package type").toBe("")
    })

  test("a file Node's type stripping refuses (an enum) loads through tsx", async (context) => {
    const scope = testScope(context)
    const dir = scope.tempDir("shiftup-enum-")
    writeFileSync(join(dir, "exp.ts"), experiment("loading.enum", "enum Tier { Lab = 1 }\nif (Tier.Lab !== 1) throw new Error('enum')"))
    const r = await scope.runCli(["plan", "exp.ts"], { cwd: dir })
    expect(r.code, r.output).toBe(0)
    expect(r.stdout).toContain("loading.enum")
  })

  test("a mistyped key is invalid input (exit 4) naming the key and the one meant, at any depth", async (context) => {
    const scope = testScope(context)
    const dir = scope.tempDir("shiftup-typo-")
    const typo = experiment("loading.typo").replace("method: [],", "methd: [],").replace("targets: { api },", "targets: { api },\n  budget: { maxProbRate: 5 },")
    writeFileSync(join(dir, "exp.ts"), typo)
    const r = await scope.runCli(["plan", "exp.ts"], { cwd: dir })
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toContain('methd: unknown key "methd"; did you mean "method"?')
    expect(r.stderr).toContain('budget.maxProbRate: unknown key "maxProbRate"; did you mean "maxProbeRate"?')
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})

describe("answers that need no library", () => {
  /** Every module URL the bin resolves for `args`, logged by a resolve hook loaded before it. */
  const resolved = (args: ReadonlyArray<string>): { readonly status: number | null; readonly stdout: string; readonly stderr: string; readonly urls: ReadonlyArray<string> } => {
    const dir = tempDir("shiftup-start-")
    const log = join(dir, "resolved.txt")
    writeFileSync(log, "")
    const hook = `import { appendFileSync } from "node:fs"; import module from "node:module"; module.registerHooks({ resolve: (s, c, next) => { const r = next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + "\\n"); return r } })`
    const r = spawnSync(process.execPath, ["--import", `data:text/javascript,${encodeURIComponent(hook)}`, bin, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } })
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, urls: readFileSync(log, "utf8").split("\n").filter((u) => u !== "") }
  }
  const library = (urls: ReadonlyArray<string>) => urls.filter((u) => /\/node_modules\/(effect|undici|tsx)\/|\/src\/(index|Experiment|Journal|internal\/runner)\.ts$|\/cli\/main\.ts$/.test(u))

  for (const [args, code, output] of [
    [["--version"], 0, /^\d+\.\d+\.\d+\n$/],
    [["--help"], 0, /^shiftup \d+\.\d+\.\d+ — security chaos experiments/],
    [["--bogus"], 4, /^shiftup: Unknown option '--bogus'; see `shiftup --help`\n$/],
    [["rn", "x.ts"], 4, /^shiftup: unknown command "rn" \(did you mean "run"\?\)/],
    [["run"], 4, /^shiftup: `shiftup run` needs experiment files or folders; see `shiftup --help`\n$/],
  ] as const)
    test(`shiftup ${args.join(" ")} answers (exit ${code}) without loading Effect or the library`, () => {
      const r = resolved(args)
      expect(r.status, r.stderr).toBe(code)
      expect(code === 0 ? r.stdout : r.stderr).toMatch(output)
      expect(r.urls.some((u) => u.endsWith("/cli/start.ts")), "the hook saw the bin's modules").toBe(true)
      expect(library(r.urls)).toEqual([])
    })

  test("a command does load the library (the check above can see it)", () => {
    const r = resolved(["plan", "missing.ts"])
    expect(r.status).toBe(4)
    expect(library(r.urls).length).toBeGreaterThan(0)
  })

  test("the version is package.json's", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }
    expect(resolved(["--version"]).stdout).toBe(`${pkg.version}\n`)
  })
})
