/**
 * Chaos Toolkit experiments and shiftup's safety rules: unsupported constructs are named and
 * nothing is contacted (exit 4); a target with no environment signal is production, so an
 * action is refused before anything is sent (exit 2); rollbacks are ledgered before the first
 * action, so a signal rolls back and a SIGKILL is undone by `shiftup recover` in another
 * process, without a secret in the ledger; `shiftup import ctk` writes TypeScript that
 * type-checks and runs the same way.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, test } from "vitest"
import { runCtk, startCtkServer } from "../support/ctk-server.ts"
import { bin, fixture, ledgerFiles, pendingIntents, readJournal, repoRoot, testScope, useProcessCleanup, type Scope } from "../support/proc-cli.ts"

useProcessCleanup()

describe("Chaos Toolkit experiments: what is refused", () => {
  test("the python provider is unsupported: exit 4 naming each module and function, nothing sent", async (context) => {
    const { expect } = context
    const { r, server } = await runCtk(context, "15-python-provider.json")
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toContain("method[1].provider: unsupported: the python provider (module chaosaws.ec2.actions, function stop_instance)")
    expect(r.stderr).toContain("rollbacks[0].provider: unsupported: the python provider (module chaosaws.ec2.actions, function start_instances)")
    expect(server.seen()).toEqual([])
  })

  test("vault secrets are unsupported, by name: exit 4, nothing sent", async (context) => {
    const { expect } = context
    const { r, server } = await runCtk(context, "16-vault-secrets.json")
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toContain('secrets.db.password: unsupported: the "vault" secret provider')
    expect(server.seen()).toEqual([])
  })

  test("controls, dynamic configuration, a hypothesis strategy, background activities and unknown providers: all named at once, nothing sent", async (context) => {
    const { expect } = context
    const { r, server } = await runCtk(context, "17-unsupported-constructs.json")
    expect(r.code, r.output).toBe(4)
    for (const path of ["controls:", "configuration.token:", "steady-state-hypothesis.strategy:", "method[0].background:", 'method[1].provider.type: unsupported: the "ssh" provider'])
      expect(r.stderr).toContain(`  - ${path}`)
    expect(server.seen()).toEqual([])
  })

  test("no environment signal is production: the action (and the unopted observation) is refused, exit 2, nothing sent", async (context) => {
    const { expect } = context
    const { r, server, journal } = await runCtk(context, "18-unknown-environment.json")
    expect(r.code, r.output).toBe(2)
    expect(journal.refusal?.rule).toBe("floor.unknown-is-production")
    expect(server.seen()).toEqual([])
  })

  test("--environment is one more signal: production wins over the file's staging tag, so the action is refused", async (context) => {
    const { expect } = context
    const { r, server } = await runCtk(context, "09-rollback-http.json", ["--environment", "production"])
    expect(r.code, r.output).toBe(2)
    expect(server.seen()).toEqual([])
  })
})

/** Every module URL the bin resolves for `shiftup plan <file>`, logged by a resolve hook loaded before it. */
const resolved = async (scope: Scope, file: string, dir: string): Promise<ReadonlyArray<string>> => {
  const log = join(dir, `resolved-${Math.random().toString(36).slice(2)}.txt`)
  writeFileSync(log, "")
  const hook = `import { appendFileSync } from "node:fs"; import module from "node:module"; module.registerHooks({ resolve: (s, c, next) => { const r = next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + "\\n"); return r } })`
  const p = scope.spawnNode("--import", [`data:text/javascript,${encodeURIComponent(hook)}`, bin, "plan", file], { cwd: dir, env: { NODE_OPTIONS: "", CTK_BASE_URL: "http://127.0.0.1:9" } })
  await p.exited
  return readFileSync(log, "utf8").split("\n").filter((u) => u !== "")
}
const ctk = (urls: ReadonlyArray<string>) => urls.some((u) => u.includes("/src/ctk/"))
const yaml = (urls: ReadonlyArray<string>) => urls.some((u) => u.includes("/node_modules/yaml/"))

