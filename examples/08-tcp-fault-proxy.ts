// A TCP fault proxy in the path: the gateway fails closed when its auth upstream is SLOW
// (latency beyond the gateway's 300 ms auth timeout), not only when it is down.
//
// `Net.proxy` fronts the auth service and is classified like it (staging here; a proxy in front
// of a production data store is refused like the store). The gateway is routed through it,
// then a latency toxic slows every answer from auth by a second. Each toxic is a core fault:
// ledgered before it is applied, removed on rollback. Against the demo lab this finds the
// planted weakness — the gateway treats an auth timeout as "allow" — so this file is tagged
// `finding` (the CLI exits 1).
import { Expect, Experiment } from "shiftup"
import * as Net from "shiftup/net"
import { DemoLab } from "shiftup/testing"

const { gateway, auth } = DemoLab.targets()

// Listens on a free loopback port once the first fault needs it (nothing happens at import).
const authProxy = Net.proxy({ upstream: auth })

const anonymousAdmin = DemoLab.adminStatus("anonymous")

export default Experiment.make({
  id: "examples.tcp-fault-proxy",
  title: "The gateway fails closed when its auth upstream is slower than its timeout",
  tags: ["example", "net", "finding"],
  targets: { gateway, authProxy },
  budget: { maxTargets: 2, maxConcurrentFaults: 2, maxDuration: "30 seconds" },

  hypothesis: [Expect.that(anonymousAdmin, Expect.oneOf(401, 403))],

  method: [
    DemoLab.routeAuthThrough(async () => (await authProxy.listen()).port),
    // Through the proxy with no toxic, nothing changes.
    Expect.that(anonymousAdmin, Expect.oneOf(401, 403), { id: "GET /admin as anonymous, through the proxy" }),
    Net.latency(authProxy, { ms: 1000, jitter: 100 }),
    Expect.during(anonymousAdmin, Expect.never(200), {
      samples: 3,
      severity: "critical",
      remediation: "Treat an auth timeout as a denial (fail closed), and alert on it.",
    }),
  ],

  recovery: [Expect.recovers(anonymousAdmin, Expect.oneOf(401, 403), { within: "5 seconds" })],
})
