/**
 * The engine client over dockerode, and the service every probe, fault and compensator reaches
 * it through. dockerode ships no types, so the slice of it used here is typed by hand, and every
 * answer is mapped into shiftup's own `Container` shape (`model.ts`) at this boundary.
 */
import { Readable } from "node:stream"
import Dockerode from "dockerode"
import { Context, Effect, Schedule } from "effect"
import type { Container, ContainerSummary, CreateSpec, DockerEngine as Client, DockerEvent, EngineOptions, Endpoint, Mount, PublishedPort, Resources } from "../model.ts"
import { EngineCallError } from "./call-error.ts"

/** Whatever dockerode hands back: JSON from the engine. */
type Json = any // oxlint-disable-line typescript/no-explicit-any

interface DockerodeLike {
  readonly modem: { readonly Promise: unknown }
  ping(opts: object): Promise<unknown>
  listContainers(opts: object): Promise<Array<Json>>
  listNetworks(opts: object): Promise<Array<Json>>
  listImages(opts: object): Promise<Array<Json>>
  createContainer(opts: object): Promise<{ readonly id: string; start(opts: object): Promise<unknown> }>
  createNetwork(opts: object): Promise<{ readonly id: string }>
  importImage(file: NodeJS.ReadableStream, opts: object): Promise<NodeJS.ReadableStream>
  getEvents(opts: object): Promise<NodeJS.ReadableStream & { destroy(): void }>
  getContainer(id: string): Record<string, (opts?: object, more?: object) => Promise<Json>>
  getNetwork(id: string): Record<string, (opts?: object) => Promise<Json>>
  getImage(id: string): Record<string, (opts?: object) => Promise<Json>>
}

const DockerCtor = Dockerode as unknown as new (opts: object) => DockerodeLike

const parseAddress = (address: string): object => {
  if (address.startsWith("unix://")) return { socketPath: address.slice("unix://".length) }
  const url = new URL(address.replace(/^tcp:/, "http:"))
  return { host: url.hostname, port: Number(url.port || 2375), protocol: "http" }
}

const unreachableCodes = new Set(["ECONNREFUSED", "ENOENT", "EACCES", "ECONNRESET", "EHOSTUNREACH", "ETIMEDOUT", "EPIPE"])

const toError = (op: string, e: unknown): EngineCallError => {
  const err = e as { statusCode?: number; code?: string; json?: { message?: string } | null; reason?: string; message?: string }
  const message = err.json?.message ?? err.message ?? String(e)
  if (typeof err.statusCode === "number") return new EngineCallError({ op, status: err.statusCode, detail: `${err.statusCode} ${message.trim()}`, unreachable: false, cause: e })
  return new EngineCallError({ op, detail: message, unreachable: err.code !== undefined && unreachableCodes.has(err.code), cause: e })
}

const record = (o: Json): Record<string, string> => (o !== null && typeof o === "object" ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)])) : {})

const envOf = (list: Json): Record<string, string> =>
  Object.fromEntries(
    (Array.isArray(list) ? list : []).map((kv: string) => {
      const i = kv.indexOf("=")
      return i === -1 ? [kv, ""] : [kv.slice(0, i), kv.slice(i + 1)]
    }),
  )

const portNumbers = (o: Json): Array<number> => Object.keys(o ?? {}).map((k) => Number.parseInt(k, 10)).filter((n) => Number.isFinite(n))

const endpointOf = (n: Json): Endpoint => ({
  networkId: String(n?.NetworkID ?? ""),
  aliases: Array.isArray(n?.Aliases) ? n.Aliases.map(String) : [],
  links: Array.isArray(n?.Links) ? n.Links.map(String) : [],
  ipv4: String(n?.IPAddress ?? ""),
  ipamIpv4: String(n?.IPAMConfig?.IPv4Address ?? ""),
  ipamIpv6: String(n?.IPAMConfig?.IPv6Address ?? ""),
  driverOpts: record(n?.DriverOpts),
})

const strings = (a: Json): Array<string> => (Array.isArray(a) ? a.map(String) : [])

const mountOf = (m: Json): Mount => ({
  type: String(m?.Type ?? ""),
  source: String(m?.Source ?? ""),
  destination: String(m?.Destination ?? ""),
  ...(m?.Name === undefined || m.Name === "" ? {} : { name: String(m.Name) }),
  readWrite: m?.RW !== false,
  ...(/^r?(shared|slave)$/.test(String(m?.Propagation ?? "")) ? { propagation: String(m.Propagation) } : {}),
})

