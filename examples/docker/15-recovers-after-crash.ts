// Tutorial 15 — time to recover after a crash, measured by the engine.
//
// `Docker.kill` goes through the engine's API, and Docker does not restart a container it was
// asked to kill. A real crash is different: the process dies on its own (a segfault, the OOM
// killer) and the restart policy brings it back. `Docker.crash` does exactly that: SIGKILL to
// the container's main process from the host (root, engine on this machine; the pid is checked
// to be the container's before it is signalled). Its rollback starts the container if its restart
// policy did not.
//
// `Docker.timeToRecover` follows the engine's events: from the death to the next start — with
// `healthy: true`, to the first `healthy` health report. It is measured between the engine's own
// timestamps, so polling adds nothing. No recovery within `within` is a finding, not an error.
//
//   npm run lab:docker -- up
//   npx shiftup run examples/docker/15-recovers-after-crash.ts
import { Expect, Experiment } from "shiftup"
import * as Docker from "shiftup/docker"
import { DockerLab } from "shiftup/testing"

const auth = Docker.containers("auth", { select: DockerLab.select("auth") })
const { gateway } = DockerLab.httpTargets()

export default Experiment.make({
  id: "examples.docker.recovers-after-crash",
  title: "auth is back and healthy within 10 seconds of a crash",
  tags: ["example", "docker", "resilience"],
  targets: { gateway, auth },
  budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "1 minute" },
  hypothesis: [Expect.that(Docker.health(auth), "healthy")],
  method: [
    Docker.crash(auth),
    // The probe waits (up to 20 s) for the recovery; the check wants it under 10 s.
    Expect.that(Docker.timeToRecover(auth, { within: "20 seconds", healthy: true }), Expect.range(0, 10_000)),
    // Back for Docker is not yet back for users: the gateway must admit the admin again too.
    Expect.eventually(DockerLab.adminStatus("admin"), 200, { within: "10 seconds" }),
  ],
})
