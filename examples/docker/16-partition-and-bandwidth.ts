// Tutorial 16 — network faults: a thin link, then a partition.
//
// Both act inside the container's network namespace from the host (`nsenter -t <pid> -n`, root
// needed), so the image needs no tools: `Docker.bandwidth` adds a `tbf` qdisc (what auth sends is
// rate-limited), `Docker.partition` inserts iptables rules tagged with the run and fault ids.
// Rollback removes exactly what the fault added. (No `netem` in this kernel: for latency and
// jitter put a `shiftup/net` proxy in the path.)
//
// Faults stack: both are active at the end of the method, and rolled back in reverse order.
//
//   npm run lab:docker -- up
//   npx shiftup run examples/docker/16-partition-and-bandwidth.ts
import { Expect, Experiment } from "shiftup"
import * as Docker from "shiftup/docker"
import { DockerLab } from "shiftup/testing"

const auth = Docker.containers("auth", { select: DockerLab.select("auth") })
const gatewayContainer = Docker.containers("gateway-container", { select: DockerLab.select("gateway") })
const { gateway } = DockerLab.httpTargets()

export default Experiment.make({
  id: "examples.docker.partition-and-bandwidth",
  title: "A thin link to auth still works; a partition between gateway and auth fails closed",
  tags: ["example", "docker", "network", "fail-closed"],
  targets: { gateway, gatewayContainer, auth },
  budget: { maxTargets: 3, maxConcurrentFaults: 2, maxDuration: "1 minute" },
  hypothesis: [Expect.that(DockerLab.adminStatus("admin"), 200)],
  method: [
    // 1. Degraded, not broken: auth's answers are tiny, so 256 kbit/s is still plenty.
    Docker.bandwidth(auth, { rate: "256kbit" }),
    Expect.that(DockerLab.adminStatus("admin"), 200),
    // 2. Cut auth off from the gateway only (peers: a container target, resolved to its addresses
    //    when the fault is injected). `reject` answers with a TCP reset: the gateway fails fast.
    Docker.partition(auth, { direction: "ingress", peers: [gatewayContainer], action: "reject" }),
    Expect.during(DockerLab.adminStatus("admin"), Expect.never(200), { samples: 3, burst: 4, severity: "critical" }),
  ],
  recovery: [Expect.eventually(DockerLab.adminStatus("admin"), 200, { within: "10 seconds" })],
})
