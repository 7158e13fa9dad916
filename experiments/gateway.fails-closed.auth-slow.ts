// Does the gateway fail closed when the auth service is slow, not down? A timeout is not an
// answer: a gateway that treats it as "allow" is open to anyone who can slow auth down.
import { Expect, Experiment } from "shiftup"
import { DemoLab } from "shiftup/testing"

const { gateway, auth } = DemoLab.targets()

export default Experiment.make({
  id: "gateway.fails-closed.auth-slow",
  title: "The gateway fails closed when the auth service is slow",
  tags: ["demo", "auth", "fail-closed"],
  targets: { gateway, auth },
  budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "30 seconds" },
  hypothesis: [Expect.that(DemoLab.adminStatus("anonymous"), Expect.oneOf(401, 403))],
  method: [
    DemoLab.authFault("slow"),
    Expect.during(DemoLab.adminStatus("anonymous"), Expect.never(200), {
      samples: 3,
      burst: 2,
      severity: "critical",
      remediation: "Treat an auth timeout as a denial (fail closed), and alert on it.",
    }),
  ],
  recovery: [Expect.eventually(DemoLab.adminStatus("anonymous"), Expect.oneOf(401, 403), { within: "5 seconds" })],
})
