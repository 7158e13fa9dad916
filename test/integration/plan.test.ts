/**
 * Invariant 1 (plan before touch) through the real CLI: a refused run or plan exits 2, names the
 * rule, leaves a journal with status `refused`, and the target — a real HTTP listener on
 * 127.0.0.1 — never sees a single connection.
 */
import { join } from "node:path"
import { describe, type TestContext, test } from "vitest"
import { fixture, journals, ledgerFiles, readJournal, testScope, useProcessCleanup } from "../support/proc-cli.ts"
import { countingServer } from "../support/proc-lab.ts"

useProcessCleanup()

/** A counting server (the would-be target) and a scope of its own for one concurrent test. */
const setup = async (context: TestContext) => {
  const scope = testScope(context)
  const server = await countingServer()
  context.onTestFinished(() => server.close())
  return { server, tempDir: scope.tempDir, runCli: scope.runCli }
}

describe.concurrent("refused before any side effect", () => {
  test("`plan` on an unknown environment with a fault: exit 2, rule floor.unknown-is-production, zero connections", async (context) => {
    const { expect } = context
    const { server, tempDir, runCli } = await setup(context)
    const state = tempDir("shiftup-state-")
    const r = await runCli(["plan", fixture("unknown-environment.ts"), "--state-dir", state], { env: { SHIFTUP_FIXTURE_PORT: String(server.port) } })
    expect(r.code, r.output).toBe(2)
    expect(r.stdout).toContain("floor.unknown-is-production")
    expect(r.stdout).toMatch(/environment unknown \(treated as production\)/)
    expect(r.stdout).toMatch(/decision REFUSE disrupt "break-it" on mystery-service: floor\.unknown-is-production/)
    expect(server.connections(), "the refused target was contacted").toBe(0)
    const [j, ...more] = journals(state)
    expect(more).toEqual([])
    expect(j?.status).toBe("refused")
    expect(j?.exitCode).toBe(2)
    expect(j?.refusal?.rule).toBe("floor.unknown-is-production")
    expect(j?.refusal?.target).toBe("mystery-service")
    expect(j?.refusal?.step).toBe("break-it")
    expect(j?.plan?.decisions.filter((d) => !d.allowed).map((d) => d.rule)).toEqual(["floor.unknown-is-production", "floor.production-observe-opt-in"])
    expect(ledgerFiles(state), "no ledger: nothing could be injected").toEqual([])
    // The witness itself works: one request from here is one connection.
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
    expect(server.connections()).toBe(1)
  })

  test("`run` on an unknown environment with a fault: same refusal, zero connections", async (context) => {
    const { expect } = context
    const { server, tempDir, runCli } = await setup(context)
    const state = tempDir("shiftup-state-")
    const journal = join(state, "run.json")
    const r = await runCli(["run", fixture("unknown-environment.ts"), "--state-dir", state, "--journal", journal], { env: { SHIFTUP_FIXTURE_PORT: String(server.port) } })
    expect(r.code, r.output).toBe(2)
    expect(r.stdout).toContain("floor.unknown-is-production")
    expect(server.connections()).toBe(0)
    expect(readJournal(journal).refusal?.rule).toBe("floor.unknown-is-production")
    expect(ledgerFiles(state)).toEqual([])
  })

  test("`run` on a production data store (observe only, opted in): exit 2, rule floor.production-data-store, zero connections", async (context) => {
    const { expect } = context
    const { server, tempDir, runCli } = await setup(context)
    const state = tempDir("shiftup-state-")
    const journal = join(state, "run.json")
    const r = await runCli(["run", fixture("production-data-store.ts"), "--state-dir", state, "--journal", journal], { env: { SHIFTUP_FIXTURE_PORT: String(server.port) } })
    expect(r.code, r.output).toBe(2)
    expect(r.output).toContain("floor.production-data-store")
    expect(server.connections(), "the production data store was contacted").toBe(0)
    const j = readJournal(journal)
    expect(j.status).toBe("refused")
    expect(j.exitCode).toBe(2)
    expect(j.dryRun).toBe(false)
    expect(j.refusal?.rule).toBe("floor.production-data-store")
    expect(j.refusal?.target).toBe("orders-db")
    expect(j.steps, "no step ran").toEqual([])
    expect(ledgerFiles(state)).toEqual([])
  })

  test("`plan` on the production data store names the rule too", async (context) => {
    const { expect } = context
    const { server, tempDir, runCli } = await setup(context)
    const state = tempDir("shiftup-state-")
    const r = await runCli(["plan", fixture("production-data-store.ts"), "--state-dir", state], { env: { SHIFTUP_FIXTURE_PORT: String(server.port) } })
    expect(r.code, r.output).toBe(2)
    expect(r.stdout).toMatch(/data store: yes \(postgres\)/)
    expect(r.stdout).toMatch(/decision REFUSE observe .* on orders-db: floor\.production-data-store/)
    expect(server.connections()).toBe(0)
  })
})
