// Tutorial 13 — your first Docker experiment: fail closed while a container is frozen.
//
// The Docker lab is a small "staging" system of real containers: an auth service, a gateway that
// asks auth about every /admin request (basic auth), and a security monitor. Start it with
//   npm run lab:docker -- up          (run id `demo`, gateway on 127.0.0.1:47280)
// and run this file with
//   npx shiftup run examples/docker/13-pause-fail-closed.ts
// Another lab? Set SHIFTUP_DOCKER_LAB=<its run id> and SHIFTUP_DOCKER_LAB_PORT=<its gateway port>.
import { Expect, Experiment } from "shiftup"
import * as Docker from "shiftup/docker"
import { DockerLab } from "shiftup/testing"

// Step 1 — targets. A container target is a selector, resolved when the run is planned. Here it
// selects by Docker Compose labels (project + service), as you would in your own compose stack:
// no container names or ids in the experiment.
const auth = Docker.containers("auth", { select: DockerLab.select("auth") })
// The gateway is observed over HTTP, on the port the lab publishes on 127.0.0.1.
const { gateway } = DockerLab.httpTargets()

// Step 2 — note what is NOT here: `environment`. The policy reads it from the container's own
// label `shiftup.env=lab`; `shiftup plan` prints "auth lab (label)". Remove that label from a
// container and the run is refused before anything is touched (unknown counts as production).

export default Experiment.make({
  id: "examples.docker.pause-fail-closed",
  title: "While auth is paused, /admin is refused even with valid credentials",
  tags: ["example", "docker", "fail-closed"],
  targets: { gateway, auth },
  budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "1 minute" },
  // Step 3 — the steady state: credentials open /admin, no credentials do not.
  hypothesis: [Expect.that(DockerLab.adminStatus("admin"), 200), Expect.that(DockerLab.adminStatus("anonymous"), 401)],
  method: [
    // Step 4 — the fault: the cgroup freezer stops every process of auth. Its compensation
    // (unpause) is written to the ledger before the pause, and runs whatever happens next.
    Docker.pause(auth),
    // Step 5 — the defence: 3 rounds of 4 concurrent requests; not one may be served.
    Expect.during(DockerLab.adminStatus("admin"), Expect.never(200), { samples: 3, burst: 4, severity: "critical" }),
  ],
  // Step 6 — after rollback (unpause), the service must work again.
  recovery: [Expect.eventually(DockerLab.adminStatus("admin"), 200, { within: "10 seconds" })],
})