/** `{ "80/tcp": [{ HostIp, HostPort }] }` (live or configured) as bindings. */
const bindingsOf = (ports: Json): ReadonlyArray<PublishedPort> =>
  Object.entries(ports).flatMap(([key, bindings]) => {
    const [port, protocol] = key.split("/")
    return (Array.isArray(bindings) ? bindings : []).map((b: Json) => ({ containerPort: Number(port), protocol: protocol ?? "tcp", hostIp: String(b.HostIp ?? ""), hostPort: Number(b.HostPort || 0) }))
  })

const containerOf = (j: Json): Container => {
  const hc = j.HostConfig ?? {}
  const ports = j.NetworkSettings?.Ports ?? {}
  return {
    id: String(j.Id),
    name: String(j.Name ?? "").replace(/^\//, ""),
    image: String(j.Config?.Image ?? ""),
    imageId: String(j.Image ?? ""),
    labels: record(j.Config?.Labels),
    env: envOf(j.Config?.Env),
    hostname: String(j.Config?.Hostname ?? ""),
    command: [...(Array.isArray(j.Config?.Entrypoint) ? j.Config.Entrypoint : []), ...(Array.isArray(j.Config?.Cmd) ? j.Config.Cmd : [])].map(String),
    state: {
      status: String(j.State?.Status ?? "unknown"),
      running: j.State?.Running === true,
      paused: j.State?.Paused === true,
      exitCode: Number(j.State?.ExitCode ?? 0),
      pid: Number(j.State?.Pid ?? 0),
      startedAt: String(j.State?.StartedAt ?? ""),
      finishedAt: String(j.State?.FinishedAt ?? ""),
      health: String(j.State?.Health?.Status ?? "none"),
    },
    restartCount: Number(j.RestartCount ?? 0),
    restartPolicy: String(hc.RestartPolicy?.Name || "no"),
    restartMaxRetries: Number(hc.RestartPolicy?.MaximumRetryCount ?? 0),
    autoRemove: hc.AutoRemove === true,
    networkMode: String(hc.NetworkMode ?? "default"),
    networks: Object.fromEntries(Object.entries(j.NetworkSettings?.Networks ?? {}).map(([name, n]) => [name, endpointOf(n)])),
    exposedPorts: [...new Set([...portNumbers(j.Config?.ExposedPorts), ...portNumbers(ports)])].sort((a, b) => a - b),
    publishedPorts: bindingsOf(ports),
    configuredPorts: bindingsOf(hc.PortBindings ?? {}),
    resources: {
      cpuQuota: Number(hc.CpuQuota ?? 0),
      cpuPeriod: Number(hc.CpuPeriod ?? 0),
      nanoCpus: Number(hc.NanoCpus ?? 0),
      cpuShares: Number(hc.CpuShares ?? 0),
      memory: Number(hc.Memory ?? 0),
      memorySwap: Number(hc.MemorySwap ?? 0),
      pidsLimit: Number(hc.PidsLimit ?? 0),
    },
    created: String(j.Created ?? ""),
    user: String(j.Config?.User ?? ""),
    privileges: {
      privileged: hc.Privileged === true,
      capAdd: strings(hc.CapAdd),
      capDrop: strings(hc.CapDrop),
      pidMode: String(hc.PidMode ?? ""),
      ipcMode: String(hc.IpcMode ?? ""),
      utsMode: String(hc.UTSMode ?? ""),
      usernsMode: String(hc.UsernsMode ?? ""),
      readonlyRootfs: hc.ReadonlyRootfs === true,
      securityOpt: strings(hc.SecurityOpt),
    },
    mounts: (Array.isArray(j.Mounts) ? j.Mounts : []).map(mountOf),
    healthcheck: Array.isArray(j.Config?.Healthcheck?.Test) && j.Config.Healthcheck.Test[0] !== "NONE" ? j.Config.Healthcheck.Test.map(String) : null,
    devices: (Array.isArray(hc.Devices) ? hc.Devices : []).map((d: Json) => ({ host: String(d?.PathOnHost ?? ""), container: String(d?.PathInContainer ?? ""), permissions: String(d?.CgroupPermissions ?? "") })),
    ulimits: (Array.isArray(hc.Ulimits) ? hc.Ulimits : []).map((u: Json) => ({ name: String(u?.Name ?? ""), soft: Number(u?.Soft ?? 0), hard: Number(u?.Hard ?? 0) })),
    cgroupParent: String(hc.CgroupParent ?? ""),
  }
}

const summaryOf = (j: Json): ContainerSummary => ({
  id: String(j.Id),
  name: String(j.Names?.[0] ?? "").replace(/^\//, ""),
  image: String(j.Image ?? ""),
  labels: record(j.Labels),
  state: String(j.State ?? ""),
  networkMode: String(j.HostConfig?.NetworkMode ?? "default"),
})

const resourceFields: Record<keyof Resources, string> = {
  cpuQuota: "CpuQuota",
  cpuPeriod: "CpuPeriod",
  nanoCpus: "NanoCpus",
  cpuShares: "CpuShares",
  memory: "Memory",
  memorySwap: "MemorySwap",
  pidsLimit: "PidsLimit",
}

const drain = (stream: NodeJS.ReadableStream): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const parts: Array<Buffer> = []
    stream.on("data", (c: Buffer) => parts.push(Buffer.from(c)))
    stream.on("end", () => resolve(Buffer.concat(parts)))
    stream.on("error", reject)
  })

