/**
 * The Docker lab: a small "staging" system of containers built from the local lab images — an
 * auth service, a gateway in front of it, and a security monitor (the detector) — on a bridge
 * network of its own, with the gateway and the detector published on 127.0.0.1 only. Auth and
 * the gateway run with restart policy "always", so they come back after their process dies.
 *
 * Everything a lab creates carries `shiftup.run=<runId>`, `shiftup.lab=1`, `shiftup.env=lab` and
 * compose-like project/service labels; `close()` removes it by id and `reapLab` by label.
 */
import * as http from "node:http"
import { Effect } from "effect"
import type { DockerEngine, EngineCallError } from "../../docker/model.ts"
import { ensureImageMap, labError, type DockerLabError } from "./images.ts"

export interface DockerLabOptions {
  /** The run this lab belongs to: every container and the network carry `shiftup.run=<runId>`. */
  readonly runId: string
  /** Plant the weakness: the gateway serves /admin when auth times out (`FAIL_OPEN_ON_TIMEOUT=1`). */
  readonly failOpen?: boolean
  /** Host ports `publishBase` (gateway) and `publishBase + 1` (detector); default: free ports the engine picks. */
  readonly publishBase?: number
  /** How long the gateway waits for auth; default 500 ms. */
  readonly authTimeoutMs?: number
  /** Ports the detector watches; default 4444, 6666, 31337. */
  readonly watchPorts?: ReadonlyArray<number>
  /** Addresses or names the detector scans instead of sweeping its /24. */
  readonly scanHosts?: ReadonlyArray<string>
  /** The credentials auth accepts; default `admin` / `demo-admin-token`. */
  readonly credentials?: { readonly user: string; readonly password: string }
  /** A name for this lab within its run (several labs per run): names become `shiftup-lab-<short runId>-<name>`. */
  readonly name?: string
  /** How long to wait for the lab to answer; default 20 s. */
  readonly readyTimeoutMs?: number
}

export type LabService = "auth" | "gateway" | "detector"

export interface DockerLab {
  readonly runId: string
  /** `shiftup-lab-<short runId>`: the prefix of every name and the compose project label. */
  readonly project: string
  readonly network: { readonly id: string; readonly name: string }
  /** Container ids. */
  readonly containers: Readonly<Record<LabService, string>>
  /** Container names. */
  readonly names: Readonly<Record<LabService, string>>
  /** Host ports on 127.0.0.1. */
  readonly ports: { readonly gateway: number; readonly detector: number }
  readonly urls: {
    readonly gateway: string
    readonly admin: string
    readonly health: string
    readonly detector: string
    readonly alerts: string
  }
  readonly credentials: { readonly user: string; readonly password: string; /** `Basic …`, the value of an Authorization header. */ readonly authorization: string }
  readonly failOpen: boolean
  readonly authTimeoutMs: number
  readonly watchPorts: ReadonlyArray<number>
  /** The labels every container of this lab carries. */
  readonly labels: (service: string) => Readonly<Record<string, string>>
  /** Image references the lab runs, by service (and `rogue`). */
  readonly images: Readonly<Record<LabService | "rogue", string>>
  /** Starts a rogue listener on the lab network (labelled with the run); resolves with its id. */
  readonly startRogue: (options?: { readonly port?: number; readonly name?: string }) => Effect.Effect<string, EngineCallError>
  /** Removes every container and the network of this lab (by id, then by label for anything started later). */
  readonly close: () => Effect.Effect<void, EngineCallError>
}

export const defaultCredentials = { user: "admin", password: "demo-admin-token" } as const
export const defaultAuthTimeoutMs = 500
export const defaultWatchPorts: ReadonlyArray<number> = [4444, 6666, 31337]

/** A short, name-safe form of a run id: its last 8 letters or digits. */
export const shortRunId = (runId: string): string => {
  const clean = runId.toLowerCase().replace(/[^a-z0-9]/g, "")
  return clean.length === 0 ? "run" : clean.slice(-8)
}

