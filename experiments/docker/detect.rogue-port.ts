// A new listener on a watched port appears on the lab network (a backdoor, a debug server left
// on): does the security monitor notice, and how fast? The time-to-detect is measured from the
// injection and recorded in the journal.
import { Expect, Experiment } from "shiftup"
import * as Docker from "shiftup/docker"
import { DockerLab } from "shiftup/testing"

// The rogue listener joins the network of this container; the detector is the one watching.
const gatewayContainer = Docker.containers("gateway-container", { select: DockerLab.select("gateway") })
const { detector } = DockerLab.httpTargets()
const port = 4444

export default Experiment.make({
  id: "detect.rogue-port",
  title: "A rogue open port on the lab network is detected within 10 seconds",
  tags: ["docker", "detection"],
  targets: { gatewayContainer, detector },
  budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "1 minute" },
  method: [
    // Nothing about :4444 since this run began (the detector keeps older runs' alerts). A step of
    // the method, not the hypothesis: after rollback the alert this run caused is still listed.
    Expect.that(DockerLab.portAlerts(port), Expect.predicate("no alert yet", (lines: ReadonlyArray<string>) => lines.length === 0)),
    Docker.rogueListener(gatewayContainer, { port }),
    Expect.detects(DockerLab.portAlerts(port), DockerLab.someAlert, {
      within: "10 seconds",
      every: "100 millis",
      severity: "high",
      remediation: "Make the monitor scan the service networks for unexpected listeners, and alert on each new one.",
    }),
  ],
})
