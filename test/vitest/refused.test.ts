/**
 * vitest run as a user runs it on suites that meet the safety floor (test/vitest/fixtures/
 * refused.suite.ts): a refused experiment is one failing test naming the rule, the target and the
 * signal, its other tests skipped; `expectRefused` makes the refusal a pass (by rule id or
 * predicate), another rule or no refusal a failure, and only plans, so nothing is touched.
 */
import { join } from "node:path"
import { expect, it } from "vitest"
import { finish, repoRoot, spawnNode, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

it("a refused experiment fails once, with the refusal; expectRefused turns it into a pass, and a run not refused into a failure", async () => {
  const vitest = join(repoRoot, "node_modules", "vitest", "vitest.mjs")
  const child = spawnNode(vitest, ["run", "--config", join(repoRoot, "test", "vitest", "fixtures", "vitest.config.ts"), "refused.suite"], { cwd: repoRoot, env: { NO_COLOR: "1", FORCE_COLOR: "0" } })
  const r = await finish(child, 50_000, "vitest on test/vitest/fixtures/refused.suite.ts")
  const out = r.output
  expect(r.code, out).toBe(1)
  // five suites of six tests and one plain test: three failures, every other test of the suites skipped
  expect(out).toMatch(/Tests\s+3 failed \| 3 passed \| 25 skipped \(31\)/)
  const failed = [...out.matchAll(/^ FAIL {2}test\/vitest\/fixtures\/refused\.suite\.ts > (.*)$/gm)].map((m) => m[1])
  expect(failed).toEqual([
    "vitest.floor.payments-latency — Latency on payments > plan: every target resolved and allowed",
    "refused, but by another rule than expected > plan: refused by floor.destroy-lab-only before any side effect (dry run)",
    "a staging run expected to be refused > plan: refused by floor.production-observe-only before any side effect (dry run)",
  ])
  // the one failure of the refused experiment: rule, target, the signal that decided, the reason
  expect(out).toContain(
    [
      "FindingError: refused before any side effect by rule floor.production-observe-only",
      "  target: payments — environment production (label env=prod → production)",
      "  step: payments-latency",
      "  reason: production (label env=prod): only observation is allowed, not disrupt.",
    ].join("\n"),
  )
  expect(out.match(/FindingError: refused before any side effect/g)).toHaveLength(1)
  expect(out).toContain("FindingError: the experiment was refused, but not as expected (by floor.destroy-lab-only):")
  expect(out).toContain("FindingError: expected the experiment to be refused by floor.production-observe-only, but it was not: plan accepted: 1 target(s), 1 fault(s); nothing was touched (dry run)")
  // passes: the rule id, the predicate, and the plain test proving the staging switch was never called
  expect(out).toMatch(/✓ plan: refused by floor\.production-observe-only before any side effect \(dry run\)/)
  expect(out).toMatch(/✓ plan: refused before any side effect \(dry run\)/)
  expect(out).toMatch(/✓ expectRefused only plans: the staging service's fault switch was never called/)
  // the reporter: the refused run, attributed to the plan's test
  expect(out).toMatch(/REFUSED vitest\.floor\.payments-latency \(run \d{8}T\d{6}-[0-9a-f]{6}\)\n.*\n\s+test: vitest\.floor\.payments-latency — Latency on payments > plan: every target resolved and allowed/)
})
