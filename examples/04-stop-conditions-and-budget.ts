// Tutorial 4 — stop conditions and the blast-radius budget.
//
// Two ways to keep an experiment from hurting more than it teaches:
//
// * A stop condition (`stopWhen`, built with `Expect.guard`) is a probe that the runner checks
//   continuously while the method runs. The moment it does not match, the run aborts: every
//   fault is rolled back (newest first) and the run ends `aborted`, exit code 3.
// * The budget caps the whole run. It is checked before anything is touched — a run over budget
//   is refused, exit code 2 — and again at every injection.
//
// Run it (with a demo lab on SHIFTUP_LAB_PORT, see examples/01-first-experiment.ts):
//   npm run shiftup -- plan examples/04-stop-conditions-and-budget.ts   # shows the budget use; touches nothing
//   npm run shiftup -- run examples/04-stop-conditions-and-budget.ts
import { Expect, Experiment, Probe, Step } from "shiftup"
import { DemoLab } from "shiftup/testing"

const { gateway, auth } = DemoLab.targets()

// The guard: the gateway's own health endpoint must keep answering 200 while auth is down. If the
// gateway falls over (a crash, a thread pool exhausted by hanging auth calls), the experiment has
// found what it needed and continuing only extends an outage.
const gatewayHealthy = Expect.guard(Probe.status(gateway, "/health", { id: "gateway /health" }), 200, { every: "100 millis" })

export default Experiment.make({
  id: "examples.stop-conditions-and-budget",
  title: "The gateway stays closed and healthy through an auth outage, within a small budget",
  tags: ["example"],
  targets: { gateway, auth },

  // Every limit with the value this run needs; anything left out takes its default
  // (docs/safety.md lists them). A configuration file can lower any of these, never raise them.
  budget: {
    maxTargets: 2, //            targets the run may touch at all, probes included   (default 10)
    maxPercent: 100, //          share of a target's population a fault may hit      (default 100)
    maxConcurrentFaults: 1, //   faults active at once                               (default 3)
    maxFaultTime: "3 seconds", // a fault active longer aborts the run              (default 5 minutes)
    maxDuration: "5 seconds", //  the whole method; past it the run aborts           (default 10 minutes)
    maxDestroySteps: 0, //       no data- or config-destroying steps                 (default 0)
    maxProbeRate: 100, //        requests per second per target, guards included     (default 200)
  },

  // An experiment may also narrow the policy for itself: here only observation and reversible
  // faults in staging, and never a data store.
  policy: { allow: { staging: ["observe", "disrupt"] }, denyDataStores: true },

  stopWhen: [gatewayHealthy],
  hypothesis: [Expect.that(DemoLab.adminStatus("anonymous"), Expect.oneOf(401, 403))],
  method: [
    DemoLab.authFault("down"),
    // Hold the fault for a moment while the guard watches, as a real outage would last.
    Step.wait("300 millis"),
    Expect.during(DemoLab.adminStatus("anonymous"), Expect.never(200), { samples: 5, every: "50 millis", burst: 2 }),
  ],
  recovery: [Expect.recovers(DemoLab.adminStatus("admin"), 200, { within: "5 seconds" })],
})

// Try it:
// * Change the guard's expected status from 200 to 204: the guard fails on its first look, the
//   run prints "■ aborting (guard)", rolls `auth-down` back and exits 3.
// * Set `maxConcurrentFaults: 0`: `shiftup plan` and `shiftup run` refuse the run with rule
//   `budget.max-concurrent-faults` and exit 2, before the lab is contacted at all.
