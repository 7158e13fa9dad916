/**
 * Where experiments and examples find a running Docker lab — without container ids.
 *
 * Convention (environment variables, read when called; the defaults are what
 * `npm run lab:docker -- up` starts, so `npx shiftup run experiments/docker` needs no setup):
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `SHIFTUP_DOCKER_LAB` | the lab's run id; its compose project is `projectOf(runId)` | `demo` (project `shiftup-lab-demo`) |
 * | `SHIFTUP_DOCKER_LAB_PORT` | the gateway's host port on 127.0.0.1; the detector is on the next one | `47280` (detector `47281`) |
 *
 * Containers are selected by their compose labels (`com.docker.compose.project` = the lab's
 * project, `com.docker.compose.service` = `auth`, `gateway`, `detector`), so the policy
 * classifies them from their own `shiftup.env=lab` label. The HTTP targets carry the same label
 * as an inventory fact about the service behind the URL. Nothing here declares `environment`.
 *
 * This module loads no Docker client: it only names selectors; `shiftup/docker` resolves them.
 */
import { Effect } from "effect"
import * as Http from "../../Http.ts"
import * as Probe from "../../Probe.ts"
import { RunContext } from "../../RunContext.ts"
import type { Selector } from "../../docker/targets.ts"
import { defaultCredentials, labLabels, projectOf, type LabService } from "./lab.ts"
import { observeOf } from "../../internal/capability.ts"
import type { HttpResponse } from "../../internal/http.ts"


/** The lab's run id. */
export const runIdVariable = "SHIFTUP_DOCKER_LAB"
/** The gateway's host port (the detector's is the next one). */
export const portVariable = "SHIFTUP_DOCKER_LAB_PORT"
/** What `npm run lab:docker -- up` uses when given no `--run-id`. */
export const defaultRunId = "demo"
/** What `npm run lab:docker -- up` uses when given no `--base`. */
export const defaultPort = 47280

export interface LabAddress {
  readonly runId: string
  /** The compose project label of the lab's containers. */
  readonly project: string
  readonly ports: { readonly gateway: number; readonly detector: number }
  readonly urls: { readonly gateway: string; readonly detector: string }
}

/** The lab the environment points at (see the table above). */
export const address = (env: Readonly<Record<string, string | undefined>> = process.env): LabAddress => {
  const runId = env[runIdVariable]?.trim() || defaultRunId
  const raw = env[portVariable]?.trim()
  const gateway = raw === undefined || raw === "" ? defaultPort : Number(raw)
  if (!Number.isInteger(gateway) || gateway < 1 || gateway > 65_534) throw new Error(`${portVariable} must be a port number (1–65534), got "${raw}"`)
  return {
    runId,
    project: projectOf(runId),
    ports: { gateway, detector: gateway + 1 },
    urls: { gateway: `http://127.0.0.1:${gateway}`, detector: `http://127.0.0.1:${gateway + 1}` },
  }
}

/**
 * The selector of one lab service, by compose labels (no name, no id).
 *
 * @example
 * const auth = Docker.containers("auth", { select: DockerLab.select("auth") })
 */
export const select = (service: LabService, env?: Readonly<Record<string, string | undefined>>): Selector => ({ compose: { project: address(env).project, service } })

/**
 * How long a probe of the lab waits for an answer. The gateway forks a shell per request and
 * waits out auth's timeout: a burst of five on a busy 2-core machine can take over 2 s to be
 * answered, which is the lab being slow, not the gateway failing closed or open.
 */
const labTimeoutMs = 8000

/** The lab's HTTP targets: the gateway and the detector, labelled as the lab's containers are. */
export const httpTargets = (env?: Readonly<Record<string, string | undefined>>) => {
  const lab = address(env)
  const facts = (service: LabService) => ({ labels: labLabels(lab.runId, service) })
  return {
    gateway: Http.target("gateway", { url: lab.urls.gateway, owner: "platform-team", facts: facts("gateway"), timeoutMs: labTimeoutMs }),
    detector: Http.target("detector", { url: lab.urls.detector, owner: "security-team", facts: facts("detector"), timeoutMs: labTimeoutMs }),
  }
}

const authorization = `Basic ${Buffer.from(`${defaultCredentials.user}:${defaultCredentials.password}`).toString("base64")}`

/** Status of the gateway's /admin, anonymously or with the lab's basic-auth credentials. */
export const adminStatus = (as: "anonymous" | "admin") =>
  Probe.status(httpTargets().gateway, "/admin", {
    id: `GET /admin as ${as}`,
    ...(as === "admin" ? { headers: { authorization } } : {}),
  })

const runIdTime = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})-/

/** When a run began, from its id (`20250101T120000-abcdef`, UTC, to the second); undefined for another id. */
const runStartS = (runId: string): number | undefined => {
  const m = runIdTime.exec(runId)
  if (m === null) return undefined
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number]
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000
}

/**
 * The detector's alerts about an open `port` raised since this run began: its `/alerts` lines
 * (`<epoch seconds> open <address>:<port>`) that end in `:<port>` and are not older than the run
 * (the detector keeps earlier runs' alerts). Outside a run, every such line.
 *
 * @example
 * Expect.detects(DockerLab.portAlerts(4444), DockerLab.someAlert, { within: "10 seconds" })
 */
export const portAlerts = (port: number) => {
  const { detector } = httpTargets()
  const alerts = Probe.http(detector, "/alerts", { id: `detector alerts about :${port}` })
  return Probe.make({
    id: `detector alerts about :${port} since the run began`,
    target: detector,
    observe: Effect.gen(function* () {
      const from = runStartS((yield* RunContext).runId) ?? 0
      const r = yield* observeOf<HttpResponse>(alerts)
      return r.body
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.endsWith(`:${port}`) && Number(l.split(" ")[0]) >= from)
    }),
  })
}

/** Matches a non-empty list of alert lines. */
export const someAlert = { describe: "at least one alert", test: (lines: ReadonlyArray<string>) => lines.length > 0 }
