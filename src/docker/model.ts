/**
 * What the Docker adapter knows of an engine, as data: containers and their state, networks,
 * images, events, the calls a client makes, and how a call fails. Types only: the client
 * (`internal/client.ts`) and everything above it import them from here, so nothing imports back.
 */
import type { Effect } from "effect"
import type { EngineCallError } from "./internal/call-error.ts"

/** A container as shiftup needs to see it: identity, classification facts, state, and what faults change. */
export interface Container {
  readonly id: string
  /** Without the leading slash. */
  readonly name: string
  readonly image: string
  readonly imageId: string
  readonly labels: Readonly<Record<string, string>>
  readonly env: Readonly<Record<string, string>>
  readonly hostname: string
  readonly command: ReadonlyArray<string>
  readonly state: ContainerState
  readonly restartCount: number
  readonly restartPolicy: string
  /** `HostConfig.RestartPolicy.MaximumRetryCount`: retries of an `on-failure` policy (0: no limit). */
  readonly restartMaxRetries: number
  /** Removed by the engine when it exits (`--rm`): a stop or kill of it cannot be undone. */
  readonly autoRemove: boolean
  /**
   * `HostConfig.NetworkMode`: `default`/`bridge` or a network name (a namespace of its own),
   * `host` (the host's namespace), `none`, or `container:<id>` (another container's namespace).
   */
  readonly networkMode: string
  readonly networks: Readonly<Record<string, Endpoint>>
  /** Ports the image or container exposes (container side). */
  readonly exposedPorts: ReadonlyArray<number>
  /** The engine's bindings now: none while the container is not running. */
  readonly publishedPorts: ReadonlyArray<PublishedPort>
  /** `HostConfig.PortBindings`: what it publishes whenever it runs (`hostPort` 0: the engine picks one). */
  readonly configuredPorts?: ReadonlyArray<PublishedPort>
  readonly resources: Resources
  /** When the container was created (ISO 8601). */
  readonly created: string
  /** `Config.User`: the user the process runs as (`""`: the image's default, usually root). */
  readonly user: string
  readonly privileges: Privileges
  readonly mounts: ReadonlyArray<Mount>
  /** The health check's test (`["CMD-SHELL", "…"]`), or `null` without one (or `NONE`). */
  readonly healthcheck: ReadonlyArray<string> | null
  /** Host devices passed in (`HostConfig.Devices`, `--device`). */
  readonly devices: ReadonlyArray<Device>
  /** Per-container resource limits (`HostConfig.Ulimits`, `--ulimit`); empty: the daemon's defaults apply. */
  readonly ulimits: ReadonlyArray<Ulimit>
  /** `HostConfig.CgroupParent` (`--cgroup-parent`); `""`: the engine's own parent cgroup. */
  readonly cgroupParent: string
}

export interface Device {
  readonly host: string
  readonly container: string
  /** Cgroup permissions: `r`, `w`, `m` (mknod). */
  readonly permissions: string
}

export interface Ulimit {
  readonly name: string
  readonly soft: number
  readonly hard: number
}

/** What the container may do to its host: the facts an inventory lists as privileges. */
export interface Privileges {
  readonly privileged: boolean
  readonly capAdd: ReadonlyArray<string>
  readonly capDrop: ReadonlyArray<string>
  /** `HostConfig.PidMode`, `IpcMode`, `UTSMode`: `host` shares the host's namespace. */
  readonly pidMode: string
  readonly ipcMode: string
  readonly utsMode: string
  /** `HostConfig.UsernsMode`: `host` shares the host's user namespace when the daemon remaps users. */
  readonly usernsMode: string
  readonly readonlyRootfs: boolean
  readonly securityOpt: ReadonlyArray<string>
}

export interface Mount {
  /** `bind`, `volume`, `tmpfs`… */
  readonly type: string
  /** The host path of a bind mount, the volume's path on the host for a volume. */
  readonly source: string
  readonly destination: string
  /** The volume's name (volumes only). */
  readonly name?: string
  readonly readWrite: boolean
  /** Bind propagation when it is not private (the default): `shared`, `rshared`, `slave`, `rslave`. */
  readonly propagation?: string
}

export interface ContainerState {
  /** `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`. */
  readonly status: string
  readonly running: boolean
  readonly paused: boolean
  readonly exitCode: number
  /** Host pid of the container's main process (0 when not running). */
  readonly pid: number
  readonly startedAt: string
  readonly finishedAt: string
  /** `starting`, `healthy`, `unhealthy`, or `none` without a health check. */
  readonly health: string
}

export interface Endpoint {
  readonly networkId: string
  readonly aliases: ReadonlyArray<string>
  readonly links: ReadonlyArray<string>
  readonly ipv4: string
  /** Static addresses requested at connect time (empty when the engine assigned them). */
  readonly ipamIpv4: string
  readonly ipamIpv6: string
  readonly driverOpts: Readonly<Record<string, string>>
}

export interface PublishedPort {
  readonly containerPort: number
  readonly protocol: string
  readonly hostIp: string
  readonly hostPort: number
}

/** The resource limits a squeeze changes and its rollback restores (0 = no limit). */
export interface Resources {
  readonly cpuQuota: number
  readonly cpuPeriod: number
  readonly nanoCpus: number
  readonly cpuShares: number
  readonly memory: number
  readonly memorySwap: number
  readonly pidsLimit: number
}

