/**
 * Docs are executed: every file in `examples/` and `experiments/` is run through the real CLI
 * against a demo lab this test starts, and each experiment must end as expected. Files are found
 * with readdir, so a new file is covered without touching this test.
 *
 * What an experiment is expected to do comes from the experiment itself:
 *   - tag `refused`        → refused by the policy: `plan` and `run` both exit 2, nothing touched;
 *   - tag `plan`/`dry-run` → only planned (`shiftup plan`), the plan must be accepted (exit 0);
 *   - tag `finding`        → runs and finds a weakness (exit 1);
 *   - otherwise            → runs and every check holds (exit 0);
 * plus the table `known` below for catalogue entries whose finding is the lab's planted weakness.
 * Every run must also leave the lab as it found it and no compensation pending.
 */
import { relative } from "node:path"
import { Journal } from "shiftup"
import { describe, expect, it } from "vitest"
import { journals, pendingIntents, repoRoot, runCli, tempDir, useProcessCleanup } from "../support/proc-cli.ts"
import { commandsFor, expectationsOf, sources } from "../support/catalogue.ts"
import { labForThisFile } from "../support/proc-lab.ts"

useProcessCleanup()

/** Catalogue experiments whose expected outcome is not in their tags. */
const known: Readonly<Record<string, Journal.Status>> = {
  // The demo lab's planted weakness: the gateway fails OPEN when auth is slow.
  "gateway.fails-closed.auth-slow": "failed",
}

// docker/ needs a Docker lab: test/integration/docker-catalogue.test.ts runs it. data/ needs real
// data stores and an app using them: test/integration/data-*-experiment.test.ts run it. property/
// runs many schedules: test/integration/property.test.ts runs it.
const catalogue = sources("experiments", ["docker", "data", "property"])
const examples = sources("examples", ["docker"])

const lab = labForThisFile()

const check = async (file: string) => {
  const expected = await expectationsOf(file, known)
  expect(expected.length, `${relative(repoRoot, file)} exports no experiment`).toBeGreaterThan(0)
  const refusedOnly = expected.every((x) => x.status === "refused")
  const commands = commandsFor(expected)
  for (const command of commands) {
    const state = tempDir("shiftup-state-")
    const hits = { ...lab().hits }
    const r = await runCli([command, file, "--state-dir", state], { env: { SHIFTUP_LAB_PORT: String(lab().base) }, timeoutMs: 60_000 })
    const context = `shiftup ${command} ${relative(repoRoot, file)}\n${r.output}`
    const byId = new Map(journals(state).map((j) => [j.experiment.id, j]))
    for (const x of expected) {
      const status = command === "plan" && x.status !== "refused" ? "passed" : x.status
      const j = byId.get(x.id)
      expect(j, `${context}\nno journal for ${x.id}`).toBeDefined()
      expect(j?.status, `${x.id}: ${j?.summary}\n${context}`).toBe(status)
      expect(j?.dryRun).toBe(command === "plan")
      if (status === "failed") expect(j?.findings.length, context).toBeGreaterThan(0)
      if (status === "refused") expect(j?.refusal?.rule, context).toMatch(/^(floor|config|experiment|budget|manifest)\./)
    }
    const worst = Math.max(...expected.map((x) => Journal.exitCodes[command === "plan" && x.status !== "refused" ? "passed" : x.status]))
    expect(r.code, context).toBe(worst)
    expect(lab().authMode(), `${context}\nthe lab's auth fault was left on`).toBe("ok")
    expect(pendingIntents(state), context).toEqual([])
    if (command === "plan" || refusedOnly) expect(lab().hits, `${context}\na plan or a refused run contacted the lab`).toEqual(hits)
  }
}

describe("the catalogue (experiments/) runs against the demo lab", () => {
  it("has experiments", () => {
    expect(catalogue.length).toBeGreaterThan(0)
  })
  for (const file of catalogue) it(relative(repoRoot, file), () => check(file), 120_000)
})

describe("the tutorials (examples/) run against the demo lab", () => {
  for (const file of examples) it(relative(repoRoot, file), () => check(file), 120_000)
})
