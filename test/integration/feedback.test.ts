/**
 * The feedback loop as a user runs it, through the real bin, with two real HTTP servers on
 * 127.0.0.1 playing production and staging (the same app, its Content-Security-Policy switched
 * per instance). A production finding goes into the store (a run of the production watch job's
 * experiment, recorded through the store API); `shiftup feedback` writes its regression
 * experiment and vitest file, which type-check; the experiment plans, fails against the still
 * broken staging with the same check (the same rule id), passes after the fix; `shiftup findings`
 * shows found / reproduced / fixed. A target without a mapping is a typed error (exit 4).
 * `shiftup promote` adds an observe-only experiment to the watch's jobs file (and `shiftup watch`
 * runs it); an experiment with a fault, or observing a data store (production's rules apply to the
 * plan in every environment), is refused (exit 2) and the file is left as it was.
 */
import { execFile } from "node:child_process"
import * as http from "node:http"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { run, type Journal } from "shiftup"
import { fromJournal, openSqlite } from "shiftup/watch"
import { fixture, repoRoot, runCli, spawnCli, useProcessCleanup, waitFor } from "../support/proc-cli.ts"
import { labForThisFile } from "../support/proc-lab.ts"
import { renderExperiment } from "../../src/watch/feedback/render.ts"
import type { Recipe } from "../../src/watch/feedback/recipe.ts"

useProcessCleanup()

type Run = Journal.Journal
const execFileP = promisify(execFile)

const lab = labForThisFile()

/** The app: `/` answers 200, with a CSP only when `csp` is on (the planted weakness when off). */
const app = async () => {
  let csp = false
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html", ...(csp ? { "content-security-policy": "default-src 'self'; frame-ancestors 'none'" } : {}) })
    res.end("<h1>shop</h1>")
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    fix: () => void (csp = true),
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

let production: Awaited<ReturnType<typeof app>>
let staging: Awaited<ReturnType<typeof app>>
let dir: string
let fp: string
let productionCheck: string

const rule = "headers.csp-missing"
const regression = "regression.headers.csp-missing.api"
const env = () => ({ FEEDBACK_PROD_URL: production.url, SHIFTUP_LAB_PORT: String(lab().base) })
const journals = (state: string): ReadonlyArray<Run> =>
  readdirSync(join(state, "journals"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(state, "journals", f), "utf8")) as Run)

const config = (map: string) => `import { defineConfig } from "shiftup"
export default defineConfig({
  watch: { port: 0, jobs: [{ name: "prod-headers", experiment: ${JSON.stringify(fixture("feedback", "prod-headers.ts"))}, every: "1 hour" }] },
  feedback: { map: [${map}] },
})
`

beforeAll(async () => {
  ;[production, staging] = await Promise.all([app(), app()])
  // Inside the checkout, so `shiftup` resolves through tsconfig's paths for tsc as it would from an
  // install — in scratch/ (git-ignored), not under test/, where a leftover generated test file would
  // be collected by a later full run.
  mkdirSync(join(repoRoot, "scratch"), { recursive: true })
  dir = mkdtempSync(join(repoRoot, "scratch", "feedback-"))
  writeFileSync(join(dir, "shiftup.config.ts"), config(`{ production: ${JSON.stringify(`${production.url}/`)}, to: ${JSON.stringify(staging.url)}, environment: "staging" }`))
  writeFileSync(join(dir, "unmapped.config.ts"), config(`{ production: "https://api.example", to: "http://127.0.0.1:1" }`))
  // The production job's scan, recorded as `shiftup watch` records it.
  process.env["FEEDBACK_PROD_URL"] = production.url
  const experiment = (await import(fixture("feedback", "prod-headers.ts"))).default
  const journal = await run(experiment, { stateDir: join(dir, "prod-state"), journal: false })
  expect(journal.status, journal.summary).toBe("failed")
  productionCheck = journal.findings[0]?.id ?? ""
  const store = openSqlite(join(dir, "state", "watch.sqlite"))
  const [t] = await store.record("prod-headers", fromJournal(journal) ?? [], new Date())
  await store.close()
  expect(t?.to).toBe("new")
  fp = t?.fingerprint ?? ""
})