// Spawned runs with their environment given explicitly: these may run side by side.
describe.concurrent("Chaos Toolkit rollbacks outlive the runner; import; loading", () => {
  test("SIGKILL while the fault is on: `shiftup recover` in another process replays the rollback, with the secret from the environment, not the ledger", async (context) => {
    const { expect } = context
    const scope = testScope(context)
    const server = await startCtkServer()
    context.onTestFinished(() => server.close())
    const state = scope.tempDir("shiftup-ctk-state-")
    const env = { CTK_BASE_URL: server.url, CTK_TOKEN: "tok-kill-4711" }
    const p = scope.spawnCli(["run", fixture("ctk", "22-long-pause.json"), "--state-dir", state], { env })
    await Promise.race([server.arrived("/fault/on"), p.exited.then(() => Promise.reject(new Error(`the run ended early:\n${p.output()}`)))])
    p.child.kill("SIGKILL")
    await p.exited
    expect(server.faulty()).toBe(true)
    expect(server.to("/fault/off")).toEqual([])
    const ledger = ledgerFiles(state).map((f) => readFileSync(f, "utf8")).join("\n")
    expect(ledger).toContain("ctk.rollback")
    expect(ledger).not.toContain("tok-kill-4711")
    const r = await scope.runCli(["recover", "--state-dir", state], { env })
    expect(r.code, r.output).toBe(0)
    expect(r.stdout).toMatch(/restored/)
    expect(server.faulty()).toBe(false)
    expect(server.to("/fault/off")[0]?.headers["authorization"]).toBe("Bearer tok-kill-4711")
    expect(pendingIntents(state)).toEqual([])
  })

  test("SIGTERM while the fault is on: the run rolls back itself and exits 3", async (context) => {
    const { expect } = context
    const scope = testScope(context)
    const server = await startCtkServer()
    context.onTestFinished(() => server.close())
    const state = scope.tempDir("shiftup-ctk-state-")
    const journal = join(state, "run.json")
    const p = scope.spawnCli(["run", fixture("ctk", "22-long-pause.json"), "--state-dir", state, "--journal", journal], { env: { CTK_BASE_URL: server.url, CTK_TOKEN: "t" } })
    await server.arrived("/fault/on")
    p.child.kill("SIGTERM")
    const exited = await p.exited
    expect(exited.code, p.output()).toBe(3)
    expect(server.faulty()).toBe(false)
    expect(readJournal(journal).status).toBe("aborted")
    expect(pendingIntents(state)).toEqual([])
  })


  test("writes a TypeScript experiment that type-checks and runs as the file does; inline secrets move to the environment", async (context) => {
    const { expect } = context
    const scope = testScope(context)
    // Inside the checkout, so `shiftup/ctk` resolves through tsconfig's paths as it would from an install.
    const dir = mkdtempSync(join(repoRoot, "test", ".ctk-import-"))
    context.onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const out = join(dir, "rollback.ts")
    const secrets = join(dir, "secrets.ts")
    const made = (await runCtk(context, "09-rollback-http.json", ["--out", out], {}, ["import", "ctk"])).r
    expect(made.code, made.output).toBe(0)
    const madeSecrets = (await runCtk(context, "12-secrets.json", ["--out", secrets], {}, ["import", "ctk"])).r
    expect(madeSecrets.code, madeSecrets.output).toBe(0)
    const secretsTs = readFileSync(secrets, "utf8")
    expect(secretsTs).not.toContain("inline-s3cret-pw")
    expect(secretsTs).toContain("CTK_SECRET_API_ADMIN_PASSWORD")
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ extends: "../../tsconfig.json", include: ["*.ts"], compilerOptions: { noEmit: true } }))
    execFileSync(join(repoRoot, "node_modules", ".bin", "tsc"), ["-p", join(dir, "tsconfig.json")], { stdio: "pipe" })

    const server = await startCtkServer()
    context.onTestFinished(() => server.close())
    const r = await scope.runCli(["run", out, "--state-dir", scope.tempDir("shiftup-ctk-state-")], { env: { CTK_BASE_URL: server.url } })
    expect(r.code, r.output).toBe(0)
    expect(server.seen().map((x) => `${x.method} ${x.path}`)).toEqual(["GET /health", "POST /fault/on", "GET /health", "POST /fault/off", "GET /health"])
  })

  test("a file with unsupported constructs is not imported: exit 4 naming them", async (context) => {
    const { expect } = context
    const r = await runCtk(context, "15-python-provider.json", [], {}, ["import", "ctk"])
    expect(r.r.code, r.r.output).toBe(4)
    expect(r.r.stderr).toContain("chaosaws.ec2.actions")
  })

  test("a TypeScript experiment loads nothing of shiftup/ctk or yaml; a YAML file loads both", async (context) => {
    const { expect } = context
    const scope = testScope(context)
    const dir = scope.tempDir("shiftup-ctk-load-")
    writeFileSync(
      join(dir, "exp.ts"),
      `import { Experiment } from "shiftup"\nimport * as Http from "shiftup/http"\nconst api = Http.target("api", { url: "http://127.0.0.1:9", environment: "lab" })\nexport default Experiment.make({ id: "ts", title: "ts", targets: { api }, method: [] })\n`,
    )
    const [ts = [], yml = []] = await Promise.all([join(dir, "exp.ts"), fixture("ctk", "14-rollback.yaml")].map((f) => resolved(scope, f, dir)))
    expect(ts.some((u) => u.endsWith("/src/cli/main.ts")), "the hook saw the CLI").toBe(true)
    expect([ctk(ts), yaml(ts)]).toEqual([false, false])
    expect([ctk(yml), yaml(yml)]).toEqual([true, true])
  })
})
