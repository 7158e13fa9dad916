// When the auth service starts failing, the gateway's alert reaches the sink within 2 seconds,
// matched to this run by its id.
import { Experiment, Expect } from "shiftup"
import * as Http from "shiftup/http"
import { DemoLab } from "shiftup/testing"

const { gateway, auth, alerts } = DemoLab.targets()

export default Experiment.make({
  id: "detect.auth-errors-alerted",
  title: "Auth errors at the gateway are detected within 2 seconds",
  tags: ["demo", "http", "detection"],
  targets: { gateway, auth, alerts },
  budget: { maxTargets: 3, maxConcurrentFaults: 1, maxDuration: "30 seconds" },
  method: [
    Expect.that(DemoLab.alertsOfThisRun(), 0),
    DemoLab.authFault("error"),
    Expect.that(DemoLab.adminStatus("anonymous"), 503),
    Http.Detect.detected(DemoLab.alertsOfThisRun(), { within: "2 seconds", every: "50 millis" }),
  ],
})
