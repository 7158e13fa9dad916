// Tutorial 1 — your first experiment.
//
// The question: when the auth service starts answering with errors, does the gateway keep the
// admin page closed? A gateway that turns "auth is broken" into "let everyone in" has a hole that
// nobody sees until an attacker (or an outage) finds it. shiftup checks it on purpose, on a lab.
//
// Run it against the embedded demo lab (no Docker, all on 127.0.0.1):
//
//   npm run demo                                   # starts a lab, runs experiments/, stops it
//   # or, to run this file yourself, start a lab in one terminal…
//   SHIFTUP_LAB_PORT=47180 npm run lab
//   # …and run the experiment in another:
//   npm run shiftup -- run examples/01-first-experiment.ts
//
// An experiment has four parts, in the order the runner uses them:
//   1. hypothesis — the steady state: checks that must hold before anything is touched
//   2. method     — the faults to inject and what must hold while they are active
//   3. rollback   — automatic: every fault's compensation runs, newest first
//   4. after      — the hypothesis again, then the `recovery` checks
import { Expect, Experiment, Probe } from "shiftup"
import { DemoLab } from "shiftup/testing"

// Targets: everything the experiment may touch, each with an environment. The demo lab declares
// its services `staging` explicitly. A target whose environment cannot be worked out counts as
// production, and production is never disrupted (see examples/05-refused-production.ts).
const { gateway, auth } = DemoLab.targets()

// Probes are read-only observations with a typed value. `Probe.status` returns the status code
// (a number) of one GET request. Every request carries the run id in an `x-shiftup-run-id`
// header, so the gateway's logs can be matched to this run.
const anonymousAdmin = Probe.status(gateway, "/admin", { id: "GET /admin without credentials" })
const healthy = Probe.status(gateway, "/health", { id: "GET /health" })

export default Experiment.make({
  // A stable id (lowercase, dots and dashes) and a title a person reads in reports.
  id: "examples.first-experiment",
  title: "The gateway keeps /admin closed while the auth service errors",
  // `example` lets the test suite find every tutorial; the CLI can select by tag (`--tag`).
  tags: ["example"],
  // Only declared targets can be touched; the policy decides on each before the run starts.
  targets: { gateway, auth },
  // The blast radius of the whole run. Anything over it is refused before any side effect.
  budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "20 seconds" },

  // Steady state. If it does not hold, nothing is injected and the run reports a finding.
  hypothesis: [Expect.that(anonymousAdmin, Expect.oneOf(401, 403)), Expect.that(healthy, 200)],

  method: [
    // The fault: the lab's auth service now answers every request with a 500. Its compensation
    // (switching auth back to normal) is written to the ledger and fsynced *before* the switch
    // is flipped, so even a crashed run can be undone with `shiftup recover`.
    DemoLab.authFault("error"),
    // While the fault is active: 5 rounds of 3 concurrent anonymous requests, none may get 200.
    Expect.during(anonymousAdmin, Expect.never(200), {
      samples: 5,
      burst: 3,
      severity: "critical",
      remediation: "Deny the request when the auth service answers with an error.",
    }),
  ],

  // After rollback: the gateway must serve the closed page again within 5 seconds. The time it
  // took is recorded in the journal as `time-to-recover`.
  recovery: [Expect.recovers(anonymousAdmin, Expect.oneOf(401, 403), { within: "5 seconds" })],
})