/** Log streams of containers without a TTY are multiplexed: 8-byte frame headers, then payload. */
const demux = (raw: Buffer): string => {
  const out: Array<Buffer> = []
  let i = 0
  while (i + 8 <= raw.length && (raw[i] === 0 || raw[i] === 1 || raw[i] === 2) && raw[i + 1] === 0) {
    const size = raw.readUInt32BE(i + 4)
    out.push(raw.subarray(i + 8, i + 8 + size))
    i += 8 + size
  }
  return i === 0 ? raw.toString("utf8") : Buffer.concat(out).toString("utf8")
}

/** Tries of a pause the freezer refused: 100 ms, 200 ms, 400 ms and 800 ms apart. */
const freezeRetry = Schedule.exponential("100 millis")

/** The engine's container-create body for a spec. */
const createBody = (spec: CreateSpec, abortSignal: AbortSignal): object => ({
  ...(spec.name === undefined ? {} : { name: spec.name }),
  Image: spec.image,
  ...(spec.command === undefined ? {} : { Cmd: spec.command }),
  Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
  Labels: spec.labels,
  ExposedPorts: Object.fromEntries((spec.publish ?? []).map((p) => [`${p.containerPort}/${p.protocol ?? "tcp"}`, {}])),
  ...(spec.healthcheck === undefined
    ? {}
    : {
        Healthcheck: {
          Test: spec.healthcheck.test,
          Interval: spec.healthcheck.intervalMs * 1e6,
          Timeout: (spec.healthcheck.timeoutMs ?? 1000) * 1e6,
          Retries: spec.healthcheck.retries ?? 3,
          StartPeriod: 0,
        },
      }),
  HostConfig: {
    // Published on loopback only: nothing shiftup starts is reachable from outside the machine.
    PortBindings: Object.fromEntries((spec.publish ?? []).map((p) => [`${p.containerPort}/${p.protocol ?? "tcp"}`, [{ HostIp: "127.0.0.1", HostPort: String(p.hostPort) }]])),
    RestartPolicy: { Name: spec.restartPolicy ?? "no" },
    ...(spec.network === undefined ? {} : { NetworkMode: spec.network }),
    ...(spec.networkMode === undefined ? {} : { NetworkMode: spec.networkMode }),
  },
  ...(spec.network === undefined ? {} : { NetworkingConfig: { EndpointsConfig: { [spec.network]: { Aliases: spec.aliases ?? [] } } } }),
  abortSignal,
})

