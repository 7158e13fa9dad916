// While the auth service answers errors, a burst at /admin — anonymous, and with an unknown
// token the gateway must ask auth about — never gets a 2xx.
import { Experiment } from "shiftup"
import * as Http from "shiftup/http"
import { DemoLab } from "shiftup/testing"

const { gateway, auth } = DemoLab.targets()

export default Experiment.make({
  id: "http.gateway.fails-closed.auth-error",
  title: "The gateway fails closed under a burst while auth errors",
  tags: ["demo", "http", "fail-closed"],
  targets: { gateway, auth },
  budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "30 seconds" },
  hypothesis: Http.Findings.expectNoneOf(Http.Auth.probe(gateway, { path: "/admin" }), Http.Auth.ruleIds),
  method: [DemoLab.authFault("error"), ...Http.Auth.failsClosed(gateway, "/admin", { samples: 5, burst: 8 })],
})
