/** The experiments the user-style suites run against the demo lab (built after the lab's port is set). */
import { Expect, Experiment, Step } from "shiftup"
import { DemoLab } from "shiftup/testing"

export const build = () => {
  const { gateway, auth, alerts } = DemoLab.targets()
  const anonymous = DemoLab.adminStatus("anonymous")

  const authDown = Experiment.make({
    id: "vitest.gateway.fails-closed.auth-down",
    title: "The gateway fails closed when auth is down",
    targets: { gateway, auth },
    budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "20 seconds" },
    hypothesis: [Expect.that(anonymous, Expect.oneOf(401, 403))],
    method: [DemoLab.authFault("down"), Expect.during(anonymous, Expect.never(200), { samples: 3, every: "20 millis", severity: "critical" })],
    recovery: [Expect.recovers(anonymous, Expect.oneOf(401, 403), { within: "3 seconds" })],
  })

  /** The lab's planted weakness: a slow auth service makes the gateway fail OPEN. */
  const authSlow = Experiment.make({
    id: "vitest.gateway.fails-closed.auth-slow",
    title: "The gateway fails closed when auth is slow",
    targets: { gateway, auth },
    budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "20 seconds" },
    hypothesis: [Expect.that(anonymous, Expect.oneOf(401, 403))],
    method: [
      DemoLab.authFault("slow"),
      Expect.during(anonymous, Expect.never(200), { samples: 1, severity: "critical", remediation: "Treat an auth timeout as a denial (fail closed), and alert on it." }),
    ],
    recovery: [Expect.recovers(anonymous, Expect.oneOf(401, 403), { within: "5 seconds" })],
  })

  /** Generator form: an outage is detected by the alert sink. */
  const detected = Experiment.gen(
    {
      id: "vitest.alerts.auth-outage-detected",
      title: "An auth outage raises an alert within 2 seconds",
      targets: { gateway, auth, alerts },
      mayInject: { auth: "disrupt" },
      budget: { maxTargets: 3, maxConcurrentFaults: 1, maxDuration: "20 seconds" },
      hypothesis: [Expect.that(anonymous, Expect.oneOf(401, 403))],
    },
    function* (ctx) {
      yield* ctx.inject(DemoLab.authFault("down"))
      yield* ctx.check(Expect.that(anonymous, 503))
      yield* ctx.check(Expect.detects(DemoLab.alertsOfThisRun(), Expect.predicate("at least one alert", (n: number) => n >= 1), { within: "2 seconds" }))
    },
  )

  /** Holds auth down for far longer than the test that runs it allows. */
  const longOutage = Experiment.make({
    id: "vitest.long-outage",
    title: "Auth stays down for 20 seconds",
    targets: { gateway, auth },
    budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "60 seconds" },
    method: [DemoLab.authFault("down"), Step.wait("20 seconds")],
  })

  return { authDown, authSlow, detected, longOutage }
}
