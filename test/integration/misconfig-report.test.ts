/**
 * Misconfiguration findings through the report pipeline, on one real container the test creates
 * from the local busybox image (created, not started): hardened but for two known
 * misconfigurations — it runs as root (`container.root-user`, medium under `web`) and holds a
 * random password in its environment (`container.secret-in-env`, high and mandatory under
 * `web`). `shiftup misconfig --report` and `shiftup inventory --check --report` write HTML, JUnit
 * and SARIF: the JUnit suite has one testcase per rule evaluated (2 failures, the rest passes;
 * skipped where a snapshot lacks the facts), the SARIF validates against the OASIS 2.1.0 schema
 * with MITRE help URIs, the HTML shows the misconfiguration section in headless Chromium, and
 * no output — files, stdout, stderr — contains the planted value. Exit codes follow
 * `--fail-on` > profile > default (any finding). Everything carries `shiftup.run=<id>`.
 */
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { Ajv } from "ajv"
import { Effect } from "effect"
import { XMLParser } from "fast-xml-parser"
import { chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { main } from "../../src/cli/main.ts"
import * as Engine from "../../src/docker/engine.ts"
import * as Inventory from "../../src/inventory/index.ts"
import { ensureImageMap } from "../../src/testing/docker/images.ts"
import { docker, removeRun } from "../support/inventory-docker.ts"

const runId = `misr-${randomBytes(4).toString("hex")}`
const engine = Engine.make()
const label = `shiftup.run=${runId}`
const dir = mkdtempSync(join(tmpdir(), "shiftup-misconfig-report-"))
// Random: finding it in an output can only mean it leaked.
const password = `pw-${randomBytes(24).toString("base64url")}` // base64url: always "random-looking" (hex can fall under the 3.5 bits/char the inventory judges by)
const name = `${runId}-app`
const asset = `docker:local/${name}`
const containerRules = Inventory.Misconfig.containerRules.length
let snapshotFile = ""
let withoutEnvFile = ""
const outputs: Array<string> = []

const cli = async (args: ReadonlyArray<string>) => {
  let out = ""
  let err = ""
  const code = await main(args, { io: { out: (t) => void (out += t), err: (t) => void (err += t), tty: false } })
  outputs.push(out, err)
  return { code, out, err }
}

beforeAll(async () => {
  const busybox = (await Effect.runPromise(ensureImageMap(engine, { only: ["busybox"] }))).busybox ?? ""
  // Hardened (misconfig-docker.test.ts's flags) but no --user, and a password in the environment.
  docker("create", "--name", name, "--label", label, "--network", "none", "--cap-drop", "ALL", "--read-only", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "64", "--health-cmd", "true", "--health-interval", "1h", "--security-opt", "no-new-privileges", "-e", `DB_PASSWORD=${password}`, busybox, "sleep", "3600")
  const snap = await Effect.runPromise(Inventory.snapshot({ docker: { client: engine, labels: [label] } }))
  snapshotFile = join(dir, "snapshot.json")
  writeFileSync(snapshotFile, JSON.stringify(snap))
  // The same container seen by an older snapshot, from before the inventory read environments.
  const { env: _env, ...older } = snap.assets[0] as Inventory.Asset & { env?: unknown }
  withoutEnvFile = join(dir, "snapshot-no-env.json")
  writeFileSync(withoutEnvFile, JSON.stringify({ ...snap, assets: [older] }))
}, 60_000)

afterAll(() => {
  removeRun(runId)
  rmSync(dir, { recursive: true, force: true })
  engine.close()
})

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", parseTagValue: false, isArray: (n) => ["testsuite", "testcase", "property"].includes(n) })
interface Case {
  readonly classname: string
  readonly name: string
  readonly failure?: { readonly message: string; readonly type: string; readonly "#text"?: string }
  readonly skipped?: { readonly message: string }
}
const suiteOf = (file: string) => {
  const doc = parser.parse(readFileSync(file, "utf8")) as { testsuites: { tests: string; failures: string; skipped: string; testsuite: ReadonlyArray<{ name: string; tests: string; failures: string; skipped: string; testcase: ReadonlyArray<Case> }> } }
  const suite = doc.testsuites.testsuite.find((s) => s.name === "misconfiguration")
  if (suite === undefined) throw new Error(`no misconfiguration suite in ${file}`)
  const failed = suite.testcase.filter((c) => c.failure !== undefined)
  const skipped = suite.testcase.filter((c) => c.skipped !== undefined)
  return { doc, suite, failed, skipped, passed: suite.testcase.length - failed.length - skipped.length }
}

describe("misconfiguration findings in the reports", () => {
  it("shiftup misconfig --report <dir>/: JUnit has a testcase per rule — 2 failures, the rest passed; SARIF valid with MITRE help URIs", async () => {
    const out = join(dir, "misconfig/")
    const r = await cli(["misconfig", "--snapshot", snapshotFile, "--profile", "web", "--report", out])
    expect(r.code, r.err).toBe(1)
    expect(r.err).toContain("reports: ")
    expect(readdirSync(out).sort()).toEqual(["shiftup-junit.xml", "shiftup-report.html", "shiftup.sarif"])

    const { doc, suite, failed, skipped, passed } = suiteOf(join(out, "shiftup-junit.xml"))
    expect(suite.testcase).toHaveLength(containerRules)
    expect([failed.length, skipped.length, passed]).toEqual([2, 0, containerRules - 2])
    expect([suite.tests, suite.failures, suite.skipped, doc.testsuites.failures]).toEqual([String(containerRules), "2", "0", "2"])
    expect(failed.map((c) => c.name).sort()).toEqual([`container.root-user on ${asset}`, `container.secret-in-env on ${asset}`])
    const secret = failed.find((c) => c.classname === "misconfig.container.secret-in-env")
    expect(secret?.failure).toMatchObject({ type: "misconfig.high", message: "[high, blocking] Secret in an environment variable: DB_PASSWORD (secret-like name, random-looking value; value not shown)" })
    expect(secret?.failure?.["#text"]).toContain("references: CWE-526 (https://cwe.mitre.org/data/definitions/526.html)")
    expect(secret?.failure?.["#text"]).toContain("fix: Pass secrets as files")

    const sarif = JSON.parse(readFileSync(join(out, "shiftup.sarif"), "utf8"))
    const { $schema: _draft, id: _id, ...official } = JSON.parse(readFileSync(join(import.meta.dirname, "../fixtures/report/sarif-2.1.0-rtm.5.oasis.schema.json"), "utf8")) as Record<string, unknown>
    const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false }).compile(official)
    expect(validate(sarif) ? "valid" : JSON.stringify(validate.errors)).toBe("valid")
    const rules = sarif.runs[0].tool.driver.rules as ReadonlyArray<{ id: string; helpUri: string }>
    expect(Object.fromEntries(rules.map((x) => [x.id, x.helpUri]))).toEqual({
      "container.root-user": "https://cwe.mitre.org/data/definitions/250.html",
      "container.secret-in-env": "https://cwe.mitre.org/data/definitions/526.html",
    })
    expect(sarif.runs[0].results).toHaveLength(2)
  })

  it("an older snapshot without the environment fact: the secret rule is skipped (not evaluated), not passed", async () => {
    const file = join(dir, "older.xml")
    const r = await cli(["misconfig", "--snapshot", withoutEnvFile, "--profile", "web", "--report", file])
    // Only root-user (medium) is left: below web's failOn high, not mandatory.
    expect(r.code, r.err).toBe(0)
    const { failed, skipped, passed } = suiteOf(file)
    expect([failed.length, skipped.length, passed]).toEqual([1, 1, containerRules - 2])
    expect(skipped[0]?.name).toBe(`container.secret-in-env on ${asset}`)
  })

  it("--fail-on > profile > default: exit codes", async () => {
    const code = async (file: string, ...args: ReadonlyArray<string>) => (await cli(["misconfig", "--snapshot", file, ...args])).code
    const config = join(dir, "healthcare.config.ts")
    writeFileSync(config, `export default { misconfig: { profile: "healthcare" } }\n`)
    // Both misconfigurations (medium root-user, high mandatory secret-in-env under web).
    expect([await code(snapshotFile), await code(snapshotFile, "--profile", "web"), await code(snapshotFile, "--fail-on", "high"), await code(snapshotFile, "--fail-on", "critical")]).toEqual([1, 1, 1, 0])
    // Root-user alone (medium under web, high under healthcare): default blocks any finding, web does not, the flag decides over both.
    expect([
      await code(withoutEnvFile),
      await code(withoutEnvFile, "--profile", "web"),
      await code(withoutEnvFile, "--profile", "web", "--fail-on", "medium"),
      await code(withoutEnvFile, "--config", config),
      await code(withoutEnvFile, "--config", config, "--fail-on", "critical"),
      await code(withoutEnvFile, "--fail-on", "high"),
    ]).toEqual([1, 0, 1, 1, 0, 0])
    // A report file of no known kind is invalid input, named before anything is evaluated.
    const bad = await cli(["misconfig", "--snapshot", snapshotFile, "--report", join(dir, "out.txt")])
    expect([bad.code, bad.err]).toEqual([4, expect.stringContaining(`--report ${join(dir, "out.txt")}: not a format (html, junit, sarif, md), a directory`)])
  })

  it("shiftup inventory --check --report: the same reports from a live look at the engine", async () => {
    const config = join(dir, "inventory.config.ts")
    writeFileSync(config, `export default { inventory: { docker: { labels: [${JSON.stringify(label)}] } } }\n`)
    const junit = join(dir, "inventory", "junit.xml")
    const html = join(dir, "inventory", "report.html")
    const md = join(dir, "inventory", "summary.md")
    const r = await cli(["inventory", "--check", "--config", config, "--profile", "web", "--report", `${junit},${html}`, "--report", md])
    expect(r.code, r.err).toBe(1)
    expect(r.out).toContain("container.secret-in-env [blocking]")
    const { failed, skipped, passed } = suiteOf(junit)
    expect([failed.length, skipped.length, passed]).toEqual([2, 0, containerRules - 2])
    expect(readFileSync(html, "utf8")).toContain('id="misconfiguration"')
    expect(readFileSync(md, "utf8")).toContain("## shiftup: 2 misconfigurations, 1 blocking")
    expect(readFileSync(md, "utf8")).toContain("  - references: [CWE-526](https://cwe.mitre.org/data/definitions/526.html), [CWE-798](https://cwe.mitre.org/data/definitions/798.html), [ASVS 4.0.3 V6.4.1]")
    expect((await cli(["inventory", "--check", "--config", config, "--profile", "web", "--fail-on", "critical"])).code).toBe(0)
    const noCheck = await cli(["inventory", "--config", config, "--report", join(dir, "x.html")])
    expect([noCheck.code, noCheck.err]).toEqual([4, expect.stringContaining("`shiftup inventory --report` needs --check")])
    // --out is the snapshot: a report's name there is refused before anything is read, not filled with JSON.
    const sarifOut = join(dir, "inventory", "wrong.sarif")
    const wrongOut = await cli(["inventory", "--check", "--config", config, "--format", "sarif", "--out", sarifOut])
    expect([wrongOut.code, wrongOut.err, existsSync(sarifOut)]).toEqual([4, expect.stringContaining(`write reports with --check --report ${sarifOut}`), false])
  })

  it("the HTML in headless Chromium: the section by severity then rule, the profile and why on top, references as links; no request", async () => {
    const file = join(dir, "misconfig", "shiftup-report.html")
    expect(existsSync(file)).toBe(true)
    const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
    const context = await chromium.launchPersistentContext(join(dir, "chromium"), { executablePath: "/usr/bin/chromium", headless: true, args, offline: true })
    try {
      const page = await context.newPage()
      const problems: Array<string> = []
      const requests: Array<string> = []
      page.on("console", (m) => void (m.type() === "error" || m.type() === "warning" ? problems.push(m.text()) : undefined))
      page.on("pageerror", (e) => problems.push(e.message))
      page.on("request", (q) => requests.push(q.url()))
      await page.goto(pathToFileURL(file).href, { waitUntil: "load" })
      expect(problems).toEqual([])
      expect(requests).toEqual([pathToFileURL(file).href])
      const section = page.locator("#misconfiguration")
      expect(await section.isVisible()).toBe(true)
      expect(await section.locator(".profiles").innerText()).toBe("Profile in force: web (--profile web)")
      expect(await section.locator("h3.severity").allInnerTexts()).toEqual(["High (1)", "Medium (1)"])
      expect(await section.locator(".finding.rule").evaluateAll((els) => els.map((el) => el.getAttribute("data-rule")))).toEqual(["container.secret-in-env", "container.root-user"])
      const links = await section.locator('.finding.rule[data-rule="container.root-user"] .refs a').evaluateAll((els) => els.map((a) => `${a.textContent} ${a.getAttribute("href")}`))
      expect(links).toEqual(["CWE-250 https://cwe.mitre.org/data/definitions/250.html", "CIS Docker 4.1 https://www.cisecurity.org/benchmark/docker"])
      expect(await section.innerText()).toContain("DB_PASSWORD (secret-like name, random-looking value; value not shown)")
      expect(await page.locator("body").innerText()).not.toContain(password)
    } finally {
      await context.close()
    }
  })

  it("the planted password is in no output: report files, stdout, stderr, the snapshot", () => {
    const files = (d: string): ReadonlyArray<string> => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === "chromium" ? [] : files(join(d, e.name))) : [join(d, e.name)]))
    const all = files(dir)
    expect(all.filter((f) => /\.(html|xml|sarif)$/.test(f)).length).toBeGreaterThanOrEqual(5)
    const texts = [...all.map((f) => readFileSync(f, "utf8")), ...outputs]
    expect(texts.join("\n")).toContain("DB_PASSWORD")
    for (const t of texts) expect(t).not.toContain(password)
  })
})
