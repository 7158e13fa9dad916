// Tutorial 7 — running experiments from code: the Promise API, the Effect API and a config.
//
// The CLI is one front door. The same engine is a function call away, for a test suite, a CI
// script or a game-day tool. Neither API throws for a failed, refused or aborted run: the result
// is the journal (a plain value), whose `status` and `exitCode` say what happened.
//
// This file is still an ordinary experiment file — the CLI runs its exported experiment:
//   npm run shiftup -- run examples/07-promise-and-effect-api.ts
// Executed directly, it runs the experiment twice more, through each API (lab on SHIFTUP_LAB_PORT):
//   npx tsx examples/07-promise-and-effect-api.ts
import { pathToFileURL } from "node:url"
import { Effect } from "effect"
import { defineConfig, Expect, Experiment, run, Runner } from "shiftup"
import { DemoLab } from "shiftup/testing"

const { gateway, auth } = DemoLab.targets()

export const experiment = Experiment.make({
  id: "examples.promise-and-effect-api",
  title: "The gateway fails closed while auth is down (run from code)",
  tags: ["example"],
  targets: { gateway, auth },
  budget: { maxConcurrentFaults: 1, maxDuration: "20 seconds" },
  hypothesis: [Expect.that(DemoLab.adminStatus("anonymous"), Expect.oneOf(401, 403))],
  method: [DemoLab.authFault("down"), Expect.during(DemoLab.adminStatus("anonymous"), Expect.never(200), { samples: 3 })],
})
export default experiment

// A configuration: what `shiftup.config.ts` would `export default`. It can only tighten: allow
// less per environment, deny more targets, and lower budget limits (each limit becomes the
// smaller of the experiment's and the config's). `defineConfig` validates it and throws a
// `ShiftupError` (`InvalidConfig`) listing every problem at once.
export const config = defineConfig({
  policy: { allow: { staging: ["observe", "disrupt"], development: ["observe", "disrupt"] }, denyDataStores: true, denyTargets: ["*-prod-*"] },
  budget: { maxTargets: 5, maxDuration: "1 minute", maxProbeRate: 100 },
})

// ── Promise API: no Effect knowledge needed ─────────────────────────────────────────────────────
export const withPromises = async () => {
  // Aborting the signal (here on Ctrl-C) rolls every fault back; the run ends `aborted` (exit 3).
  const controller = new AbortController()
  const onSigint = () => controller.abort("SIGINT")
  process.once("SIGINT", onSigint)
  try {
    const journal = await run(experiment, { config, signal: controller.signal, journal: false })
    if (journal.status !== "passed") console.log(journal.summary)
    return journal
  } finally {
    process.off("SIGINT", onSigint)
  }
}

// ── Effect API: the run is an Effect; interrupting its fiber still rolls every fault back ───────
export const withEffect = Effect.gen(function* () {
  const journal = yield* Runner.run(experiment, { config, journal: false })
  yield* Effect.log(`${journal.experiment.id}: ${journal.status} in ${journal.durationMs} ms`)
  return journal
})

// Executed directly (not imported by the CLI or a test): run both and exit with the worst code.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const a = await withPromises()
  const b = await Effect.runPromise(withEffect)
  console.log(`promise API: ${a.status} (exit ${a.exitCode}); effect API: ${b.status} (exit ${b.exitCode})`)
  process.exitCode = Math.max(a.exitCode, b.exitCode)
}
