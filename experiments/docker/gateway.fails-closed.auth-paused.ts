// Does the gateway fail closed when the auth container freezes? A paused container accepts no
// work: the gateway's auth call times out, and then /admin must be refused (503) — even to a
// caller with valid credentials — never served. Runs against the Docker lab
// (`npm run lab:docker -- up`; see DockerLab in shiftup/testing for SHIFTUP_DOCKER_LAB*).
import { Expect, Experiment } from "shiftup"
import * as Docker from "shiftup/docker"
import { DockerLab } from "shiftup/testing"

// Found by compose labels, classified `lab` by the container's own `shiftup.env=lab` label.
const auth = Docker.containers("auth", { select: DockerLab.select("auth") })
const { gateway } = DockerLab.httpTargets()

export default Experiment.make({
  id: "gateway.fails-closed.auth-paused",
  title: "The gateway fails closed when the auth container is paused",
  tags: ["docker", "fail-closed"],
  targets: { gateway, auth },
  budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "1 minute" },
  hypothesis: [Expect.that(DockerLab.adminStatus("admin"), 200), Expect.that(DockerLab.adminStatus("anonymous"), 401)],
  method: [
    Docker.pause(auth),
    // A burst of authenticated requests while auth is frozen: each waits out the gateway's auth
    // timeout (500 ms), and not one may get through.
    Expect.during(DockerLab.adminStatus("admin"), Expect.never(200), {
      samples: 4,
      burst: 5,
      severity: "critical",
      cwe: "CWE-636",
      remediation: "Deny the request when the auth service does not answer in time; never treat a timeout as a pass.",
    }),
  ],
  recovery: [Expect.eventually(DockerLab.adminStatus("admin"), 200, { within: "10 seconds" })],
})