export const makeClient = (address: string, timeoutMs: number): Client => {
  const docker = new DockerCtor(parseAddress(address))
  /** `waitsS`: seconds the engine itself may take before answering (a stop's grace period), on top of the deadline. */
  const call = <A>(op: string, f: (signal: AbortSignal) => Promise<A>, waitsS = 0): Effect.Effect<A, EngineCallError> =>
    Effect.tryPromise({ try: f, catch: (e) => toError(op, e) }).pipe(
      Effect.timeoutOrElse({
        duration: timeoutMs + waitsS * 1000,
        orElse: () => Effect.fail(new EngineCallError({ op, detail: `no answer within ${timeoutMs + waitsS * 1000} ms`, unreachable: true })),
      }),
    )
  const container = (id: string) => docker.getContainer(id)
  const ignore304 = <A>(e: Effect.Effect<A, EngineCallError>) => Effect.catchIf(e, (x) => x.status === 304, () => Effect.void)

  return {
    address,
    ping: call("ping", (abortSignal) => docker.ping({ abortSignal })).pipe(Effect.asVoid),
    list: (filter = {}) =>
      call("list containers", (abortSignal) =>
        docker.listContainers({ all: filter.all ?? true, abortSignal, ...(filter.labels === undefined ? {} : { filters: JSON.stringify({ label: filter.labels }) }) }),
      ).pipe(Effect.map((l) => l.map(summaryOf))),
    inspect: (id) => call(`inspect ${id}`, (abortSignal) => container(id)["inspect"]!({ abortSignal })).pipe(Effect.map(containerOf)),
    // The cgroup freezer can fail to freeze a busy container in time (runc thaws it again and the
    // engine answers 500 "unable to freeze"): a transient refusal, retried a few times.
    pause: (id) => call(`pause ${id}`, (abortSignal) => container(id)["pause"]!({ abortSignal })).pipe(Effect.retry({ while: (e) => e.status === 500 && /unable to freeze/i.test(e.detail), schedule: freezeRetry, times: 4 })),
    unpause: (id) => call(`unpause ${id}`, (abortSignal) => container(id)["unpause"]!({ abortSignal })),
    start: (id) => ignore304(call(`start ${id}`, (abortSignal) => container(id)["start"]!({ abortSignal }))),
    // A stop or restart answers once the process has exited: up to `timeoutS` after SIGTERM.
    stop: (id, timeoutS = 10) => ignore304(call(`stop ${id}`, (abortSignal) => container(id)["stop"]!({ t: timeoutS, abortSignal }), timeoutS)),
    kill: (id, signal) => call(`kill ${id}`, (abortSignal) => container(id)["kill"]!({ signal, abortSignal })),
    restart: (id, timeoutS = 10) => call(`restart ${id}`, (abortSignal) => container(id)["restart"]!({ t: timeoutS, abortSignal }), timeoutS),
    update: (id, resources) =>
      call(`update ${id}`, (abortSignal) =>
        container(id)["update"]!({ ...Object.fromEntries(Object.entries(resources).map(([k, v]) => [resourceFields[k as keyof Resources], v])), abortSignal }),
      ),
    connect: (network, id, e) =>
      call(`connect ${id} to ${network}`, (abortSignal) =>
        docker.getNetwork(network)["connect"]!({
          Container: id,
          EndpointConfig: {
            Aliases: e.aliases,
            Links: e.links,
            DriverOpts: e.driverOpts,
            ...(e.ipamIpv4 === "" && e.ipamIpv6 === "" ? {} : { IPAMConfig: { ...(e.ipamIpv4 === "" ? {} : { IPv4Address: e.ipamIpv4 }), ...(e.ipamIpv6 === "" ? {} : { IPv6Address: e.ipamIpv6 }) } }),
          },
          abortSignal,
        }),
      ),
    disconnect: (network, id) => call(`disconnect ${id} from ${network}`, (abortSignal) => docker.getNetwork(network)["disconnect"]!({ Container: id, Force: true, abortSignal })),
    getArchive: (id, path) => call(`read ${path} in ${id}`, async (abortSignal) => drain(await container(id)["getArchive"]!({ path, abortSignal }))),
    putArchive: (id, dir, tar) =>
      call(`write into ${dir} in ${id}`, async (abortSignal) => {
        return container(id)["putArchive"]!(Readable.from([tar]) as never, { path: dir, abortSignal })
      }),
    create: (spec) => call(`create from ${spec.image}`, async (abortSignal) => (await docker.createContainer(createBody(spec, abortSignal))).id),
    run: (spec) =>
      call(`run ${spec.image}`, async (abortSignal) => {
        const created = await docker.createContainer(createBody(spec, abortSignal))
        await created.start({ abortSignal })
        return created.id
      }),
    remove: (id) =>
      call(`remove ${id}`, (abortSignal) => container(id)["remove"]!({ force: true, v: true, abortSignal })).pipe(Effect.catchIf((x) => x.status === 404, () => Effect.void)),
    logs: (id, options = {}) =>
      call(`logs of ${id}`, async (abortSignal) => {
        const raw: unknown = await container(id)["logs"]!({ stdout: true, stderr: true, follow: false, ...(options.sinceS === undefined ? {} : { since: options.sinceS }), ...(options.tail === undefined ? {} : { tail: options.tail }), abortSignal })
        return demux(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)))
      }),
    networks: (labels) =>
      call("list networks", (abortSignal) => docker.listNetworks({ abortSignal, ...(labels === undefined ? {} : { filters: JSON.stringify({ label: labels }) }) })).pipe(
        Effect.map((l) => l.map((n: Json) => ({ id: String(n.Id), name: String(n.Name), labels: record(n.Labels) }))),
      ),
    createNetwork: (name, labels) => call(`create network ${name}`, (abortSignal) => docker.createNetwork({ Name: name, Labels: labels, CheckDuplicate: true, abortSignal })).pipe(Effect.map((n) => n.id)),
    removeNetwork: (id) => call(`remove network ${id}`, (abortSignal) => docker.getNetwork(id)["remove"]!({ abortSignal })).pipe(Effect.catchIf((x) => x.status === 404, () => Effect.void)),
    images: (labels) =>
      call("list images", (abortSignal) => docker.listImages({ abortSignal, ...(labels === undefined ? {} : { filters: JSON.stringify({ label: labels }) }) })).pipe(
        Effect.map((l) => l.map((i: Json) => ({ id: String(i.Id), tags: Array.isArray(i.RepoTags) ? i.RepoTags.map(String) : [], labels: record(i.Labels) }))),
      ),
    inspectImage: (id) =>
      call(`inspect image ${id}`, (abortSignal) => docker.getImage(id)["inspect"]!({ abortSignal })).pipe(
        Effect.map((i: Json) => ({ id: String(i.Id), tags: strings(i.RepoTags), digests: strings(i.RepoDigests), labels: record(i.Config?.Labels), created: String(i.Created ?? "") })),
      ),
    removeImage: (id) => call(`remove image ${id}`, (abortSignal) => docker.getImage(id)["remove"]!({ force: true, abortSignal })).pipe(Effect.catchIf((x) => x.status === 404, () => Effect.void)),
    tag: (image, repo, tag) => call(`tag ${image} as ${repo}:${tag}`, (abortSignal) => docker.getImage(image)["tag"]!({ repo, tag, abortSignal })),
    importImage: (tar, repo, tag, changes) =>
      call(`import image ${repo}:${tag}`, async (abortSignal) => {
        const progress = await docker.importImage(Readable.from([tar]), { repo, tag, changes: [...changes], abortSignal })
        const out = (await drain(progress)).toString("utf8")
        if (/"error"/.test(out)) throw new Error(out.trim())
      }),
    events: (filter, signal) => ({
      async *[Symbol.asyncIterator]() {
        const filters = filter.containers === undefined ? {} : { container: filter.containers }
        const stream = await docker.getEvents({ filters: JSON.stringify(filters), ...(filter.sinceS === undefined ? {} : { since: filter.sinceS }), ...(filter.untilS === undefined ? {} : { until: filter.untilS }), abortSignal: signal })
        const stop = () => stream.destroy()
        signal.addEventListener("abort", stop, { once: true })
        let rest = ""
        try {
          for await (const chunk of stream as AsyncIterable<Buffer>) {
            rest += chunk.toString("utf8")
            let nl: number
            while ((nl = rest.indexOf("\n")) !== -1) {
              const line = rest.slice(0, nl).trim()
              rest = rest.slice(nl + 1)
              if (line === "") continue
              const j = JSON.parse(line) as Json
              const event: DockerEvent = { type: String(j.Type ?? ""), action: String(j.Action ?? j.status ?? ""), id: String(j.Actor?.ID ?? j.id ?? ""), attributes: record(j.Actor?.Attributes), timeNano: BigInt(j.timeNano ?? 0) }
              yield event
            }
          }
        } catch (e) {
          if (!signal.aborted) throw e
        } finally {
          signal.removeEventListener("abort", stop)
          stream.destroy()
        }
      },
    }),
    close: () => {
      const agent = (docker.modem as { agent?: { destroy?: () => void } }).agent
      agent?.destroy?.()
    },
  }
}

/** The address an engine would use with these options and this environment. */
export const addressOf = (options: EngineOptions = {}): string => {
  if (options.host !== undefined) return options.host
  if (options.socketPath !== undefined) return `unix://${options.socketPath}`
  const fromEnv = process.env["DOCKER_HOST"]
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : "unix:///var/run/docker.sock"
}

// Clients shared by address (not per-run state): sockets are reused across runs and recoveries.
const byAddress = new Map<string, Client>()

/** A shared client for an address: compensations replayed by `recover` find their engine by the address they recorded. */
export const at = (address: string): Client => {
  let engine = byAddress.get(address)
  if (engine === undefined) {
    engine = makeClient(address, 10_000)
    byAddress.set(address, engine)
  }
  return engine
}

/** The engine probes, faults and compensations use; default: `DOCKER_HOST` or the default socket. */
export const DockerEngine = Context.Reference<Client>("shiftup/docker/Engine", { defaultValue: () => at(addressOf()) })
export type DockerEngine = Client
