/** Reading journals back for `shiftup report`: the documented schema, and what a broken file says. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { isShiftupError, type ShiftupError } from "shiftup"
import type { Journal } from "../../../src/Journal.ts"
import { readJournalFile } from "../../../src/report/cli.ts"
import { gameDay } from "../../fixtures/report/gameday.ts"
import { all, byStatus, real } from "./journals.ts"

const dir = mkdtempSync(join(tmpdir(), "shiftup-journals-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const file = (text: string) => {
  const path = join(dir, `j${++n}.json`)
  writeFileSync(path, text)
  return path
}

/** The `LoadFailed` detail reading `text` fails with. */
const refusal = (text: string): { readonly file: string; readonly detail: string } => {
  const path = file(text)
  try {
    readJournalFile(path)
  } catch (e) {
    expect(isShiftupError(e)).toBe(true)
    const reason = e as ShiftupError
    if (reason._tag !== "LoadFailed") return expect.fail(`expected LoadFailed, got ${reason._tag}`)
    expect(reason.file).toBe(path)
    return { file: reason.file, detail: reason.detail }
  }
  return expect.fail("the journal was accepted")
}

const failed = byStatus("failed")
const without = (key: string, value: object): object => Object.fromEntries(Object.entries(value).filter(([k]) => k !== key))

describe("readJournalFile", () => {
  it("accepts every real and synthetic journal, and fields it does not know", () => {
    for (const j of all) expect(readJournalFile(file(JSON.stringify(j)))).toEqual(j)
    expect(real.length).toBeGreaterThan(0)
    expect(() => readJournalFile(file(JSON.stringify({ ...failed, addedLater: { x: 1 } })))).not.toThrow()
  })

  it.each([
    ["a missing top-level field", JSON.stringify(without("status", failed)), "  - status: Missing key"],
    ["a missing nested field", JSON.stringify({ ...failed, findings: [without("title", failed.findings[0] as object)] }), "  - findings[0].title: Missing key"],
    ["a field of the wrong type", JSON.stringify({ ...failed, steps: [{ ...failed.steps[0], durationMs: "12" }] }), "  - steps[0].durationMs: Expected number"],
    ["an unknown status", JSON.stringify({ ...failed, status: "exploded" }), "  - status: Expected"],
    ["null where an array belongs", JSON.stringify({ ...failed, rollbacks: null }), "  - rollbacks: Expected array"],
  ])("%s: the file, the path and the field", (_, text, line) => {
    const { detail } = refusal(text)
    expect(detail).toContain("not a valid shiftup.journal/v1 journal (see docs/journal.md):")
    expect(detail).toContain(line)
  })

  it("accepts what a run writes today: samples and their evidence, exception signals, fingerprint contacts", () => {
    const withSamples = gameDay().find((j) => j.experiment.id === "gameday.gateway.fails-closed.auth-slow") as Journal
    expect(readJournalFile(file(JSON.stringify(withSamples)))).toEqual(withSamples)
    const target = failed.plan?.targets[0]
    const plan = {
      ...failed.plan,
      targets: [{ ...target, conflict: "label says lab, hostname says staging", environmentSignals: [{ source: "exception", key: "config.exceptions[0]", value: "gateway", means: "staging", member: "http://127.0.0.1:1" }], dataStore: { is: false, signals: [], checkedBy: "fingerprint" } }],
      contacts: [{ address: "127.0.0.1:6379", handshake: "redis PING", sent: "PING (14 bytes)", received: "+PONG", bytesSent: 14, bytesReceived: 7, ms: 2, target: "cache", member: "127.0.0.1:6379", engine: "redis", evidence: "+PONG" }],
    }
    expect(() => readJournalFile(file(JSON.stringify({ ...failed, plan })))).not.toThrow()
  })

  it("a sample of the wrong shape is named by its path", () => {
    const withSamples = gameDay().find((j) => j.experiment.id === "gameday.gateway.fails-closed.auth-slow") as Journal
    const steps = withSamples.steps.map((st) => (st.sampling === undefined ? st : { ...st, sampling: { ...st.sampling, kept: [{ atMs: "10", held: true }] } }))
    expect(refusal(JSON.stringify({ ...withSamples, steps })).detail).toContain("  - steps[1].sampling.kept[0].atMs: Expected number")
  })

  it("several problems are all listed", () => {
    const { detail } = refusal(JSON.stringify({ ...without("runId", failed), exitCode: "1", steps: [without("phase", failed.steps[0] as object)] }))
    for (const path of ["runId", "exitCode", "steps[0].phase"]) expect(detail).toMatch(new RegExp(`^  - ${path.replace(/[.[\]]/g, "\\$&")}: `, "m"))
  })

  it.each([
    ["not JSON", "{ this is not json", "not JSON ("],
    ["an empty file", "", "the file is empty"],
    ["whitespace only", "\n  \n", "the file is empty"],
    ["a JSON array", JSON.stringify([failed]), "not a shiftup.journal/v1 journal (a JSON array)"],
    ["another JSON document", JSON.stringify({ name: "pkg" }), "not a shiftup.journal/v1 journal (schema: none)"],
    ["JSON null", "null", "not a shiftup.journal/v1 journal (schema: none)"],
    ["another version", JSON.stringify({ ...failed, schema: "shiftup.journal/v9" }), 'not a shiftup.journal/v1 journal (schema: "shiftup.journal/v9")'],
  ])("%s", (_, text, fragment) => {
    expect(refusal(text).detail).toContain(fragment)
  })
})