export interface ContainerSummary {
  readonly id: string
  readonly name: string
  readonly image: string
  readonly labels: Readonly<Record<string, string>>
  readonly state: string
  /** As in `Container.networkMode`. */
  readonly networkMode: string
}

export interface CreateSpec {
  readonly name?: string
  readonly image: string
  readonly command?: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
  readonly labels: Readonly<Record<string, string>>
  /** Container port → host port, always published on 127.0.0.1. */
  readonly publish?: ReadonlyArray<{ readonly containerPort: number; readonly hostPort: number; readonly protocol?: "tcp" | "udp" }>
  readonly network?: string
  /** `host`, `none` or `container:<id>`: a network mode without an endpoint of its own (instead of `network`). */
  readonly networkMode?: string
  readonly aliases?: ReadonlyArray<string>
  readonly restartPolicy?: "no" | "always" | "unless-stopped" | "on-failure"
  readonly healthcheck?: { readonly test: ReadonlyArray<string>; readonly intervalMs: number; readonly timeoutMs?: number; readonly retries?: number }
}

export interface NetworkInfo {
  readonly id: string
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
}

export interface ImageInfo {
  readonly id: string
  readonly tags: ReadonlyArray<string>
  readonly labels: Readonly<Record<string, string>>
}

/** One image inspected: what an inventory needs to date it and name it. */
export interface ImageDetails extends ImageInfo {
  /** When the image was built (ISO 8601), as its metadata says. */
  readonly created: string
  /** `RepoDigests`: `repo@sha256:…`, empty for an image never pushed or pulled. */
  readonly digests: ReadonlyArray<string>
}

export interface DockerEvent {
  readonly type: string
  readonly action: string
  readonly id: string
  readonly attributes: Readonly<Record<string, string>>
  /** Nanoseconds since the epoch, as the engine stamps it. */
  readonly timeNano: bigint
}

export { EngineCallError } from "./internal/call-error.ts"

type Call<A> = Effect.Effect<A, EngineCallError>

export interface DockerEngine {
  /** Where the engine is, e.g. `unix:///var/run/docker.sock` or `tcp://127.0.0.1:2375`. */
  readonly address: string
  readonly ping: Call<void>
  /** Containers with their states; `all` includes stopped ones. */
  readonly list: (filter?: { readonly all?: boolean; readonly labels?: ReadonlyArray<string> }) => Call<ReadonlyArray<ContainerSummary>>
  readonly inspect: (id: string) => Call<Container>
  readonly pause: (id: string) => Call<void>
  readonly unpause: (id: string) => Call<void>
  readonly start: (id: string) => Call<void>
  readonly stop: (id: string, timeoutS?: number) => Call<void>
  readonly kill: (id: string, signal: string) => Call<void>
  readonly restart: (id: string, timeoutS?: number) => Call<void>
  readonly update: (id: string, resources: Partial<Resources>) => Call<void>
  readonly connect: (network: string, id: string, endpoint: Endpoint) => Call<void>
  readonly disconnect: (network: string, id: string) => Call<void>
  /** A tar archive of `path` inside the container. */
  readonly getArchive: (id: string, path: string) => Call<Buffer>
  /** Extracts a tar archive into directory `dir` of the container. */
  readonly putArchive: (id: string, dir: string, tar: Buffer) => Call<void>
  /** Creates a container without starting it (to read its image's files with `getArchive`); resolves with its id. */
  readonly create: (spec: CreateSpec) => Call<string>
  /** Creates and starts a container; resolves with its id. */
  readonly run: (spec: CreateSpec) => Call<string>
  readonly remove: (id: string) => Call<void>
  readonly logs: (id: string, options?: { readonly sinceS?: number; readonly tail?: number }) => Call<string>
  readonly networks: (labels?: ReadonlyArray<string>) => Call<ReadonlyArray<NetworkInfo>>
  readonly createNetwork: (name: string, labels: Readonly<Record<string, string>>) => Call<string>
  readonly removeNetwork: (id: string) => Call<void>
  readonly images: (labels?: ReadonlyArray<string>) => Call<ReadonlyArray<ImageInfo>>
  readonly inspectImage: (id: string) => Call<ImageDetails>
  readonly removeImage: (id: string) => Call<void>
  /** Tags image `image` (an id or a reference) as `repo:tag`. */
  readonly tag: (image: string, repo: string, tag: string) => Call<void>
  /** Imports a root filesystem tar as `repo:tag`, with Dockerfile-style `changes` (`CMD`, `LABEL`…). */
  readonly importImage: (tar: Buffer, repo: string, tag: string, changes: ReadonlyArray<string>) => Call<void>
  /** Engine events from `sinceS` (seconds since the epoch) until `untilS` (then the stream ends) or until `signal` aborts. */
  readonly events: (filter: { readonly containers?: ReadonlyArray<string>; readonly sinceS?: number; readonly untilS?: number }, signal: AbortSignal) => AsyncIterable<DockerEvent>
  /** Closes the client's sockets. */
  readonly close: () => void
}

export interface EngineOptions {
  /** A unix socket path; default from `DOCKER_HOST`, else `/var/run/docker.sock`. */
  readonly socketPath?: string
  /** `tcp://host:port` or `unix:///path`; overrides `socketPath`. */
  readonly host?: string
  /** Deadline of each API call; default 10 s. */
  readonly timeoutMs?: number
}
