// The auth process dies (a segfault, the OOM killer): does the service come back by itself, and
// how fast? Docker.crash SIGKILLs the container's process from the host, so the engine applies
// the restart policy; the time to recover is measured between the engine's own events, from the
// death to the first `healthy` report. Not recovering in time is a finding.
import { Expect, Experiment } from "shiftup"
import * as Docker from "shiftup/docker"
import { DockerLab } from "shiftup/testing"

const auth = Docker.containers("auth", { select: DockerLab.select("auth") })
const { gateway } = DockerLab.httpTargets()

export default Experiment.make({
  id: "service.recovers-after-crash",
  title: "The auth service recovers after a crash within 10 seconds",
  tags: ["docker", "resilience"],
  targets: { gateway, auth },
  budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "1 minute" },
  hypothesis: [Expect.that(Docker.running(auth), true), Expect.that(DockerLab.adminStatus("admin"), 200)],
  method: [
    Docker.crash(auth),
    Expect.that(Docker.timeToRecover(auth, { within: "20 seconds", healthy: true }), Expect.range(0, 10_000), {
      severity: "high",
      remediation: "Run auth with a restart policy (or an orchestrator) and a health check, so a crash heals itself.",
    }),
  ],
  // And the gateway serves the admin page again: recovered for its users too, not just for Docker.
  recovery: [Expect.eventually(DockerLab.adminStatus("admin"), 200, { within: "10 seconds" })],
})