afterAll(async () => {
  await Promise.all([production?.close(), staging?.close()])
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

describe("shiftup feedback", () => {
  it("writes a regression experiment that type-checks, plans, fails against the broken staging with the same rule, passes after the fix; the store and the journals link it to the finding", async () => {
    const state = join(dir, "state")
    const made = await runCli(["feedback", fp.slice(0, 10), "--vitest", "--state-dir", state], { cwd: dir, env: env() })
    expect(made.code, made.output).toBe(0)
    const file = join(dir, "experiments", `${regression}.ts`)
    const source = readFileSync(file, "utf8")
    // The header links back: fingerprint, rule, production asset, first seen.
    expect(source).toContain(`finding     ${fp}`)
    expect(source).toContain(`rule        ${rule}`)
    expect(source).toContain(`production  api (${production.url})`)
    expect(source).toMatch(/first seen {2}\d{4}-\d{2}-\d{2}T/)
    expect(source).toContain(`Http.target("api", { url: "${staging.url}/", environment: "staging" })`)
    expect(source).not.toContain(production.url.replace("http://", "url: \"http://"))
    expect(source).toMatch(/^import .* from "shiftup(\/\w+)?"$/m)

    // It type-checks as a user's project sees it (and so does the vitest file), as does every other
    // shape the generator writes: each shiftup/http probe it rebuilds, misconfiguration rules on containers.
    const stored = openSqlite(join(state, "watch.sqlite"))
    const f = await stored.get(fp)
    await stored.close()
    if (f === undefined) throw new Error("the finding is in the store")
    const variants: ReadonlyArray<Recipe> = [
      ...(["Headers", "Cors"] as const).map((probe): Recipe => ({ _tag: "Http", rule: "cors.reflected-origin", probe, path: "/x", probeId: "p", checkId: "c", experimentId: "e" })),
      ...(["Leakage", "Exposure", "Redirect", "Tls"] as const).map((probe): Recipe => ({ _tag: "Http", rule: "leak.version-banner", probe, probeId: "p", checkId: "c", experimentId: "e" })),
    ]
    mkdirSync(join(dir, "variants"))
    variants.forEach((recipe, i) =>
      writeFileSync(join(dir, "variants", `http-${i}.ts`), renderExperiment({ finding: f, recipe, id: `v.http-${i}`, mapped: { production: { id: "shop-prod", side: { _tag: "Url", origin: "https://shop.example", url: "https://shop.example/" } }, to: { _tag: "Url", origin: staging.url, url: `${staging.url}/` }, environment: "lab", index: 0 } })),
    )
    for (const [name, to] of [["name", { _tag: "Container", name: "web-staging", labels: {} }], ["labels", { _tag: "Container", labels: { app: "web" } }]] as const)
      writeFileSync(join(dir, "variants", `misconfig-${name}.ts`), renderExperiment({ finding: f, recipe: { _tag: "Misconfig", rule: "container.privileged", checkId: "misconfig: container.privileged" }, id: `v.misconfig-${name}`, mapped: { production: { id: "web", side: { _tag: "Container", name: "web", labels: {} } }, to, environment: "staging", index: 0 } }))
    // (With the checkout's own declaration of dockerode, which shiftup/docker's sources need; an install has it built in.)
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ extends: "../../tsconfig.json", include: ["experiments/*.ts", "variants/*.ts", "../../src/docker/internal/dockerode.d.ts"], compilerOptions: { noEmit: true } }))
    // Three independent checks at once (the machine's cores are shared): tsc, the plan, and
    // that the file is never overwritten without --force (selected as first seen in the last hour).
    const [tsc, plan, again] = await Promise.all([
      execFileP(join(repoRoot, "node_modules", ".bin", "tsc"), ["-p", join(dir, "tsconfig.json")]).then(
        () => "",
        (e: { stdout?: string; message: string }) => e.stdout ?? e.message,
      ),
      runCli(["plan", file, "--state-dir", state], { cwd: dir, env: env() }),
      runCli(["feedback", "--new-since", "1h", "--state-dir", state], { cwd: dir, env: env() }),
    ])
    expect(tsc).toBe("")
    expect(readFileSync(join(dir, "experiments", `${regression}.test.ts`), "utf8")).toContain(`import experiment from "./${regression}.ts"`)
    expect(plan.code, plan.output).toBe(0)
    expect(again.code, again.output).toBe(4)
    expect(again.stderr).toContain("--force")
    expect(readFileSync(file, "utf8")).toBe(source)

    // Staging still has the weakness: exit 1, the same check (the same rule id), the fingerprint in the journal.
    const broken = await runCli(["run", file, "--state-dir", state], { cwd: dir, env: env() })
    expect(broken.code, broken.output).toBe(1)
    const failed = journals(state).find((j) => j.status === "failed")
    expect(failed?.findings.map((f) => f.id)).toEqual([productionCheck])
    expect(productionCheck).toBe(`api headers /: ${rule}`)
    expect(failed?.experiment.tags).toContain(`shiftup.finding:${fp}`)
    expect(failed?.plan?.targets.map((t) => t.effective)).toEqual(["staging"])

    staging.fix()
    const fixed = await runCli(["run", file, "--state-dir", state], { cwd: dir, env: env() })
    expect(fixed.code, fixed.output).toBe(0)

    const [listed, asJson, asHtml] = await Promise.all(["text", "json", "html"].map((format) => runCli(["findings", "--format", format, "--state-dir", state], { cwd: dir, env: env() })))
    if (listed === undefined || asJson === undefined || asHtml === undefined) throw new Error("three renderings")
    expect(asHtml.stdout).toContain(`<dt>feedback</dt><dd>found in production on `)
    expect(asHtml.stdout).toContain(`reproduced in staging on ${failed?.startedAt} (run ${failed?.runId})`)
    expect(listed.code, listed.output).toBe(0)
    expect(listed.stdout).toContain(`found in production on `)
    expect(listed.stdout).toContain(`regression experiments/${regression}.ts`)
    expect(listed.stdout).toContain(`reproduced in staging on ${failed?.startedAt} (run ${failed?.runId})`)
    expect(listed.stdout).toMatch(/fixed on \S+ \(run \S+\)/)
    const json = JSON.parse(asJson.stdout) as { findings: ReadonlyArray<{ fingerprint: string; feedback?: { experiments: ReadonlyArray<{ experiment: string }> } }> }
    expect(json.findings.find((f) => f.fingerprint === fp)?.feedback?.experiments.map((e) => e.experiment)).toEqual([`experiments/${regression}.ts`])
  })

  it("a finding whose production target has no mapping is a typed error naming the target and the config key (exit 4), and writes nothing", async () => {
    const out = join(dir, "unmapped-out")
    const r = await runCli(["feedback", fp, "--config", "unmapped.config.ts", "--out", out, "--state-dir", join(dir, "state")], { cwd: dir, env: env() })
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toContain(`its production target api (${production.url}) is not mapped`)
    expect(r.stderr).toContain("`feedback.map`")
    expect(existsSync(out)).toBe(false)
  })
})

