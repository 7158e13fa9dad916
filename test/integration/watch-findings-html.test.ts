/**
 * `shiftup findings --format html --out <file>` through the real bin, opened in headless
 * Chromium: the open set grouped by severity, with state, first/last seen, occurrences, an
 * accepted risk and the profiles in force — and a finding whose evidence holds markup renders it
 * as text: no element of it in the page, no script run, no request made.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { chromium } from "playwright-core"
import { describe, expect, it } from "vitest"
import { openSqlite, type Observation } from "shiftup/watch"
import { runCli, tempDir, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

const executablePath = "/usr/bin/chromium"
const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]

const hostile = `<script>window.pwned = 1</script><img src="http://127.0.0.1:9/x" onerror="window.pwned = 2">`

const seen: ReadonlyArray<Observation> = [
  { rule: "misconfig/container.privileged", asset: "docker:local/api", location: "", severity: "critical", title: "Container runs privileged", detail: "HostConfig.Privileged (profile payments, blocking)" },
  { rule: "osv/GHSA-test", asset: "docker:local/api", location: "npm/lodash /app/package-lock.json", severity: "high", title: "Prototype pollution", detail: hostile },
  { rule: "misconfig/container.no-healthcheck", asset: "docker:local/<b>worker</b>", location: "", severity: "low", title: "No healthcheck", detail: "none" },
]

describe("shiftup findings --format html", () => {
  it("renders the open set by severity in the report's styles, with markup in the evidence shown as text", async () => {
    expect(existsSync(executablePath), `${executablePath} is missing (apt-get install chromium, as .ci/run does)`).toBe(true)
    const dir = tempDir("shiftup-findings-html-")
    const state = join(dir, "state")
    const store = openSqlite(join(state, "watch.sqlite"))
    await store.record("scan", seen, new Date("2026-12-01T10:00:00Z"))
    await store.record("scan", seen, new Date("2026-12-01T11:00:00Z"))
    const low = (await store.open()).find((f) => f.severity === "low")?.fingerprint as string
    await store.accept(low, "decommissioned next sprint", new Date("2027-01-31T00:00:00Z"), new Date("2026-12-01T11:30:00Z"))
    await store.close()
    writeFileSync(join(dir, "shiftup.config.ts"), `import { defineConfig } from "shiftup"\nexport default defineConfig({ misconfig: { profile: "payments", environments: { staging: "web" } } })\n`)
    const file = join(dir, "out", "findings.html")
    const r = await runCli(["findings", "--format", "html", "--out", file, "--state-dir", state], { cwd: dir })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain(`3 open finding(s) written to ${file}`)
    const text = readFileSync(file, "utf8")
    // Escaped in the file itself.
    expect(text).not.toContain("<script>")
    expect(text).toContain("&lt;script&gt;window.pwned = 1&lt;/script&gt;")

    const context = await chromium.launchPersistentContext(tempDir("shiftup-chromium-"), { executablePath, headless: true, args, offline: true })
    try {
      const page = await context.newPage()
      const requests: Array<string> = []
      const problems: Array<string> = []
      page.on("request", (q) => requests.push(q.url()))
      page.on("console", (m) => (m.type() === "error" ? problems.push(m.text()) : undefined))
      page.on("pageerror", (e) => problems.push(e.message))
      await page.goto(pathToFileURL(file).href, { waitUntil: "load" })
      // A string, evaluated in the page (this file is type-checked without the DOM's types).
      const dom = (await page.evaluate(`({
        pwned: window.pwned ?? null,
        scripts: document.querySelectorAll("script").length,
        images: document.querySelectorAll("img").length,
        bold: [...document.querySelectorAll("b")].map((b) => b.textContent),
        groups: [...document.querySelectorAll("section h2")].map((h) => h.textContent),
        evidence: [...document.querySelectorAll(".evidence")].map((d) => d.textContent),
        states: [...document.querySelectorAll(".finding .badge")].map((b) => b.textContent),
        meta: document.querySelector(".meta")?.textContent ?? "",
        body: document.body.innerText,
      })`)) as { pwned: number | null; scripts: number; images: number; bold: Array<string | null>; groups: Array<string>; evidence: Array<string>; states: Array<string>; meta: string; body: string }
      expect(dom.pwned).toBeNull()
      expect(dom.scripts).toBe(0)
      expect(dom.images).toBe(0)
      // The only <b> elements are the page's own (the tally), none from the asset name.
      expect(dom.bold.every((b) => /^\d+$/.test(b ?? ""))).toBe(true)
      expect(dom.evidence).toContain(hostile)
      expect(dom.groups).toEqual(["Critical (1)", "High (1)", "Low (1)"])
      expect(dom.states).toEqual(["open", "open", "accepted-risk"])
      expect(dom.meta).toContain("3 open finding(s)")
      expect(dom.meta).toContain("profiles: payments by default, web in staging")
      expect(dom.body).toContain("docker:local/<b>worker</b>")
      expect(dom.body).toContain("2026-12-01 10:00:00 UTC")
      expect(dom.body).toContain("2026-12-01 11:00:00 UTC")
      expect(dom.body).toMatch(/occurrences\s+2/)
      expect(dom.body).toContain("decommissioned next sprint")
      expect(requests.filter((u) => !u.startsWith("file:"))).toEqual([])
      expect(problems).toEqual([])
      await page.screenshot({ path: join(dir, "findings.png"), fullPage: true })
    } finally {
      // Before the scope removes the profile directory.
      await context.close()
    }
  }, 60_000)
})
