// Does the gateway fail closed when the auth service is down? (It should: 503, never 200.)
import { Expect, Experiment } from "shiftup"
import { DemoLab } from "shiftup/testing"

const { gateway, auth } = DemoLab.targets()

export default Experiment.make({
  id: "gateway.fails-closed.auth-down",
  title: "The gateway fails closed when the auth service is down",
  tags: ["demo", "auth", "fail-closed"],
  targets: { gateway, auth },
  budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "30 seconds" },
  hypothesis: [
    Expect.that(DemoLab.adminStatus("anonymous"), Expect.oneOf(401, 403)),
    Expect.that(DemoLab.adminStatus("admin"), 200),
  ],
  method: [
    DemoLab.authFault("down"),
    Expect.during(DemoLab.adminStatus("anonymous"), Expect.never(200), {
      samples: 5,
      burst: 4,
      severity: "critical",
      remediation: "Deny the request when the auth service cannot be reached.",
    }),
  ],
  recovery: [Expect.eventually(DemoLab.adminStatus("admin"), 200, { within: "5 seconds" })],
})
