/**
 * The package as a user receives it (test/support/packed.ts: `npm pack`, whose prepack builds
 * dist/, and the tarball installed into a fresh `"type": "module"` project): an experiment
 * type-checked there under `moduleResolution: NodeNext` with `skipLibCheck: false`, run by the
 * installed `shiftup` against the embedded demo lab, every subpath export imported, and the two
 * ways a user can hold it wrong (`require`, a Node too old) answered in one line.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { startLabOnFreePorts } from "../support/proc-lab.ts"
import { finish, repoRoot, spawnNode, useProcessCleanup } from "../support/proc-cli.ts"
import { checkoutVersion, packAndInstall, runSync, type Installed } from "../support/packed.ts"

useProcessCleanup()

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string; engines: { node: string } }
const work = mkdtempSync(join(tmpdir(), "shiftup-consumer-"))
const subpaths = ["shiftup", "shiftup/advanced", "shiftup/http", "shiftup/net", "shiftup/docker", "shiftup/data", "shiftup/ctk", "shiftup/inventory", "shiftup/watch", "shiftup/report", "shiftup/testing", "shiftup/vitest"]
let installed: Installed | undefined
const got = (): Installed => {
  if (installed === undefined) throw new Error("the package is installed in beforeAll")
  return installed
}

const run = (command: string, args: ReadonlyArray<string>): SpawnSyncReturns<string> => runSync(command, args, got().project, 120_000)
const ok = (r: SpawnSyncReturns<string>, what: string) => expect(r.status, `${what}:\n${r.stdout}\n${r.stderr}`).toBe(0)

beforeAll(() => {
  installed = packAndInstall(work, [`@types/node@${checkoutVersion("@types/node")}`])
  // vitest is an optional peer: a vitest user has it. Linked from the checkout, not installed
  // again (it is large), so that shiftup/vitest can be imported and type-checked.
  symlinkSync(realpathSync(join(repoRoot, "node_modules", "vitest")), join(installed.project, "node_modules", "vitest"), "dir")
}, 300_000)
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe("the packed package, installed into a fresh project", () => {
  test("ships dist/ built, and every map's sources resolve inside the package", () => {
    expect(existsSync(join(got().pkg, "dist", "index.js"))).toBe(true)
    expect(existsSync(join(got().pkg, "dist", "bundle", "cli", "start.js"))).toBe(true)
    const maps = (readdirSync(join(got().pkg, "dist"), { recursive: true, encoding: "utf8" }) as ReadonlyArray<string>).filter((f) => f.endsWith(".map"))
    expect(maps.length).toBeGreaterThan(50)
    const missing = maps.flatMap((m) => {
      const map = JSON.parse(readFileSync(join(got().pkg, "dist", m), "utf8")) as { readonly sources: ReadonlyArray<string> }
      return map.sources.map((s) => resolve(join(got().pkg, "dist", dirname(m)), s)).filter((s) => !existsSync(s))
    })
    expect(missing).toEqual([])
  })

  test("`shiftup --version` and `npx shiftup --version` print the package's version", () => {
    const direct = run(process.execPath, [got().bin, "--version"])
    ok(direct, "shiftup --version")
    expect(direct.stdout).toBe(`${pkg.version}\n`)
    const npx = run("npx", ["--no-install", "shiftup", "--version"])
    ok(npx, "npx shiftup --version")
    expect(npx.stdout.trim()).toBe(pkg.version)
  })

  test("an experiment type-checks under NodeNext with skipLibCheck: false, every subpath's declarations included", () => {
    const tsconfig = { compilerOptions: { target: "ES2023", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: false, noEmit: true, types: ["node"] }, include: ["*.ts"] }
    writeFileSync(join(got().project, "tsconfig.json"), JSON.stringify(tsconfig, null, 2))
    writeFileSync(join(got().project, "first.ts"), readFileSync(join(repoRoot, "examples", "01-first-experiment.ts"), "utf8"))
    writeFileSync(join(got().project, "every-subpath.ts"), `${subpaths.map((s, i) => `import * as M${i} from "${s}"`).join("\n")}\nexport const all = [${subpaths.map((_, i) => `M${i}`).join(", ")}]\n`)
    ok(run(join(repoRoot, "node_modules", ".bin", "tsc"), ["-p", join(got().project, "tsconfig.json")]), "tsc --noEmit")
  })

  test("the installed CLI runs the experiment against the demo lab", async () => {
    const lab = await startLabOnFreePorts()
    try {
      writeFileSync(join(got().project, "first.ts"), readFileSync(join(repoRoot, "examples", "01-first-experiment.ts"), "utf8"))
      // Not spawnSync: the lab answers from this process.
      const r = await finish(spawnNode(got().bin, ["run", "first.ts", "--journal", "first.json"], { cwd: got().project, env: { SHIFTUP_LAB_PORT: String(lab.base) } }), 60_000)
      expect(r.code, r.output).toBe(0)
      const journal = JSON.parse(readFileSync(join(got().project, "first.json"), "utf8")) as { status: string; steps: ReadonlyArray<{ kind: string; outcome: string }> }
      expect(journal.status).toBe("passed")
      expect(journal.steps.some((s) => s.kind === "fault" && s.outcome === "ok"), "the fault was injected (and rolled back)").toBe(true)
      expect(lab.hits.gateway).toBeGreaterThan(0)
    } finally {
      await lab.close()
    }
  }, 90_000)

  test("a run over plain HTTP loads none of Node's TLS, HTTP/2 or readline modules: the bundle loads built-ins on first use", async () => {
    const lab = await startLabOnFreePorts()
    try {
      writeFileSync(join(got().project, "first.ts"), readFileSync(join(repoRoot, "examples", "01-first-experiment.ts"), "utf8"))
      const list = join(got().project, "loaded.txt")
      // Not an `import` of node:fs here: that alone would load its readline-based parts.
      const wrapper = `process.on("exit", () => process.getBuiltinModule("node:fs").writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join("\\n")))\nawait import(${JSON.stringify(pathToFileURL(got().bin).href)})\n`
      writeFileSync(join(got().project, "listing-modules.mjs"), wrapper)
      const r = await finish(spawnNode(join(got().project, "listing-modules.mjs"), ["run", "first.ts"], { cwd: got().project, env: { SHIFTUP_LAB_PORT: String(lab.base) } }), 60_000)
      expect(r.code, r.output).toBe(0)
      const loaded = readFileSync(list, "utf8").split("\n")
      expect(loaded, "the run did speak HTTP").toContain("NativeModule net")
      expect(loaded.filter((m) => /^NativeModule (tls|http2|internal\/tls\/.*|internal\/http2\/.*|readline.*|internal\/readline\/.*)$/.test(m))).toEqual([])
    } finally {
      await lab.close()
    }
  }, 90_000)

  test("a probe of the experiment can use undici's request API on the run's dispatcher (the CLI's bundle attaches it at first use)", async () => {
    const server = createServer((_, res) => res.end("ok"))
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    try {
      const experiment = `import { Effect } from "effect"
import { Expect, Experiment, Probe } from "shiftup"
import { RunContext } from "shiftup/advanced"
import * as Http from "shiftup/http"
const api = Http.target("api", { url: "http://127.0.0.1:${(server.address() as AddressInfo).port}", environment: "lab" })
const viaRequest = Probe.make({
  id: "status through dispatcher.request",
  target: api,
  observe: Effect.gen(function* () {
    const dispatcher = (yield* Http.HttpClient).dispatcher(yield* RunContext, undefined)
    const answer = yield* Effect.promise(() => dispatcher.request({ origin: api.url, path: "/", method: "GET" }))
    return answer.statusCode
  }),
})
export default Experiment.make({ id: "consumer.request-api", title: "undici's request API", targets: { api }, hypothesis: [Expect.that(viaRequest, Expect.equals(200))], method: [] })
`
      writeFileSync(join(got().project, "request-api.ts"), experiment)
      const r = await finish(spawnNode(got().bin, ["run", "request-api.ts"], { cwd: got().project }), 60_000)
      expect(r.code, r.output).toBe(0)
    } finally {
      server.close()
    }
  }, 90_000)

  test("`npx shiftup init` scaffolds a setup whose vitest test passes against the demo lab, with no edits", async () => {
    const project = mkdtempSync(join(work, "init-"))
    // An existing project: its own package.json, the installed package and vitest beside it.
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "team-api", private: true, type: "module", scripts: { test: "echo own tests" } }, null, 2))
    symlinkSync(join(got().project, "node_modules"), join(project, "node_modules"), "dir")
    const init = runSync("npx", ["--no-install", "shiftup", "init"], project, 120_000)
    ok(init, "shiftup init")
    expect(init.stdout).toContain("wrote shiftup.config.ts")
    expect(init.stdout).toContain("next: npm run test:shiftup")
    const scripts = (JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts
    expect(scripts).toMatchObject({ test: "echo own tests", "test:shiftup": "vitest run test/shiftup.test.ts", "shiftup:plan": "shiftup plan experiments" })
    // Not spawnSync: vitest runs as a child while this process waits.
    const r = await finish(spawnNode(join(project, "node_modules", "vitest", "vitest.mjs"), ["run", "test/shiftup.test.ts"], { cwd: project }), 120_000)
    expect(r.code, r.output).toBe(0)
    expect(r.output).toMatch(/1 passed/)
    // A second init refuses to overwrite what the first wrote.
    const again = runSync("npx", ["--no-install", "shiftup", "init"], project, 60_000)
    expect(again.status).toBe(4)
    expect(again.stderr).toContain("would overwrite shiftup.config.ts")
    // The plan of the scaffold's experiment names its targets (no lab needed to plan).
    const plan = runSync("npx", ["--no-install", "shiftup", "plan", "experiments"], project, 60_000)
    ok(plan, "shiftup plan experiments")
    expect(plan.stdout).toContain("gateway.fails-closed.auth-down")
  }, 240_000)

  test("every subpath export imports", () => {
    const r = run(process.execPath, ["--input-type=module", "-e", `for (const s of ${JSON.stringify(subpaths)}) console.log(s, Object.keys(await import(s)).length)`])
    ok(r, "import every subpath")
    for (const s of subpaths) expect(r.stdout).toMatch(new RegExp(`^${s} [1-9]`, "m"))
  })

  test("require() says the package is ES modules only", () => {
    const r = run(process.execPath, ["-e", 'require("shiftup")'])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain("shiftup is an ES module package and cannot be loaded with require()")
  })

  // Debian 12's own `node` is 20; where it is missing or new enough there is nothing to check.
  const old = spawnSync("/usr/bin/node", ["-p", "process.versions.node"], { encoding: "utf8" })
  const tooOld = old.status === 0 && Number(old.stdout.split(".")[0]) < 22
  test.skipIf(!tooOld)("a Node too old gets one line saying what is needed, from the CLI and from the library", () => {
    const cli = run("/usr/bin/node", [got().bin, "--version"])
    expect(cli.status).toBe(4)
    expect(cli.stdout).toBe("")
    expect(cli.stderr).toBe(`shiftup needs Node.js 22.19 or newer (this is v${old.stdout.trim()}); install a current Node.js, e.g. 24 LTS\n`)
    const lib = run("/usr/bin/node", ["--input-type=module", "-e", 'import("shiftup").catch((e) => { console.log(e.message); process.exitCode = 9 })'])
    expect(lib.status).toBe(9)
    expect(lib.stdout).toMatch(/^shiftup needs Node\.js 22\.19 or newer/)
    expect(pkg.engines.node).toBe(">=22.19")
  })
})
