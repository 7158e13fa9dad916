/**
 * The Docker lab from the command line:
 *
 *   npx tsx src/demo/docker-lab.ts build                 build the lab images (idempotent; CI prebuilds with it)
 *   npx tsx src/demo/docker-lab.ts up [--fail-open] [--run-id ID] [--base PORT]
 *                                                        start a lab, print its URLs, leave it running;
 *                                                        default run id `demo`, gateway on 127.0.0.1:47280 and
 *                                                        detector on 47281: what experiments/docker finds
 *                                                        with no SHIFTUP_DOCKER_LAB / SHIFTUP_DOCKER_LAB_PORT
 *   npx tsx src/demo/docker-lab.ts down [ID]             remove the lab of run ID (default: every Docker lab)
 *
 * Exit codes: 0 done, 1 failed (the engine is down, busybox is missing…), 2 usage.
 */
import { pathToFileURL } from "node:url"
import { Effect } from "effect"
import * as Engine from "../docker/engine.ts"
import { ensureImageMap } from "../testing/docker/images.ts"
import { reapLab, startDockerLab } from "../testing/docker/lab.ts"
import { defaultPort, defaultRunId, portVariable, runIdVariable } from "../testing/docker/targets.ts"

const usage = "usage: docker-lab build | up [--fail-open] [--run-id ID (default demo)] [--base PORT (default 47280)] | down [RUN-ID]\n"

const describe = (e: unknown): string => {
  if (typeof e === "object" && e !== null && "_tag" in e) {
    const x = e as { _tag: string; message?: string; op?: string; detail?: string; unreachable?: boolean }
    if (x._tag === "DockerLabError") return x.message ?? "lab error"
    if (x._tag === "EngineCallError") return `${x.op}: ${x.detail}${x.unreachable === true ? " (is dockerd running? start it with `setsid dockerd --host unix:///var/run/docker.sock > /tmp/dockerd.log 2>&1 &`)" : ""}`
  }
  return e instanceof Error ? e.message : String(e)
}


/** Runs the CLI with `argv` (without node and the script); resolves with the exit code. */
export const main = async (argv: ReadonlyArray<string>, out: (s: string) => void = (s) => void process.stdout.write(s)): Promise<number> => {
  const [command, ...rest] = argv
  const flag = (name: string) => rest.includes(name)
  const option = (name: string) => {
    const i = rest.indexOf(name)
    return i === -1 ? undefined : rest[i + 1]
  }
  const engine = Engine.make()
  const run = async <A>(effect: Effect.Effect<A, unknown>): Promise<A | undefined> => {
    const exit = await Effect.runPromiseExit(effect)
    if (exit._tag === "Success") return exit.value
    const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
    process.stderr.write(`docker-lab: ${describe(failure?._tag === "Fail" ? failure.error : exit.cause)}\n`)
    return undefined
  }
  try {
    switch (command) {
      case "build": {
        const started = performance.now()
        const images = await run(
          ensureImageMap(engine, { onImage: (s, built, ms) => out(`  ${built ? "built  " : "present"} ${s.ref.padEnd(40)} ${ms.toFixed(0)} ms\n`) }),
        )
        if (images === undefined) return 1
        out(`docker lab images ready (${Object.keys(images).length}) in ${(performance.now() - started).toFixed(0)} ms\n`)
        return 0
      }
      case "up": {
        const runId = option("--run-id") ?? defaultRunId
        const base = option("--base") ?? String(defaultPort)
        const started = performance.now()
        const lab = await run(startDockerLab(engine, { runId, failOpen: flag("--fail-open"), publishBase: Number(base) }))
        if (lab === undefined) return 1
        out(
          `docker lab up in ${(performance.now() - started).toFixed(0)} ms (run ${runId}${lab.failOpen ? ", gateway FAILS OPEN on auth timeouts" : ""}):\n` +
            `  gateway  ${lab.urls.gateway}   admin ${lab.urls.admin}   health ${lab.urls.health}\n` +
            `  detector ${lab.urls.detector}   alerts ${lab.urls.alerts}\n` +
            `  credentials: Authorization: ${lab.credentials.authorization}   (${lab.credentials.user}:${lab.credentials.password})\n` +
            `  containers: ${Object.values(lab.names).join(", ")} on network ${lab.network.name}\n` +
            (runId === defaultRunId && lab.ports.gateway === defaultPort
              ? `  run the Docker catalogue against it: npx shiftup run experiments/docker\n`
              : `  run the Docker catalogue against it: ${runIdVariable}=${runId} ${portVariable}=${lab.ports.gateway} npx shiftup run experiments/docker\n`) +
            `  stop it with: npx tsx src/demo/docker-lab.ts down ${runId}\n`,
        )
        return 0
      }
      case "down": {
        const runId = rest[0]
        const runs =
          runId !== undefined
            ? [runId]
            : await run(Effect.map(engine.list({ all: true, labels: ["shiftup.lab=1", "shiftup.env=lab"] }), (cs) => [...new Set(cs.map((c) => c.labels["shiftup.run"] ?? "").filter((r) => r !== ""))]))
        if (runs === undefined) return 1
        let removed = 0
        for (const r of runs) {
          const n = await run(reapLab(engine, r))
          if (n === undefined) return 1
          removed += n
        }
        out(`docker lab down: removed ${removed} container(s)/network(s) of ${runs.length} run(s)\n`)
        return 0
      }
      default:
        process.stderr.write(usage)
        return 2
    }
  } finally {
    engine.close()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2))
}
