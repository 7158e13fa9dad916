// When auth goes down, does anybody notice? The gateway should raise an alert, matched to this
// run by its id, within two seconds of the fault.
import { Expect, Experiment } from "shiftup"
import { DemoLab } from "shiftup/testing"

const { gateway, auth, alerts } = DemoLab.targets()

export default Experiment.make({
  id: "alerts.auth-outage-detected",
  title: "An auth outage raises an alert within 2 seconds",
  tags: ["demo", "detection"],
  targets: { gateway, auth, alerts },
  budget: { maxTargets: 3, maxConcurrentFaults: 1, maxDuration: "30 seconds" },
  hypothesis: [Expect.that(DemoLab.adminStatus("anonymous"), Expect.oneOf(401, 403))],
  method: [
    // Nothing this run caused has alerted yet.
    Expect.that(DemoLab.alertsOfThisRun(), 0),
    DemoLab.authFault("down"),
    // Traffic that hits the outage; the gateway should alert on it.
    Expect.that(DemoLab.adminStatus("anonymous"), 503),
    Expect.detects(DemoLab.alertsOfThisRun(), Expect.predicate("at least one alert", (n: number) => n >= 1), { within: "2 seconds" }),
  ],
})
