// Tutorial 2 — time to detect.
//
// A defence that holds but stays silent is half a defence: when auth breaks, the security team
// should hear about it, fast. `Expect.detects` measures the time from the last injection until a
// detection probe (an alert sink, a log search, a SIEM query) sees the run's traffic, and fails
// when it takes longer than `within`. The result lands in the journal as `time-to-detect`.
//
// Run it (with a demo lab on SHIFTUP_LAB_PORT, see examples/01-first-experiment.ts):
//   npm run shiftup -- run examples/02-time-to-detect.ts
import { Expect, Experiment } from "shiftup"
import { DemoLab } from "shiftup/testing"

// The alert sink is a target too: observing it is a probe, so the policy checks it like any other.
const { gateway, auth, alerts } = DemoLab.targets()

// Correlation is what makes detection measurable on a shared system. Every request a probe sends
// carries this run's id (header `x-shiftup-run-id`, and in the user agent). The lab's gateway
// copies that id into the alerts it raises, and `alertsOfThisRun()` counts only the alerts whose
// run id is this run's — alerts caused by anyone else (or by an earlier run) do not count.
const raised = DemoLab.alertsOfThisRun()

export default Experiment.make({
  id: "examples.time-to-detect",
  title: "Auth errors at the gateway raise an alert within 2 seconds",
  tags: ["example"],
  targets: { gateway, auth, alerts },
  budget: { maxTargets: 3, maxConcurrentFaults: 1, maxDuration: "20 seconds" },
  hypothesis: [Expect.that(DemoLab.adminStatus("anonymous"), Expect.oneOf(401, 403))],
  method: [
    // A baseline inside the run: nothing this run caused has alerted yet.
    Expect.that(raised, 0),
    DemoLab.authFault("error"),
    // Detection needs something to detect: an anonymous request that meets the broken auth
    // service. The gateway should deny it (503) and raise an alert.
    Expect.that(DemoLab.adminStatus("anonymous"), 503),
    // Polls the sink every 100 ms; the clock started when `auth-error` was injected.
    Expect.detects(raised, Expect.predicate("at least one alert", (n: number) => n >= 1), {
      within: "2 seconds",
      every: "100 millis",
      severity: "high",
      remediation: "Alert on every auth failure the gateway sees, tagged with the request's correlation id.",
    }),
  ],
})

// Try it: change the fault to `DemoLab.authFault("slow")` and the 503 to 200. The run then fails
// with a finding: when auth is slow the lab's gateway not only fails open, it raises no alert
// either — nobody would notice. That is the weakness `npm run demo` finds.
