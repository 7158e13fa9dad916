/**
 * `testProperty` from shiftup/vitest: a property with the ordering bug fixed passes as one test;
 * with the bug, vitest (a child process, as a user runs it) fails the test with the minimal
 * schedule, the finding and a replay line for the test itself.
 */
import { join } from "node:path"
import { testProperty } from "shiftup/vitest"
import { expect, it } from "vitest"
import { gatewayOrdering } from "../../experiments/property/gateway.ordering.ts"
import { finish, pendingIntents, repoRoot, spawnNode, tempDir, useProcessCleanup } from "../support/proc-cli.ts"
import { freeBasePort } from "../support/proc-lab.ts"

useProcessCleanup()

// DemoLab targets read the lab's address when the property is built: at collection time.
process.env["SHIFTUP_LAB_PORT"] = String(await freeBasePort())
testProperty(gatewayOrdering({ orderingBug: false }), { name: "the fixed gateway holds for 10 schedules", seed: 3, runs: 10 })

it("a counterexample fails the test with the minimal schedule and the line that replays it", async () => {
  const vitest = join(repoRoot, "node_modules", "vitest", "vitest.mjs")
  const state = tempDir("shiftup-state-")
  const child = spawnNode(vitest, ["run", "--config", join(repoRoot, "test", "vitest", "fixtures", "vitest.config.ts"), "property.suite"], {
    cwd: repoRoot,
    env: { SHIFTUP_LAB_PORT: String(await freeBasePort()), SHIFTUP_TEST_STATE: state, NO_COLOR: "1", FORCE_COLOR: "0" },
  })
  const r = await finish(child, 110_000, "vitest on test/vitest/fixtures/property.suite.ts")
  expect(r.code, r.output).toBe(1)
  expect(r.output).toMatch(/CounterexampleError: property gateway\.fails-closed\.any-outage-order: COUNTEREXAMPLE after \d+ run\(s\)/)
  expect(r.output).toMatch(/minimal: +(auth-down|auth-error)@\d+\+\d+ms, cache-down@\d+\+\d+ms/)
  expect(r.output).toMatch(/replay in this test: testProperty\(property, \{ replay: "7:\d+(:\d+)*" \}\)/)
  expect(pendingIntents(state)).toEqual([])
}, 120_000)
