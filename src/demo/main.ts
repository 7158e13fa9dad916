/**
 * `npm run demo`: starts the embedded staging lab on loopback and runs the catalogue in
 * `experiments/` against it through the real CLI, then says what held and what failed.
 * No Docker, no setup. The lab has one planted weakness; the demo must find it.
 */
import { fileURLToPath } from "node:url"
import { main } from "../cli/main.ts"
import { startLab } from "../testing/lab.ts"

const experiments = fileURLToPath(new URL("../../experiments/", import.meta.url))

const lab = await startLab()
process.stdout.write(
  `shiftup demo — a staging lab is running on loopback:\n  gateway ${lab.urls.gateway}  auth ${lab.urls.auth}  alerts ${lab.urls.alerts}  fault switch ${lab.urls.control}/faults\n` +
    `  It has ONE planted security weakness. Let's see whether the experiments find it.\n\n`,
)
const controller = new AbortController()
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => controller.abort(sig))
const code = await main(["run", experiments, "--tag", "demo"], { signal: controller.signal })
await lab.close()

if (code === 1) {
  process.stdout.write(
    `\nThe demo found the planted weakness: the gateway fails OPEN when the auth service is slow\n` +
      `(its auth call times out and it serves /admin anyway). Every fault was rolled back; the lab's\n` +
      `auth mode is "${lab.authMode()}" again. Journals are in .shiftup/journals/.\n` +
      `Next: read experiments/gateway.fails-closed.auth-slow.ts, then write your own (README.md).\n`,
  )
  process.exit(0)
}
process.stderr.write(`\nshiftup demo: expected exactly one finding (exit 1) but the runs ended with exit ${code}; see the output above.\n`)
process.exit(code === 0 ? 1 : code)