describe("shiftup promote", () => {
  it("adds an observe-only experiment to the watch's jobs file, which `shiftup watch` runs; refuses one with a fault (exit 2) and leaves the file as it was", async () => {
    const state = join(dir, "promote-state")
    const jobsFile = join(dir, "shiftup.watch-jobs.json")
    const observe = join(dir, "experiments", `${regression}.ts`)
    if (!existsSync(observe)) await runCli(["feedback", fp, "--state-dir", join(dir, "state")], { cwd: dir, env: env() })
    const ok = await runCli(["promote", observe, "--every", "5m", "--name", "staging-csp"], { cwd: dir, env: env() })
    expect(ok.code, ok.output).toBe(0)
    const before = readFileSync(jobsFile, "utf8")
    expect(JSON.parse(before)).toEqual({ schema: "shiftup.watch-jobs/v1", jobs: [{ name: "staging-csp", experiment: `experiments/${regression}.ts`, every: 300_000 }] })

    // Observe-only steps on a data store (declared one: no endpoint, nothing to contact): production's
    // rules refuse it in the plan, whatever its environment.
    writeFileSync(
      join(dir, "cache-watch.ts"),
      `import { Expect, Experiment, Probe, Target } from "shiftup"
const cache = Target.make("orders-db", { environment: "staging", dataStore: "postgres" })
export default Experiment.make({ id: "cache.answers", title: "cache answers", targets: { cache }, hypothesis: [Expect.that(Probe.make({ id: "ping", target: cache, observe: () => "PONG" }), Expect.equals("PONG"))], method: [] })
`,
    )
    const [refused, store] = await Promise.all([
      runCli(["promote", fixture("watch", "with-fault.ts"), "--every", "5m"], { cwd: dir, env: env() }),
      runCli(["promote", "cache-watch.ts", "--cron", "*/5 * * * *"], { cwd: dir, env: env() }),
    ])
    expect(refused.code, refused.output).toBe(2)
    expect(refused.stderr).toContain(`disrupt step "auth-down"`)
    expect(store.code, store.output).toBe(2)
    expect(store.stderr).toContain('experiment "cache.answers" is refused by its plan')
    expect(readFileSync(jobsFile, "utf8")).toBe(before)

    // The watcher reads the jobs file with the config's jobs.
    const watch = spawnCli(["watch", "--log", "json", "--state-dir", state], { cwd: dir, env: env() })
    await waitFor("the watcher to start", () => watch.stdout().includes('"watch.started"'), { proc: watch, timeoutMs: 30_000 })
    const started = watch.stdout().split("\n").find((l) => l.includes('"watch.started"')) ?? ""
    expect((JSON.parse(started) as { jobs: ReadonlyArray<string> }).jobs).toEqual(["prod-headers", "staging-csp"])
    // Its production job finds the weakness the store API recorded above: the same fingerprint.
    await waitFor("the production job's finding", () => watch.stdout().includes(`"fingerprint":"${fp}"`), { proc: watch, timeoutMs: 30_000 })
    await waitFor("the promoted job's run", () => /"event":"job\.(finished|incomplete)","job":"staging-csp"/.test(watch.stdout()), { proc: watch, timeoutMs: 30_000 })
    watch.child.kill("SIGTERM")
    expect((await watch.exited).code, watch.output()).toBe(0)
  })
})
