/**
 * A `during` check keeps every sample, in a real run: a loopback server fails open on a known
 * subset of the requests it gets while its fault switch is on (7 of 15 answer 200). The journal
 * counts them exactly, lists every answer in the order the server sent it, dates the first
 * violation between the server's answer and the next request, and every report says "7 of 15
 * samples observed 200, first at +… ms"; the HTML plots all 15.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Expect, Experiment, Fault, Http, Probe, run } from "shiftup"
import { html, junit, markdown, sarif } from "shiftup/report"
import { tempDir, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

/** Requests to /admin while the fault is on, 1-based, that are answered 200 (the others 403). */
const failOpen = new Set([5, 6, 9, 10, 11, 14, 15])

interface Answer {
  readonly n: number
  readonly status: number
  readonly arrivedAt: number
  readonly sentAt: number
}

let server: http.Server
let url = ""
let faulty = false
let answers: Array<Answer> = []

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const arrivedAt = Date.now()
    if (req.url === "/faults" && req.method === "POST") {
      let body = ""
      req.setEncoding("utf8").on("data", (c: string) => (body += c))
      req.on("end", () => {
        faulty = body === "on"
        res.writeHead(204).end()
      })
      return
    }
    if (req.url !== "/admin") return void res.writeHead(404).end()
    if (!faulty) return void res.writeHead(401).end()
    const n = answers.length + 1
    const status = failOpen.has(n) ? 200 : 403
    res.writeHead(status, { "content-type": "text/plain" }).end("x")
    answers.push({ n, status, arrivedAt, sentAt: Date.now() })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe("a during check against a server that fails open on 7 of 15 requests", () => {
  it("journals every sample: counts and first-violation offset exact, and every report says so", async () => {
    faulty = false
    answers = []
    const api = Http.target("api", { url, environment: "lab" })
    const experiment = Experiment.make({
      id: "test.samples.fails-open-sometimes",
      title: "The API fails closed while its auth is flaky",
      targets: { api },
      method: [
        Fault.httpSwitch(api, { id: "auth-flaky", url: `${url}/faults`, on: "on", off: "off" }),
        Expect.during(Probe.status(api, "/admin"), Expect.never(200), { samples: 15, every: "30 millis", severity: "critical" }),
      ],
    })
    const j = await run(experiment, { stateDir: tempDir(), journal: false })
    expect(j.status, j.summary).toBe("failed")
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 15 }, (_, i) => (failOpen.has(i + 1) ? 200 : 403)))

    const step = j.steps.find((s) => s.kind === "check")
    expect(step?.samples).toBe(15)
    const s = step?.sampling
    expect(s?.violated).toBe(7)
    expect(s?.dropped).toBe(0)
    expect(s?.kept.map((x) => x.value)).toEqual(answers.map((a) => a.status))
    expect(s?.kept.map((x) => x.held)).toEqual(answers.map((a) => a.status !== 200))
    // The first violation is the 5th answer: dated after the server sent it, and before the 6th
    // request reached the server (the check waits 30 ms between samples).
    const fifth = answers[4] as Answer
    const sixth = answers[5] as Answer
    const first = Date.parse(step?.startedAt ?? "") + (s?.firstViolationMs ?? Number.NaN)
    expect(s?.firstViolationMs).toBe(s?.kept[4]?.atMs)
    expect(first).toBeGreaterThanOrEqual(fifth.sentAt - 1)
    expect(first).toBeLessThanOrEqual(sixth.arrivedAt + 1)
    expect(s?.sinceInjectionMs).toBeGreaterThanOrEqual(0)

    const f = j.findings[0]
    const sentence = `7 of 15 samples observed 200, first at +${s?.firstViolationMs} ms (${(s?.sinceInjectionMs ?? 0) + (s?.firstViolationMs ?? 0)} ms after the last injection)`
    expect(f?.evidence).toBe(sentence)
    expect(f?.observed).toBe(200)

    expect(markdown([j])).toContain(sentence)
    expect(junit([j])).toContain(sentence)
    expect(JSON.stringify(sarif([j]))).toContain(sentence)
    const page = html([j])
    expect(page).toContain(sentence)
    // the plot of the check has one dot per sample: 8 held, 7 violated
    const plot = /<svg class="plot"[^>]*aria-label="values of api status \/admin[^"]*"[\s\S]*?<\/svg>/.exec(page)?.[0] ?? ""
    const dots = (cls: string) => (new RegExp(`<path class="pt ${cls}" d="([^"]*)"`).exec(plot)?.[1] ?? "").split("M").filter((m) => m !== "").length
    expect(dots("h")).toBe(8)
    expect(dots("v")).toBe(7)
  })
})
