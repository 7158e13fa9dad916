// Tutorial 14 — time to detect: does the monitor notice a new open port?
//
// `Docker.rogueListener` starts a small labelled container listening on a port, on the same
// Docker network as the target container (and published on 127.0.0.1). The lab's detector scans
// that network for watched ports (4444, 6666, 31337) and lists what it finds at /alerts.
// `Expect.detects` polls a probe until it matches and records the time since the injection as
// `time-to-detect` in the journal (and fails with the measured time when it is too slow).
//
//   npm run lab:docker -- up
//   npx shiftup run examples/docker/14-rogue-port-detection.ts
import { Expect, Experiment } from "shiftup"
import * as Docker from "shiftup/docker"
import { DockerLab } from "shiftup/testing"

// The rogue listener's target is the container whose network it joins: the policy and the
// budget are checked against that container (a `disrupt` step, so only staging or lab).
const gatewayContainer = Docker.containers("gateway-container", { select: DockerLab.select("gateway") })
const { detector } = DockerLab.httpTargets()

export default Experiment.make({
  id: "examples.docker.rogue-port-detection",
  title: "A listener on port 6666 next to the gateway is reported within 10 seconds",
  tags: ["example", "docker", "detection"],
  targets: { gatewayContainer, detector },
  budget: { maxTargets: 2, maxConcurrentFaults: 1, maxDuration: "1 minute" },
  method: [
    // The detector keeps old alerts: count only this run's (its alerts carry a time, the run id
    // says when the run began). None yet.
    Expect.that(DockerLab.portAlerts(6666), Expect.predicate("no alert yet", (lines: ReadonlyArray<string>) => lines.length === 0)),
    // The fault: rollback removes every container labelled with this run and fault.
    Docker.rogueListener(gatewayContainer, { port: 6666 }),
    // Time-to-detect, measured from the injection.
    Expect.detects(DockerLab.portAlerts(6666), DockerLab.someAlert, { within: "10 seconds", every: "100 millis" }),
  ],
})
