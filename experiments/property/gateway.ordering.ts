// Does the gateway fail closed whatever the order of outages? Hand-written experiments test one
// outage at a time; this property lets fast-check draw schedules of up to three outages from a
// catalogue of four (auth down, auth erroring, the session cache down, the alert sink down),
// overlapping and ending in any order, and shrinks any schedule that opens the admin page to the
// smallest one that still does. The demo lab has such a bug: auth recovering while the cache is
// still down. Run it: `npx shiftup run experiments/property/gateway.ordering.ts` (it starts a
// fresh lab for every schedule; the replay line it prints reruns the minimal one).
import { Expect, Property } from "shiftup"
import { DemoLab, labResource, type LabOptions } from "shiftup/testing"

/** The property; `lab: "running"` uses a demo lab that is already up instead of one per schedule. */
export const gatewayOrdering = (lab: LabOptions | "running" = {}) => {
  const { gateway, auth, cache, alerts } = DemoLab.targets()
  const anonymous = DemoLab.adminStatus("anonymous")
  return Property.make({
    id: "gateway.fails-closed.any-outage-order",
    title: "The gateway fails closed whatever the order of outages",
    tags: ["auth", "fail-closed", "property"],
    targets: { gateway, auth, cache, alerts },
    // A fresh lab for every schedule: each run starts from the same baseline.
    ...(lab === "running" ? {} : { resources: { lab: labResource(lab) } }),
    faults: {
      "auth-down": DemoLab.authFault("down"),
      "auth-error": DemoLab.authFault("error"),
      "cache-down": DemoLab.serviceFault("cache"),
      "alerts-down": DemoLab.serviceFault("alerts"),
    },
    hypothesis: [Expect.that(anonymous, Expect.oneOf(401, 403))],
    invariants: [Expect.that(anonymous, Expect.oneOf(401, 403, 503), { severity: "critical", remediation: "Never serve the admin page from a fallback that bypasses auth." })],
    schedule: { maxFaults: 3, window: "600 millis", tick: "50 millis" },
    runs: 60,
    timeLimit: "3 minutes",
  })
}

export default gatewayOrdering()