/** `shiftup-lab-<short runId>[-<name>]`: the compose project and name prefix of a lab. */
export const projectOf = (runId: string, name?: string): string =>
  `shiftup-lab-${shortRunId(runId)}${name === undefined || name === "" ? "" : `-${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`}`

/** The labels of a lab object of this run (and lab name). */
export const labLabels = (runId: string, service?: string, name?: string): Record<string, string> => ({
  "shiftup.run": runId,
  "shiftup.lab": "1",
  "shiftup.env": "lab",
  "com.docker.compose.project": projectOf(runId, name),
  ...(service === undefined ? {} : { "com.docker.compose.service": service }),
})

/**
 * Removes every container and network labelled with this run and `shiftup.lab=1` (only those of
 * `project` when given); resolves with how many objects it removed.
 */
export const reapLab = (engine: DockerEngine, runId: string, project?: string): Effect.Effect<number, EngineCallError> =>
  Effect.gen(function* () {
    const selector = [`shiftup.run=${runId}`, "shiftup.lab=1", ...(project === undefined ? [] : [`com.docker.compose.project=${project}`])]
    const containers = yield* engine.list({ all: true, labels: selector })
    yield* Effect.forEach(containers, (c) => engine.remove(c.id), { concurrency: 8, discard: true })
    const networks = yield* engine.networks(selector)
    yield* Effect.forEach(networks, (n) => engine.removeNetwork(n.id), { discard: true })
    return containers.length + networks.length
  })

export interface HttpAnswer {
  readonly status: number
  readonly body: string
  readonly headers: http.IncomingHttpHeaders
}

/** One GET on 127.0.0.1 (no keep-alive), failing after `timeoutMs`. */
export const get = (url: string, options: { readonly headers?: Readonly<Record<string, string>>; readonly timeoutMs?: number } = {}): Promise<HttpAnswer> =>
  new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { ...options.headers }, agent: false, timeout: options.timeoutMs ?? 5_000 }, (res) => {
      let body = ""
      res.on("data", (c: Buffer) => (body += c.toString("utf8")))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
      res.on("error", reject)
    })
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} within ${options.timeoutMs ?? 5_000} ms`)))
    req.on("error", reject)
  })

const waitFor = (what: string, deadlineMs: number, check: () => Promise<boolean>): Effect.Effect<void, DockerLabError> =>
  Effect.tryPromise({
    try: async () => {
      const end = Date.now() + deadlineMs
      let last = "no answer yet"
      while (Date.now() < end) {
        try {
          if (await check()) return
          last = "not ready"
        } catch (e) {
          last = e instanceof Error ? e.message : String(e)
        }
        await new Promise((r) => setTimeout(r, 50))
      }
      throw new Error(`${what} not ready within ${deadlineMs} ms (${last})`)
    },
    catch: (e) => labError(e instanceof Error ? e.message : String(e)),
  })

const hostPortOf = (engine: DockerEngine, id: string, containerPort: number): Effect.Effect<number, EngineCallError | DockerLabError> =>
  Effect.flatMap(engine.inspect(id), (c) => {
    const p = c.publishedPorts.find((x) => x.containerPort === containerPort && x.hostIp === "127.0.0.1")
    return p === undefined || !Number.isFinite(p.hostPort) || p.hostPort === 0 ? Effect.fail(labError(`${c.name}: port ${containerPort} is not published on 127.0.0.1`)) : Effect.succeed(p.hostPort)
  })

/**
 * Starts the lab for run `runId` and waits until the gateway answers /health and admits the
 * lab's credentials at /admin. On any failure, whatever was created is removed again.
 *
 * @example
 * const lab = yield* startDockerLab(engine, { runId })
 * // GET lab.urls.admin with { authorization: lab.credentials.authorization } → 200
 * yield* lab.close()
 */
export const startDockerLab = (engine: DockerEngine, options: DockerLabOptions): Effect.Effect<DockerLab, EngineCallError | DockerLabError> => {
  const runId = options.runId
  const project = projectOf(runId, options.name)
  const failOpen = options.failOpen ?? false
  const authTimeoutMs = options.authTimeoutMs ?? defaultAuthTimeoutMs
  const watchPorts = options.watchPorts ?? defaultWatchPorts
  const credentials = options.credentials ?? defaultCredentials
  const authorization = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString("base64")}`
  const labels = (service: string) => labLabels(runId, service, options.name)
  const networkName = project

  const start = Effect.gen(function* () {
    const images = yield* ensureImageMap(engine, { only: ["auth", "gateway", "detector", "rogue"] })
    const image = (n: "auth" | "gateway" | "detector" | "rogue") => images[n] ?? `shiftup-lab/${n}:latest`
    const networkId = yield* engine.createNetwork(networkName, labLabels(runId, undefined, options.name))
    const names = { auth: `${project}-auth`, gateway: `${project}-gateway`, detector: `${project}-detector` }
    const auth = yield* engine.run({
      name: names.auth,
      image: image("auth"),
      labels: labels("auth"),
      env: { AUTH_USER: credentials.user, AUTH_PASSWORD: credentials.password },
      network: networkName,
      aliases: ["auth"],
      // Like a real service: comes back by itself after its process dies (a crash, the OOM killer).
      restartPolicy: "always",
      healthcheck: { test: ["CMD", "/app/healthcheck"], intervalMs: 500, timeoutMs: 1000, retries: 2 },
    })
    const [gateway, detector] = yield* Effect.all(
      [
        engine.run({
          name: names.gateway,
          image: image("gateway"),
          labels: labels("gateway"),
          env: { AUTH_HOST: "auth", AUTH_PORT: "80", AUTH_TIMEOUT: (authTimeoutMs / 1000).toFixed(3), FAIL_OPEN_ON_TIMEOUT: failOpen ? "1" : "0" },
          network: networkName,
          aliases: ["gateway"],
          restartPolicy: "always",
          publish: [{ containerPort: 80, hostPort: options.publishBase ?? 0 }],
        }),
        engine.run({
          name: names.detector,
          image: image("detector"),
          labels: labels("detector"),
          env: { WATCH_PORTS: watchPorts.join(" "), ...(options.scanHosts === undefined ? {} : { SCAN_HOSTS: options.scanHosts.join(" ") }) },
          network: networkName,
          aliases: ["detector"],
          publish: [{ containerPort: 80, hostPort: options.publishBase === undefined ? 0 : options.publishBase + 1 }],
        }),
      ],
      { concurrency: 2 },
    )
    const ports = { gateway: yield* hostPortOf(engine, gateway, 80), detector: yield* hostPortOf(engine, detector, 80) }
    const gw = `http://127.0.0.1:${ports.gateway}`
    const det = `http://127.0.0.1:${ports.detector}`
    const urls = { gateway: gw, admin: `${gw}/admin`, health: `${gw}/health`, detector: det, alerts: `${det}/alerts` }
    const deadline = options.readyTimeoutMs ?? 20_000
    yield* waitFor("the gateway's /health", deadline, async () => (await get(urls.health, { timeoutMs: 2_000 })).status === 200)
    yield* waitFor("the gateway's /admin with the lab's credentials", deadline, async () => (await get(urls.admin, { headers: { authorization }, timeoutMs: 2_000 })).status === 200)
    yield* waitFor("the detector's /health", deadline, async () => (await get(`${det}/health`, { timeoutMs: 2_000 })).status === 200)
    const containers = { auth, gateway, detector }
    let rogues = 0
    const lab: DockerLab = {
      runId,
      project,
      network: { id: networkId, name: networkName },
      containers,
      names,
      ports,
      urls,
      credentials: { ...credentials, authorization },
      failOpen,
      authTimeoutMs,
      watchPorts,
      labels,
      images: { auth: image("auth"), gateway: image("gateway"), detector: image("detector"), rogue: image("rogue") },
      startRogue: (o = {}) =>
        engine.run({
          name: o.name ?? `${project}-rogue-${++rogues}`,
          image: image("rogue"),
          labels: labels("rogue"),
          env: { PORT: String(o.port ?? 4444) },
          network: networkName,
          aliases: ["rogue"],
        }),
      close: () =>
        Effect.gen(function* () {
          yield* Effect.forEach(Object.values(containers), (id) => engine.remove(id), { concurrency: 3, discard: true })
          yield* reapLab(engine, runId, project)
          yield* engine.removeNetwork(networkId)
        }),
    }
    return lab
  })
  return start.pipe(Effect.onError(() => Effect.ignore(reapLab(engine, runId, project))))
}

/** `startDockerLab` as a scoped resource: closed when the scope closes. */
export const dockerLab = (engine: DockerEngine, options: DockerLabOptions) =>
  Effect.acquireRelease(startDockerLab(engine, options), (lab) => Effect.ignore(lab.close()))
