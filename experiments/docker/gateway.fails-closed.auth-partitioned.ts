// A network partition: nothing reaches the auth container any more (its packets are dropped, so
// the gateway's calls time out rather than fail fast). The gateway must refuse /admin — to the
// anonymous and to the authenticated alike — and serve it again once the partition heals.
import { Expect, Experiment } from "shiftup"
import * as Docker from "shiftup/docker"
import { DockerLab } from "shiftup/testing"

const auth = Docker.containers("auth", { select: DockerLab.select("auth") })
const { gateway } = DockerLab.httpTargets()

export default Experiment.make({
  id: "gateway.fails-closed.auth-partitioned",
  title: "The gateway fails closed when the auth container is cut off the network",
  tags: ["docker", "fail-closed", "network"],
  targets: { gateway, auth },
  budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "1 minute" },
  hypothesis: [Expect.that(DockerLab.adminStatus("admin"), 200)],
  method: [
    // iptables DROP on everything arriving at auth (loopback excepted), inside its namespace.
    Docker.partition(auth, { direction: "ingress", action: "drop" }),
    Expect.during(DockerLab.adminStatus("admin"), Expect.never(200), { samples: 3, burst: 4, severity: "critical", cwe: "CWE-636" }),
    Expect.during(DockerLab.adminStatus("anonymous"), Expect.oneOf(401, 403, 503), { samples: 3, burst: 4 }),
  ],
  recovery: [Expect.eventually(DockerLab.adminStatus("admin"), 200, { within: "10 seconds" })],
})
