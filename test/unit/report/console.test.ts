/** The console reporter's live line: drawn on a terminal, held while a question is open, never on plain output. */
import { describe, expect, it } from "vitest"
import { consoleReporter } from "shiftup/report"
import type { Journal } from "shiftup"
import { gameDay } from "../../fixtures/report/gameday.ts"
import { byStatus } from "./journals.ts"

const collect = (tty: boolean, hold?: () => boolean) => {
  const out: Array<string> = []
  const r = consoleReporter({ write: (t) => out.push(t), tty, color: false, ...(hold === undefined ? {} : { hold }) })
  return { out, r }
}

describe("consoleReporter", () => {
  it("redraws the live line on a terminal, but not while `hold` says a question is open", () => {
    let held = true
    const { out, r } = collect(true, () => held)
    try {
      r.onEvent({ _tag: "Phase", phase: "method" })
      expect(out).toEqual([])
      held = false
      r.onEvent({ _tag: "StepStarted", id: "auth-down", phase: "method", kind: "fault" })
      expect(out.join("")).toContain("method · auth-down")
    } finally {
      r.stop()
    }
  })

  it("plain output: no live line, and the finished run prints its findings and fix", () => {
    const { out, r } = collect(false)
    r.onEvent({ _tag: "Phase", phase: "method" })
    expect(out).toEqual([])
    r.onEvent({ _tag: "Finished", journal: byStatus("failed") })
    r.stop()
    const text = out.join("")
    expect(text).toContain("FAILED 1 finding(s): GET /admin as anonymous during faults: never 200")
    expect(text).toContain("fix: Treat an auth timeout as a denial (fail closed), and alert on it.")
  })

  it("a violated during check says how many samples did not match and when the first came, on its step line and under the finding", () => {
    const { out, r } = collect(false)
    const j = gameDay().find((x) => x.experiment.id === "gameday.gateway.fails-closed.auth-slow") as Journal.Journal
    for (const record of j.steps) r.onEvent({ _tag: "StepEnded", record })
    r.onEvent({ _tag: "Finished", journal: j })
    r.stop()
    const text = out.join("")
    expect(text).toContain("expected never 200, observed 200\n        7 of 15 samples did not match, first at +170 ms\n")
    expect(text).toContain("expected never 200; observed 200\n      7 of 15 samples observed 200, first at +170 ms (175 ms after the last injection)\n")
  })

  it("a journal that could not be written is said, with why", () => {
    const { out, r } = collect(false)
    const journal = byStatus("passed")
    r.onEvent({ _tag: "Finished", journal: { ...journal, errors: [...journal.errors, { tag: "JournalWriteFailed", message: "ENOSPC: no space left on device" }] } })
    r.stop()
    expect(out.join("")).toContain("journal NOT written: ENOSPC: no space left on device; this output is the run's only record")
    expect(out.join("")).not.toContain("journal: ")
  })
})

describe("consoleReporter countdown", () => {
  it("shows how long an `eventually` window has left on the live line", async () => {
    const { Experiment, Expect, Probe, Target } = await import("shiftup")
    const t = Target.make("svc", { environment: "lab" })
    const probe = Probe.make({ id: "svc health", target: t, observe: () => 200 })
    const check = Expect.eventually(probe, 200, { within: "5 seconds" })
    const experiment = Experiment.make({ id: "unit.countdown", title: "countdown", targets: { t }, method: [], recovery: [check] })
    const { out, r } = collect(true)
    try {
      r.onEvent({ _tag: "Planned", runId: "r", experiment, plan: { targets: [], decisions: [], faults: [], budget: {} as never, use: { targets: 0, faults: 0, destroySteps: 0, maxPercent: 0 } } })
      r.onEvent({ _tag: "Phase", phase: "recovery" })
      r.onEvent({ _tag: "StepStarted", id: check.id, phase: "recovery", kind: "check" })
      expect(out.join("")).toMatch(/recovery · svc health eventually \(within 5s\) equals 200 0\.0s \((5\.0|4\.9)s left\)/)
    } finally {
      r.stop()
    }
  })
})
