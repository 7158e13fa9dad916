// Tutorial 11 — fail closed under fault, and time to detect, with `shiftup/http`.
//
// `Http.Auth.failsClosed` makes `during` checks, one per way of asking without a valid credential
// (no credentials, an unknown token; with a session or a JWT key also expired, forged and
// replayed tokens): while the faults are active, the protected route must never answer 2xx (a
// violation is CWE-636, "not failing securely"), and a finding names the attempt that got in. `Http.Detect.detected`
// turns any counting probe (alerts received, matching log lines, a SIEM query) into a
// time-to-detect check that fails with the measured time.
//
// For an alerting pipeline you run, `Http.Detect.alertSink()` starts an HTTP receiver inside the
// run (declare `resources: { sink: sink.resource }` and point your pipeline's webhook at its port);
// alerts are matched to the run by the `x-shiftup-run-id` header or a run id in the body. The
// demo lab has its own sink, so this tutorial counts the lab's alerts for this run instead.
//
// Run it (with a demo lab on SHIFTUP_LAB_PORT, see examples/01-first-experiment.ts):
//   npm run shiftup -- run examples/11-fail-closed-and-detection.ts
import { Experiment } from "shiftup"
import * as Http from "shiftup/http"
import { DemoLab } from "shiftup/testing"

const { gateway, auth, alerts } = DemoLab.targets()

export default Experiment.make({
  id: "examples.fail-closed-and-detection",
  title: "While auth errors, /admin stays closed and an alert arrives within 2 seconds",
  tags: ["example", "http", "detection"],
  targets: { gateway, auth, alerts },
  budget: { maxTargets: 3, maxConcurrentFaults: 1, maxDuration: "30 seconds" },
  method: [
    DemoLab.authFault("error"),
    // Per attempt, 4 rounds of 5 concurrent requests: an attack burst during the outage.
    ...Http.Auth.failsClosed(gateway, "/admin", { samples: 4, burst: 5 }),
    Http.Detect.detected(DemoLab.alertsOfThisRun(), { within: "2 seconds", every: "50 millis" }),
  ],
})
