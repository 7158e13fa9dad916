/**
 * Detection checks through the real runner: an alert sink the run starts (matched to the run by
 * its id) giving time-to-detect, a log-file watcher, and the failure of "detected within" with
 * the measured time. The "alerting pipeline" is a fault whose injection posts (or logs) later.
 */
import { appendFileSync, mkdtempSync, rmSync } from "node:fs"
import * as http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { Compensation, Experiment, Fault, Runner, Target } from "shiftup"
import { RunContext } from "shiftup/advanced"
import * as Http from "shiftup/http"
import { afterAll, describe, expect, it } from "vitest"

const dirs: Array<string> = []
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "shiftup-detect-"))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const system = Target.make("system", { environment: "lab" })

/** A fault whose "pipeline" reacts `afterMs` later (or never), as an alerting pipeline would. */
const outage = (react: (runId: string) => void, afterMs: number | null) => {
  const timers: Array<NodeJS.Timeout> = []
  return Fault.make({
    id: "outage",
    target: system,
    compensation: Compensation.ephemeral({ target: "system", description: "end the outage" }),
    inject: Effect.gen(function* () {
      const { runId } = yield* RunContext
      if (afterMs !== null) timers.push(setTimeout(() => react(runId), afterMs))
    }),
    release: () => timers.forEach(clearTimeout),
  })
}

const postAlert = (url: string, runId: string, viaHeader: boolean) => {
  const r = http.request(url, { method: "POST", headers: { "content-type": "application/json", ...(viaHeader ? { "x-shiftup-run-id": runId } : {}) } })
  r.on("error", () => undefined)
  r.end(JSON.stringify({ alert: "auth down", ...(viaHeader ? {} : { labels: { run: runId } }) }))
}

describe("alert sink", () => {
  it("measures time-to-detect from the fault; alerts of other runs do not count; the sink is stopped at rollback", async () => {
    const sink = Http.Detect.alertSink()
    const experiment = Experiment.make({
      id: "test.detect.sink",
      title: "sink",
      targets: { system, sink: sink.target },
      resources: { sink: sink.resource },
      method: [
        outage((runId) => {
          postAlert(sink.url(), "20200101T000000-000000", true) // someone else's run
          postAlert(sink.url(), runId, false) // run id in the body
        }, 150),
        Http.Detect.detected(sink.received, { within: "2 seconds", every: "20 millis" }),
      ],
    })
    const journal = await Effect.runPromise(Runner.run(experiment, { stateDir: temp(), journal: false }))
    expect(journal.status, journal.summary).toBe("passed")
    const metric = journal.steps.find((s) => s.metric !== undefined)?.metric
    expect(metric?.name).toBe("time-to-detect")
    expect(metric?.ms).toBeGreaterThanOrEqual(140)
    expect(metric?.ms).toBeLessThan(1000)
    expect(sink.all().length).toBe(2)
    expect(sink.all().map((a) => a.runId)).toContain(journal.runId)
    await expect(fetch(sink.url(), { method: "POST" })).rejects.toThrow()
  })
  it("no alert within the window is a finding with the measured window", async () => {
    const sink = Http.Detect.alertSink()
    const experiment = Experiment.make({
      id: "test.detect.silent",
      title: "silent",
      targets: { system, sink: sink.target },
      resources: { sink: sink.resource },
      method: [outage(() => undefined, null), Http.Detect.detected(sink.received, { within: "300 millis", every: "50 millis" })],
    })
    const journal = await Effect.runPromise(Runner.run(experiment, { stateDir: temp(), journal: false }))
    expect(journal.status).toBe("failed")
    expect(journal.findings[0]).toMatchObject({ cwe: "CWE-778", expected: "at least 1 within 300 ms", observed: 0 })
  })
})

describe("log watcher", () => {
  it("a line matching the pattern with this run's id appears within the deadline", async () => {
    const log = join(temp(), "app.log")
    appendFileSync(log, "AUTH_FAILURE run=20200101T000000-000000 (another run)\n")
    const watch = Http.Detect.logWatch(system, { file: log, pattern: /AUTH_FAILURE/ })
    const experiment = Experiment.make({
      id: "test.detect.log",
      title: "log",
      targets: { system },
      method: [outage((runId) => appendFileSync(log, `noise\nAUTH_FAILURE run=${runId}\n`), 100), Http.Detect.detected(watch, { within: "2 seconds", every: "20 millis" })],
    })
    const journal = await Effect.runPromise(Runner.run(experiment, { stateDir: temp(), journal: false }))
    expect(journal.status, journal.summary).toBe("passed")
    expect(journal.steps.find((s) => s.metric !== undefined)?.metric?.ms).toBeGreaterThanOrEqual(90)
  })
})
