// Tutorial 12 — what a failing security report looks like.
//
// The demo lab's gateway sends no security headers and has no rate limit, so this experiment
// ends with findings (exit 1) — on purpose. Each finding in the journal names its rule, its CWE
// and what to change; the evidence is what the probe saw, secrets redacted.
//
// Run it (with a demo lab on SHIFTUP_LAB_PORT, see examples/01-first-experiment.ts):
//   npm run shiftup -- run examples/12-findings-report.ts
import { Experiment } from "shiftup"
import * as Http from "shiftup/http"
import { DemoLab } from "shiftup/testing"

const { gateway } = DemoLab.targets()

export default Experiment.make({
  id: "examples.findings-report",
  title: "The gateway sends security headers and rate-limits bursts",
  tags: ["example", "http", "finding"],
  targets: { gateway },
  // The rate-limit burst below is paced by this cap: 30 requests at 100/s take ~0.3 s.
  budget: { maxTargets: 1, maxProbeRate: 100, maxDuration: "30 seconds" },
  hypothesis: [
    ...Http.Findings.expectNoneOf(Http.Headers.probe(gateway, "/health"), ["headers.csp-missing", "headers.nosniff-missing", "headers.framing-allowed"]),
    // The stated limit: no more than 20 requests of a 30-request burst may be accepted.
    Http.Findings.expectNone(Http.RateLimit.probe(gateway, { path: "/health", burst: 30, limit: 20 }), "rate.limit-missing"),
  ],
  method: [],
})
