/**
 * `npm run demo:docker`: builds the Docker lab's images (from the host's busybox, no registry),
 * starts the lab (run id `demo`, gateway on 127.0.0.1:47280, detector on 47281 — or what
 * SHIFTUP_DOCKER_LAB / SHIFTUP_DOCKER_LAB_PORT say), runs the catalogue in `experiments/docker/`
 * against it through the real CLI, prints what held with the measured times, and always removes
 * the lab again — also on Ctrl-C. Exits with the worst experiment's exit code.
 *
 * Needs a Docker engine on this machine (`/var/run/docker.sock` or DOCKER_HOST) and root for
 * the faults that act from the host (crash, partition, bandwidth).
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { main } from "../cli/main.ts"
import * as Engine from "../docker/engine.ts"
import type { Journal } from "../Journal.ts"
import { ensureImageMap } from "../testing/docker/images.ts"
import { startDockerLab, type DockerLab } from "../testing/docker/lab.ts"
import { address, portVariable, runIdVariable } from "../testing/docker/targets.ts"

const experiments = fileURLToPath(new URL("../../experiments/docker/", import.meta.url))
const stateDir = resolve(".shiftup")
const out = (s: string) => void process.stdout.write(s)
const err = (s: string) => void process.stderr.write(s)

const describe = (e: unknown): string => {
  if (typeof e === "object" && e !== null && "_tag" in e) {
    const x = e as { _tag: string; message?: string; op?: string; detail?: string; unreachable?: boolean }
    if (x._tag === "EngineCallError") return `${x.op}: ${x.detail}${x.unreachable === true ? " (is dockerd running? see docs for how to start it)" : ""}`
    if (x.message !== undefined) return x.message
  }
  return e instanceof Error ? e.message : String(e)
}

const attempt = async <A>(effect: Effect.Effect<A, unknown>): Promise<{ readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: string }> => {
  const exit = await Effect.runPromiseExit(effect)
  if (exit._tag === "Success") return { ok: true, value: exit.value }
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
  return { ok: false, error: describe(failure?._tag === "Fail" ? failure.error : exit.cause) }
}

/** Journals written since `sinceMs`, oldest first. */
const journalsSince = (sinceMs: number): ReadonlyArray<Journal> => {
  const dir = join(stateDir, "journals")
  let files: ReadonlyArray<string>
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json"))
  } catch {
    return []
  }
  return files
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).mtimeMs >= sinceMs)
    .sort()
    .map((f) => JSON.parse(readFileSync(f, "utf8")) as Journal)
}

const measured = (j: Journal): string => {
  const parts: Array<string> = []
  for (const s of j.steps) {
    if (s.metric?.name === "time-to-detect") parts.push(`time-to-detect ${s.metric.ms} ms`)
    if (s.id.includes("time to recover") && typeof s.observed === "number") parts.push(`time-to-recover ${Math.round(s.observed)} ms (engine events)`)
  }
  return parts.join(", ")
}

const run = async (): Promise<number> => {
  const lab0 = address()
  const engine = Engine.make()
  const controller = new AbortController()
  const onSignal = (sig: NodeJS.Signals) => {
    if (!controller.signal.aborted) err(`\nshiftup demo:docker: ${sig}: stopping, rolling back and removing the lab…\n`)
    controller.abort(sig)
  }
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const
  for (const sig of signals) process.on(sig, onSignal)
  let lab: DockerLab | undefined
  try {
    const existing = await attempt(engine.list({ all: true, labels: [`shiftup.run=${lab0.runId}`, "shiftup.lab=1"] }))
    if (!existing.ok) {
      err(`shiftup demo:docker: no Docker engine: ${existing.error}\n`)
      return 1
    }
    if (existing.value.length > 0) {
      err(
        `shiftup demo:docker: a Docker lab "${lab0.runId}" is already running (${existing.value.map((c) => c.name).join(", ")}).\n` +
          `  Run the catalogue against it with \`npx shiftup run experiments/docker\`, remove it with \`npm run lab:docker -- down ${lab0.runId}\`,\n` +
          `  or give this demo another lab: ${runIdVariable}=<id> ${portVariable}=<port>.\n`,
      )
      return 1
    }
    const t0 = performance.now()
    const images = await attempt(ensureImageMap(engine, { only: ["auth", "gateway", "detector", "rogue"] }))
    if (!images.ok) {
      err(`shiftup demo:docker: could not build the lab images: ${images.error}\n`)
      return 1
    }
    const started = await attempt(startDockerLab(engine, { runId: lab0.runId, publishBase: lab0.ports.gateway }))
    if (!started.ok) {
      err(`shiftup demo:docker: could not start the lab: ${started.error}\n`)
      return 1
    }
    lab = started.value
    out(
      `shiftup demo:docker — a Docker lab is running (images and start ${Math.round(performance.now() - t0)} ms):\n` +
        `  gateway ${lab.urls.gateway} (admin ${lab.urls.admin}, basic auth ${lab.credentials.user}:${lab.credentials.password})\n` +
        `  detector ${lab.urls.detector} (alerts ${lab.urls.alerts})\n` +
        `  containers ${Object.values(lab.names).join(", ")} — compose project ${lab.project}, label shiftup.env=lab\n\n`,
    )
    if (controller.signal.aborted) return 130
    const since = Date.now() - 1000
    const code = await main(["run", experiments, "--state-dir", stateDir], { signal: controller.signal })
    const runs = journalsSince(since)
    out(`\nshiftup demo:docker — ${runs.length} experiment(s) against the Docker lab:\n`)
    for (const j of runs) {
      const m = measured(j)
      out(`  ${j.status.toUpperCase().padEnd(8)} ${j.experiment.id.padEnd(40)} ${String(j.durationMs).padStart(6)} ms${m === "" ? "" : `   ${m}`}\n`)
    }
    out(`  exit ${code}; journals in ${join(stateDir, "journals")}\n`)
    return code
  } finally {
    if (lab !== undefined) {
      const closed = await attempt(lab.close())
      out(closed.ok ? `  the lab was removed (${lab.project}).\n` : "")
      if (!closed.ok) err(`shiftup demo:docker: removing the lab failed: ${closed.error}; run \`npm run lab:docker -- down ${lab.runId}\`\n`)
    }
    engine.close()
    for (const sig of signals) process.off(sig, onSignal)
  }
}

process.exit(await run())
