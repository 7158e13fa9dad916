/**
 * vitest run as a user runs it (a child process, the user's config with `ShiftupReporter`) on a
 * suite that meets the lab's weakness unprepared: the violated check is a failed test whose error
 * is the finding, every other assertion passes, and the reporter prints the finding at the end.
 */
import { join } from "node:path"
import { expect, it } from "vitest"
import { finish, repoRoot, spawnNode, useProcessCleanup } from "../support/proc-cli.ts"
import { freeBasePort } from "../support/proc-lab.ts"

useProcessCleanup()

it("a failing experiment fails its test with the finding, and the reporter lists it", async () => {
  const vitest = join(repoRoot, "node_modules", "vitest", "vitest.mjs")
  const child = spawnNode(vitest, ["run", "--config", join(repoRoot, "test", "vitest", "fixtures", "vitest.config.ts"), "weakness.suite"], { cwd: repoRoot, env: { SHIFTUP_LAB_PORT: String(await freeBasePort()), NO_COLOR: "1", FORCE_COLOR: "0" } })
  const r = await finish(child, 50_000, "vitest on test/vitest/fixtures")
  const out = r.output
  expect(r.code, out).toBe(1)
  // the one failed test is the violated check, and its error is the finding
  expect(out).toMatch(/FAIL .*weakness\.suite\.ts > vitest\.gateway\.fails-closed\.auth-slow — The gateway fails closed when auth is slow > method: GET \/admin as anonymous during faults: never 200/)
  expect(out).toMatch(/FindingError: finding \[critical\]: GET \/admin as anonymous during faults: never 200\n\s+expected never 200, observed 200 \(1 sample\(s\) over \d+ ms; run \d{8}T\d{6}-[0-9a-f]{6}\)\n\s+1 of 1 samples observed 200, first at \+\d+ ms \(\d+ ms after the last injection\)\n\s+fix: Treat an auth timeout as a denial \(fail closed\), and alert on it\./)
  expect(out).toMatch(/Tests\s+1 failed \| 15 passed \(16\)/)
  // the reporter's block, after the run
  expect(out).toContain("shiftup: 2 experiment run(s), 1 finding(s)")
  // each finding under the test of the check that produced it, not the rollback's
  expect(out).toMatch(
    /FAILED vitest\.gateway\.fails-closed\.auth-slow \(run \d{8}T\d{6}-[0-9a-f]{6}\)\n\s+✗ \[critical\] GET \/admin as anonymous during faults: never 200\n\s+test: vitest\.gateway\.fails-closed\.auth-slow — The gateway fails closed when auth is slow > method: GET \/admin as anonymous during faults: never 200\n\s+expected never 200; observed 200 \(method, target gateway\)\n\s+1 of 1 samples observed 200, first at \+\d+ ms \(\d+ ms after the last injection\)\n/,
  )
  expect(out).not.toMatch(/test: .*> rollback: every fault restored/)
})
