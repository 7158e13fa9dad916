/**
 * `npm run lab`: starts the embedded demo lab alone and keeps it up until Ctrl-C, so you can
 * run experiments at it by hand (`npm run shiftup -- run examples/01-first-experiment.ts`).
 */
import { startLab } from "../testing/lab.ts"

const lab = await startLab()
process.stdout.write(
  `demo lab up (staging, loopback only):\n  gateway ${lab.urls.gateway}\n  auth    ${lab.urls.auth}\n  alerts  ${lab.urls.alerts}\n  faults  ${lab.urls.control}/faults\nCtrl-C to stop.\n`,
)
const stop = () => void lab.close().then(() => process.exit(0))
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(sig, stop)
