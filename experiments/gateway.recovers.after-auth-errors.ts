// Generator form: one probe's output feeds a later step. We record how the admin page answers
// before the fault, break auth with 500s, and require the very same answer again once rolled back.
import { Expect, Experiment } from "shiftup"
import { DemoLab } from "shiftup/testing"

const { gateway, auth } = DemoLab.targets()

export default Experiment.gen(
  {
    id: "gateway.recovers.after-auth-errors",
    title: "The gateway denies while auth errors, and serves admins again after",
    tags: ["demo", "auth", "recovery"],
    targets: { gateway, auth },
    mayInject: { auth: "disrupt" },
    budget: { maxConcurrentFaults: 1, maxDuration: "30 seconds" },
    recovery: [Expect.recovers(DemoLab.adminStatus("admin"), 200, { within: "5 seconds" })],
  },
  function* (ctx) {
    const before = yield* ctx.observe(DemoLab.adminStatus("admin"))
    yield* ctx.inject(DemoLab.authFault("error"))
    yield* ctx.check(Expect.during(DemoLab.adminStatus("admin"), Expect.never(before), { samples: 3 }))
  },
)
