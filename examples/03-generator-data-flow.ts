// Tutorial 3 — generator form: one step's output feeds a later step.
//
// A declarative `method` is a fixed list. When a later step depends on what an earlier one
// observed, write the method as a generator: `yield*` a probe and you get its typed value back,
// then build the next check (or decide to stop) from it.
//
// Here we first fetch the admin page *as an admin* and keep its exact content. Then we break auth
// and require that no anonymous response ever contains that content: whatever the gateway serves
// while auth is down, it must not be the admin page.
//
// Run it (with a demo lab on SHIFTUP_LAB_PORT, see examples/01-first-experiment.ts):
//   npm run shiftup -- run examples/03-generator-data-flow.ts
import { Expect, Experiment, Probe } from "shiftup"
import { adminToken, DemoLab } from "shiftup/testing"

const { gateway, auth, alerts } = DemoLab.targets()

// `Probe.http` returns the whole exchange, typed: { status, headers, body, ms }.
const adminPage = Probe.http(gateway, "/admin", { id: "GET /admin as admin", headers: { authorization: `Bearer ${adminToken}` } })
// `Probe.map` turns a probe into one with a narrower value: here, only the anonymous body.
const anonymousBody = Probe.map(Probe.http(gateway, "/admin"), (r) => r.body, "body of GET /admin as anonymous")

export default Experiment.gen(
  {
    id: "examples.generator-data-flow",
    title: "While auth is down, no anonymous response contains the admin page",
    tags: ["example"],
    targets: { gateway, auth, alerts },
    // The manifest. A generator can decide at run time what to inject, so the plan cannot list
    // its faults; instead it declares which targets it may inject into, and up to which safety
    // class. The policy decides on this manifest before the run, and every `ctx.inject` is checked
    // again against it, the policy and the budget (OutsideManifest, TargetRefused, BudgetExceeded).
    mayInject: { auth: "disrupt" },
    budget: { maxTargets: 3, maxConcurrentFaults: 1, maxDuration: "20 seconds" },
    hypothesis: [Expect.that(DemoLab.adminStatus("anonymous"), Expect.oneOf(401, 403))],
    recovery: [Expect.recovers(DemoLab.adminStatus("admin"), 200, { within: "5 seconds" })],
  },
  function* (ctx) {
    // 1. Observe. `before` is an HttpResponse; the observation is recorded in the journal.
    const before = yield* ctx.observe(adminPage)
    const secret = before.body // e.g. {"page":"admin console"}

    // 2. Inject. Ledgered first, rolled back automatically when the method ends (or fails).
    yield* ctx.inject(DemoLab.authFault("down"))

    // 3. A check built from the value observed in step 1. `ctx.check` returns whether it held;
    //    a violation is already recorded as a finding, so here we only decide what to do next.
    const closed = yield* ctx.check(
      Expect.during(
        anonymousBody,
        Expect.predicate(`does not contain the admin page (${secret.length} bytes)`, (body: string) => !body.includes(secret)),
        { samples: 4, burst: 2, severity: "critical" },
      ),
    )

    // 4. Branch on it: only a gateway that stayed closed is worth timing for detection.
    if (!closed) return
    yield* ctx.check(Expect.detects(DemoLab.alertsOfThisRun(), Expect.predicate("an alert", (n: number) => n >= 1), { within: "2 seconds" }))
  },
)
