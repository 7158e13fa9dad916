/**
 * A misconfiguration checked during a fault inside a real experiment: while the primary
 * container is paused, the fallback must not run privileged nor hold the Docker socket
 * (`Misconfig.noMisconfiguration`). A hardened fallback: the run passes. A privileged fallback
 * (created, not started: the engine here cannot start privileged containers): the run fails
 * with a finding naming the rule, and the primary is unpaused by the rollback either way. The
 * run's HTML, JUnit and SARIF reports show that finding with the rule's metadata (remediation,
 * CWE/CIS references as links, help URI).
 * Everything carries `shiftup.run=<id>` and is removed after.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Experiment, run } from "../../src/index.ts"
import * as Docker from "../../src/docker/index.ts"
import * as Engine from "../../src/docker/engine.ts"
import { container, containers } from "../../src/docker/targets.ts"
import { Misconfig } from "../../src/inventory/index.ts"
import { ensureImageMap } from "../../src/testing/docker/images.ts"
import { consoleReporter, html, junit, sarif } from "../../src/report/index.ts"
import { docker, removeRun } from "../support/inventory-docker.ts"

const runId = `misx-${randomBytes(4).toString("hex")}`
const engine = Engine.make()
const label = `shiftup.run=${runId}`
const state = mkdtempSync(join(tmpdir(), "shiftup-misconfig-x-"))
let busybox = ""

beforeAll(async () => {
  busybox = (await Effect.runPromise(ensureImageMap(engine, { only: ["busybox"] }))).busybox ?? ""
  docker("run", "-d", "--name", `${runId}-primary`, "--label", label, busybox, "sleep", "3600")
  docker("create", "--name", `${runId}-fallback-good`, "--label", label, "--user", "1000", "--cap-drop", "ALL", busybox, "sleep", "3600")
  docker("create", "--name", `${runId}-fallback-bad`, "--label", label, "--privileged", busybox, "sleep", "3600")
}, 30_000)

afterAll(() => {
  removeRun(runId)
  rmSync(state, { recursive: true, force: true })
  engine.close()
})

const failover = (fallback: string) => {
  const primary = container(`${runId}-primary`, { environment: "lab" })
  // Created, not started: `all` selects it (a fallback the failover has not started yet is still checked).
  const target = containers(`${runId}-${fallback}`, { select: { name: `${runId}-${fallback}`, all: true }, environment: "lab" })
  return Experiment.make({
    id: `misconfig.failover.${fallback}`,
    title: "the fallback stays unprivileged while the primary is down",
    targets: { primary, fallback: target },
    method: [Docker.pause(primary), Misconfig.noMisconfiguration(target, ["container.privileged", "container.docker-socket"])],
  })
}

const paused = () => docker("inspect", "-f", "{{.State.Paused}}", `${runId}-primary`)

describe("noMisconfiguration during a fault", () => {
  it("a hardened fallback: the run passes, the primary is unpaused after", async () => {
    const j = await run(failover("fallback-good"), { stateDir: state, journal: false, runId: `${runId}-good` })
    expect(j.status, j.summary).toBe("passed")
    expect(paused()).toBe("false")
  })

  it("a privileged fallback: a finding naming the rule, during the fault", async () => {
    const j = await run(failover("fallback-bad"), { stateDir: state, journal: false, runId: `${runId}-bad` })
    expect(j.status).toBe("failed")
    expect(j.findings).toHaveLength(1)
    const f = j.findings[0]
    expect(f?.severity).toBe("high")
    expect(JSON.stringify(f?.observed)).toContain('"rule":"container.privileged"')
    expect(JSON.stringify(f?.observed)).toContain("HostConfig.Privileged is true")
    expect(paused()).toBe("false")

    // The reports of the run carry the rule's metadata, not only the observed JSON.
    const rule = Misconfig.rules.find((r) => r.id === "container.privileged")
    const page = html([j])
    expect(page).toContain(`<div class="finding rule critical" data-rule="container.privileged">`)
    expect(page).toContain(`<a href="https://cwe.mitre.org/data/definitions/250.html" rel="noreferrer">CWE-250</a>, <a href="https://www.cisecurity.org/benchmark/docker" rel="noreferrer">CIS Docker 5.5</a>`)
    expect(page).toContain(`<dt>fix</dt><dd>${rule?.remediation}</dd>`)
    const xml = junit([j])
    expect(xml).toContain(`container.privileged [critical, blocking] Container runs privileged on docker:local/${runId}-fallback-bad (profile web)`)
    expect(xml).toContain("references: CWE-250 (https://cwe.mitre.org/data/definitions/250.html), CIS Docker 5.5 (https://www.cisecurity.org/benchmark/docker)")
    let printed = ""
    consoleReporter({ write: (t) => void (printed += t), tty: false }).onEvent({ _tag: "Finished", journal: j })
    expect(printed).toContain(`CRITICAL container.privileged: Container runs privileged — docker:local/${runId}-fallback-bad`)
    expect(printed).toContain("refs: CWE-250 (https://cwe.mitre.org/data/definitions/250.html), CIS Docker 5.5 (https://www.cisecurity.org/benchmark/docker)")
    const log = sarif([j])
    expect(log.runs[0]?.tool.driver.rules[0]).toMatchObject({ helpUri: "https://cwe.mitre.org/data/definitions/250.html", properties: { cwe: ["CWE-250"] } })
  })
})
