// Tutorial 10 — security probes from `shiftup/http`.
//
// The probes in `shiftup/http` each return a typed observation plus security *findings* (a rule
// id, a severity, redacted evidence, a CWE id and a remediation). `Http.Findings.expectNoneOf`
// turns the rules you care about into ordinary checks: a rule that fires becomes a journal
// finding carrying its CWE. Here the demo lab's gateway is asked the questions an attacker asks:
// can I get in without credentials, or with a forged, unsigned token? Does it leak versions (in
// headers or error pages), stack traces, `.git` or `.env`? Does it serve status or debug pages
// (nginx stub_status, actuators, metrics, pprof)? Does its CORS policy trust any origin?
//
// Run it (with a demo lab on SHIFTUP_LAB_PORT, see examples/01-first-experiment.ts):
//   npm run shiftup -- run examples/10-security-probes.ts
import { Experiment } from "shiftup"
import * as Http from "shiftup/http"
import { adminToken, DemoLab } from "shiftup/testing"

const { gateway } = DemoLab.targets()

// Credentials given to probes are wrapped as secrets: they print as "[redacted]", and anything
// the server echoes back is redacted from observations before it reaches the journal.
const token = Http.secret(adminToken)

// One observation each; every request carries this run's id and passes the egress allowlist.
const auth = Http.Auth.probe(gateway, { path: "/admin", token })
const leakage = Http.Leakage.probe(gateway)
const exposure = Http.Exposure.probe(gateway)
const cors = Http.Cors.probe(gateway, "/admin")

export default Experiment.make({
  id: "examples.security-probes",
  title: "The gateway denies anonymous and forged credentials and leaks nothing",
  tags: ["example", "http"],
  targets: { gateway },
  // A probe that sends several requests (here up to 14) paces them under this rate, per target.
  budget: { maxTargets: 1, maxProbeRate: 50, maxDuration: "30 seconds" },
  hypothesis: [
    // auth.anonymous-allowed, auth.forged-jwt-accepted, auth.alg-none-accepted (the expiry test
    // needs the service's key or a genuinely expired token: `jwtKey` / `expiredToken`).
    ...Http.Findings.expectNoneOf(auth, Http.Auth.ruleIds),
    ...Http.Findings.expectNoneOf(leakage, Http.Leakage.ruleIds),
    ...Http.Findings.expectNoneOf(exposure, Http.Exposure.ruleIds),
    ...Http.Findings.expectNoneOf(cors, Http.Cors.ruleIds),
  ],
  method: [],
})
