/**
 * The HTML report opened in headless Chromium (Debian's `chromium`, driven by playwright-core):
 * it renders with no console error and no network request, the timeline and the plots are
 * drawn at a readable size, and a screenshot is taken.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { chromium } from "playwright-core"
import { afterAll, describe, expect, it } from "vitest"
import { html } from "shiftup/report"
import { gameDay } from "../fixtures/report/gameday.ts"
import { synthetic } from "../fixtures/report/synthetic.ts"
import { aborted, byStatus } from "../unit/report/journals.ts"
import { tempDir, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

const executablePath = "/usr/bin/chromium"
const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]

// Every browser is closed by the test that opened it; this catches one a failed assertion left.
const open_: Set<() => Promise<void>> = new Set()
afterAll(async () => {
  for (const close of open_) await close()
})

/** Opens a file in a fresh browser profile; returns what the page logged and requested. */
const open = async (file: string, viewport = { width: 1280, height: 900 }) => {
  const context = await chromium.launchPersistentContext(tempDir("shiftup-chromium-"), { executablePath, headless: true, args, viewport, offline: true })
  const close = async () => {
    open_.delete(close)
    await context.close()
  }
  open_.add(close)
  const page = await context.newPage()
  const problems: Array<string> = []
  const requests: Array<string> = []
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console.${m.type()}: ${m.text()}`)
  })
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`))
  page.on("request", (r) => requests.push(r.url()))
  page.on("requestfailed", (r) => problems.push(`requestfailed: ${r.url()}`))
  await page.goto(pathToFileURL(file).href, { waitUntil: "load" })
  return { page, problems, requests, close }
}

// Not skipped when Chromium is missing: .ci/run installs it, and a silent skip would hide that.
describe("the HTML report in headless Chromium", () => {
  it("needs Debian's chromium (`apt-get install chromium`, as .ci/run does)", () => {
    expect(existsSync(executablePath), `${executablePath} is missing`).toBe(true)
  })

  it("renders with no console errors and no network requests; timeline, plots and findings are drawn; screenshot", async () => {
    const dir = tempDir("shiftup-html-")
    const file = join(dir, "report.html")
    writeFileSync(file, html([byStatus("failed"), aborted, byStatus("refused")]))
    const { page, problems, requests, close } = await open(file)
    try {
    expect(problems).toEqual([])
    expect(requests).toEqual([pathToFileURL(file).href])

    const timelines = page.locator("svg.timeline")
    expect(await timelines.count()).toBe(3)
    const box = await timelines.first().boundingBox()
    expect(box?.width ?? 0).toBeGreaterThan(800)
    expect(box?.height ?? 0).toBeGreaterThan(60)
    // fault window, violated check and rollback of the real failing run are visible shapes
    for (const sel of ["rect.fw", "rect.s.v", "rect.rb"]) {
      const b = await page.locator(`#run-0 svg.timeline ${sel}`).first().boundingBox()
      expect(b?.width ?? 0, sel).toBeGreaterThan(1)
    }
    expect(await page.locator("#run-1 text.mkl.abt").textContent()).toBe("■ stop condition")

    const plots = page.locator("svg.plot")
    expect(await plots.count()).toBeGreaterThan(3)
    expect((await plots.first().boundingBox())?.width ?? 0).toBeGreaterThan(200)

    await expect.poll(() => page.locator("#run-0 .finding").first().innerText()).toContain("GET /admin as anonymous during faults: never 200")
    expect(await page.locator("#run-2 td.no").first().innerText()).toBe("REFUSE")

    const shot = join(dir, "report.png")
    await page.screenshot({ path: shot, fullPage: true })
    const png = readFileSync(shot)
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG")
    expect(png.length).toBeGreaterThan(20_000)
    } finally {
      await close()
    }
  })

  it("a game day of 13 runs, failures run late: the first failure's finding is whole on the first screen; passing runs are collapsed", async () => {
    const dir = tempDir("shiftup-html-")
    const file = join(dir, "gameday.html")
    const runs = gameDay()
    expect(runs.length).toBeGreaterThanOrEqual(10)
    expect(new Set(runs.map((j) => j.status)).size).toBeGreaterThanOrEqual(4)
    // run order puts the failures after the eighth run: the report, not the input, brings them up
    expect(runs.slice(0, 8).every((j) => j.status === "passed")).toBe(true)
    writeFileSync(file, html(runs))
    const viewport = { width: 1280, height: 800 }
    const { page, problems, requests, close } = await open(file, viewport)
    try {
      expect(problems).toEqual([])
      expect(requests).toEqual([pathToFileURL(file).href])
      const first = page.locator(".finding").first()
      expect(await first.innerText()).toContain("api tls /: tls.legacy-protocol")
      const box = await first.boundingBox()
      expect(box, "the first finding is laid out").not.toBeNull()
      if (box !== null) {
        expect(box.y).toBeGreaterThanOrEqual(0)
        expect(box.x).toBeGreaterThanOrEqual(0)
        expect(box.y + box.height, `first finding at y=${box.y}, height ${box.height}, viewport ${viewport.height}`).toBeLessThanOrEqual(viewport.height)
        expect(box.x + box.width).toBeLessThanOrEqual(viewport.width)
      }
      // the overview's time-to-detect summary is on the first screen too
      const kpi = await page.locator(".kpi").boundingBox()
      expect((kpi?.y ?? Number.POSITIVE_INFINITY) + (kpi?.height ?? 0)).toBeLessThanOrEqual(viewport.height)
      // a passing run shows its heading only: its timeline is not rendered until opened
      const passed = page.locator('details.run[data-status="passed"]')
      expect(await passed.count()).toBe(8)
      expect(await passed.first().locator("svg.timeline").isVisible()).toBe(false)
      expect(await passed.first().locator("h2").isVisible()).toBe(true)
      await passed.first().locator(":scope > summary").click()
      expect(await passed.first().locator("svg.timeline").isVisible()).toBe(true)
      // the audit's 29 rules are 7 charts, the failing family first
      expect(await page.locator("#run-0 svg.strip").count()).toBe(7)
      expect(await page.locator("#run-0 .family .cap").first().innerText()).toBe("tls rules: 6 checks, 1 failing")
      await page.screenshot({ path: join(dir, "gameday.png") })
    } finally {
      await close()
    }
  })

  it("a 10,000-step report renders, offline, with no errors", async () => {
    const dir = tempDir("shiftup-html-")
    const file = join(dir, "big.html")
    writeFileSync(file, html([synthetic({ steps: 10_000, seed: 11, faults: 5 })]))
    const { page, problems, requests, close } = await open(file)
    try {
      expect(problems).toEqual([])
      expect(requests.length).toBe(1)
      expect(await page.locator("svg.timeline rect.fw").count()).toBe(5)
      expect(await page.locator("svg.plot").count()).toBeGreaterThan(0)
    } finally {
      await close()
    }
  })
})
