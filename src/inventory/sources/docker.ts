/**
 * The Docker source of the inventory: every container of an engine, as the engine's API describes
 * it — one list, then one inspect per container (concurrency-bounded) and one per distinct image.
 * It reads the engine only: no container is contacted, so no container's environment is at stake
 * (a remote engine's address must still pass the egress allowlist). Classification is the core's
 * (`classifyMember` over the Docker adapter's `factsOf`), so an inventory and a run agree on what
 * is production and what is a data store.
 *
 * Incremental: given the previous snapshot, a container whose id and listed state are unchanged
 * and that had no engine event since is not inspected again, and an image id already read keeps
 * its packages (an image id is a digest of its content).
 */
import { Effect } from "effect"
import type { Container, DockerEngine, ImageDetails } from "../../docker/model.ts"
import { factsOf } from "../../docker/internal/facts.ts"
import { classifyMember, type Exception } from "../../internal/classify.ts"
import { checkEgress, type Egress } from "../../internal/egress.ts"
import { EgressDenied, EngineUnavailable, ProbeFailed, type ShiftupError } from "../../ShiftupError.ts"
import * as Target from "../../Target.ts"
import { summarise } from "./classification.ts"
import { envVarsOf } from "./env.ts"
import type { ContainerAsset, Owner, Package, SourceReport } from "../snapshot/model.ts"
import type { EngineCallError } from "../../docker/internal/call-error.ts"

/** Reads the packages installed in a container's image; called once per distinct image id. */
export type PackageReader = (input: { readonly engine: DockerEngine; readonly containerId: string; readonly imageId: string; readonly imageRef: string }) => Effect.Effect<ReadonlyArray<Package>, ShiftupError>

/** Label keys that name an owner, in order of preference (container labels first, then the image's). */
export const ownerLabelKeys: ReadonlyArray<string> = ["shiftup.owner", "owner", "team", "app.kubernetes.io/managed-by", "maintainer", "org.opencontainers.image.authors", "org.opencontainers.image.vendor"]

export interface DockerSourceOptions {
  /** The engine's name in asset ids (`docker:<name>/<container>`); default `local`. */
  readonly name?: string
  readonly engine: DockerEngine
  /** Only containers with all these labels (`key` or `key=value`), e.g. one team's. */
  readonly labels?: ReadonlyArray<string>
  /** Inspects in flight at once; default 16. */
  readonly concurrency?: number
  /** Extra label keys naming an owner, tried before the built-in ones. */
  readonly ownerLabels?: ReadonlyArray<string>
  readonly exceptions?: ReadonlyArray<Exception>
  readonly packages?: PackageReader
  /** The previous snapshot's assets of this engine and its report, for incremental mode. */
  readonly previous?: { readonly assets: ReadonlyArray<ContainerAsset>; readonly report?: SourceReport }
}

const failure = (engine: DockerEngine, e: EngineCallError): ShiftupError =>
  e.unreachable
    ? new EngineUnavailable({ engine: "Docker", address: engine.address, detail: e.detail, cause: e })
    : new ProbeFailed({ probe: "inventory docker", target: engine.address, detail: `${e.op}: ${e.detail}` })


/**
 * The first owner label found. A container inherits its image's labels, so a label with the
 * image's own value is reported as the image's.
 */
const ownerOf = (labels: Readonly<Record<string, string>>, imageLabels: Readonly<Record<string, string>>, keys: ReadonlyArray<string>): Owner | null => {
  for (const key of keys) {
    const value = labels[key] ?? imageLabels[key]
    if (value !== undefined && value.trim() !== "") return { value, source: `${imageLabels[key] === value ? "image label" : "label"} ${key}` }
  }
  return null
}

/** `NET_ADMIN` whether the engine says `CAP_NET_ADMIN` or not (engines differ). */
const capability = (c: string) => c.toUpperCase().replace(/^CAP_/, "")

/** The program's file name only: an argument may be a secret (`--password=…`), so none is kept. */
const programOf = (command: ReadonlyArray<string>): string => (command[0] ?? "").split("/").at(-1) ?? ""

/** One inspected container as an inventory asset (what a probe of a running experiment reads too). */
export const assetOf = (c: Container, image: ImageDetails | undefined, options: Pick<DockerSourceOptions, "exceptions" | "ownerLabels">, engineName: string, local: boolean, packages: ReadonlyArray<Package> | undefined): ContainerAsset => {
  const facts = factsOf(c, { local })
  const classification = summarise(classifyMember(Target.make(c.name, { kind: "container" }), facts, options.exceptions ?? []))
  const p = c.privileges
  return {
    id: `docker:${engineName}/${c.name}`,
    kind: "container",
    engine: engineName,
    name: c.name,
    containerId: c.id,
    created: c.created,
    image: { ref: c.image, id: c.imageId, tags: image?.tags ?? [], digests: image?.digests ?? [], created: image?.created ?? "" },
    labels: c.labels,
    owner: ownerOf(c.labels, image?.labels ?? {}, [...(options.ownerLabels ?? []), ...ownerLabelKeys]),
    classification,
    state: { status: c.state.status, startedAt: c.state.startedAt, finishedAt: c.state.finishedAt, restartCount: c.restartCount, health: c.state.health },
    ports: {
      exposed: c.exposedPorts,
      published: [...c.publishedPorts].sort((a, b) => a.containerPort - b.containerPort || a.hostIp.localeCompare(b.hostIp)),
      configured: [...(c.configuredPorts ?? [])].sort((a, b) => a.containerPort - b.containerPort || a.hostIp.localeCompare(b.hostIp)),
    },
    networkMode: c.networkMode,
    networks: Object.entries(c.networks)
      .map(([name, n]) => ({ name, ipv4: n.ipv4, aliases: n.aliases.filter((a) => !c.id.startsWith(a)) }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    mounts: [...c.mounts].sort((a, b) => a.destination.localeCompare(b.destination)),
    privileges: {
      user: c.user,
      privileged: p.privileged,
      capAdd: p.capAdd.map(capability).sort(),
      capDrop: p.capDrop.map(capability).sort(),
      hostNetwork: c.networkMode === "host",
      hostPid: p.pidMode === "host",
      hostIpc: p.ipcMode === "host",
      hostUts: p.utsMode === "host",
      hostUserns: p.usernsMode === "host",
      readonlyRootfs: p.readonlyRootfs,
      securityOpt: p.securityOpt,
    },
    restartPolicy: c.restartPolicy,
    restartMaxRetries: c.restartMaxRetries,
    healthcheck: c.healthcheck,
    program: programOf(c.command),
    devices: c.devices,
    ulimits: c.ulimits,
    cgroupParent: c.cgroupParent,
    limits: { memory: c.resources.memory, nanoCpus: c.resources.nanoCpus, cpuQuota: c.resources.cpuQuota, cpuShares: c.resources.cpuShares, pidsLimit: c.resources.pidsLimit },
    env: envVarsOf(c.env),
    ...(packages === undefined ? {} : { packages }),
  }
}

/** Container ids the engine reported an event for since `sinceS` (seconds), up to `untilS`. */
const touchedSince = (engine: DockerEngine, sinceS: number, untilS: number): Effect.Effect<ReadonlySet<string>, ShiftupError> =>
  Effect.tryPromise({
    try: async () => {
      const ids = new Set<string>()
      const stop = new AbortController()
      for await (const e of engine.events({ sinceS, untilS }, stop.signal)) if (e.type === "container") ids.add(e.id)
      return ids
    },
    catch: (e) => new ProbeFailed({ probe: "inventory docker", target: engine.address, detail: `reading engine events: ${e instanceof Error ? e.message : String(e)}` }),
  })

/** A remote engine (`tcp://…`) must be inside the egress allowlist; a local socket is not a network destination. */
export const checkEngineEgress = (address: string, egress: Egress): Effect.Effect<void, ShiftupError> =>
  address.startsWith("unix://")
    ? Effect.void
    : Effect.asVoid(checkEgress(egress, new URL(address.replace(/^tcp:/, "http:")).hostname).pipe(Effect.mapError((e) => (e._tag === "EgressDenied" ? new EgressDenied({ ...e, setting: "inventory.egress" }) : e))))

/**
 * Every container of one engine as inventory assets. The caller has checked the engine's
 * address against the egress allowlist (`checkEngineEgress`; `snapshot` does).
 *
 * @example
 * const { assets } = await Effect.runPromise(dockerAssets({ engine: Docker.Engine.make() }))
 */
export const dockerAssets = (options: DockerSourceOptions): Effect.Effect<{ readonly assets: ReadonlyArray<ContainerAsset>; readonly report: SourceReport }, ShiftupError> =>
  Effect.gen(function* () {
    const started = performance.now()
    const engine = options.engine
    const name = options.name ?? "local"
    const local = engine.address.startsWith("unix://")
    const concurrency = options.concurrency ?? 16
    // Fractional seconds: the engine reads events to the nanosecond, so windows neither overlap nor leave gaps.
    const nowS = Date.now() / 1000
    const listed = yield* engine.list({ all: true, ...(options.labels === undefined ? {} : { labels: options.labels }) }).pipe(Effect.mapError((e) => failure(engine, e)))
    const previous = new Map((options.previous?.assets ?? []).map((a) => [a.containerId, a]))
    const since = options.previous?.report?.eventsUntil
    const touched = previous.size > 0 && since !== undefined ? yield* touchedSince(engine, since, nowS) : undefined
    const reusable = (id: string, state: string): ContainerAsset | undefined => {
      const before = previous.get(id)
      return touched !== undefined && before !== undefined && before.state.status === state && !touched.has(id) ? before : undefined
    }
    const toInspect = listed.filter((s) => reusable(s.id, s.state) === undefined)
    const inspected = yield* Effect.forEach(toInspect, (s) => engine.inspect(s.id).pipe(Effect.map((c): Container | undefined => c), Effect.catchIf((e) => e.status === 404, () => Effect.succeed(undefined))), { concurrency }).pipe(
      Effect.mapError((e) => failure(engine, e)),
    )
    const containers = inspected.filter((c): c is Container => c !== undefined)
    const imageIds = [...new Set(containers.map((c) => c.imageId))]
    const images = new Map<string, ImageDetails>()
    yield* Effect.forEach(
      imageIds,
      (id) =>
        engine.inspectImage(id).pipe(
          Effect.map((i) => void images.set(id, i)),
          Effect.catchIf((e) => e.status === 404, () => Effect.void),
        ),
      { concurrency },
    ).pipe(Effect.mapError((e) => failure(engine, e)))
    const packagesByImage = new Map<string, ReadonlyArray<Package>>()
    if (options.packages !== undefined) {
      const reader = options.packages
      // An image id is a digest of its content: packages read from it before are still true.
      for (const a of previous.values()) if (a.packages !== undefined) packagesByImage.set(a.image.id, a.packages)
      const firstOf = new Map<string, Container>()
      for (const c of containers) if (!packagesByImage.has(c.imageId) && !firstOf.has(c.imageId)) firstOf.set(c.imageId, c)
      yield* Effect.forEach([...firstOf.values()], (c) => Effect.map(reader({ engine, containerId: c.id, imageId: c.imageId, imageRef: c.image }), (p) => void packagesByImage.set(c.imageId, p)), { concurrency })
    }
    const fresh = containers.map((c) => assetOf(c, images.get(c.imageId), options, name, local, options.packages === undefined ? undefined : packagesByImage.get(c.imageId)))
    const kept = listed.map((s) => reusable(s.id, s.state)).filter((a): a is ContainerAsset => a !== undefined)
    const assets = [...fresh, ...kept].sort((a, b) => a.id.localeCompare(b.id))
    const report: SourceReport = { kind: "docker", name, address: engine.address, assets: assets.length, ms: Math.round(performance.now() - started), inspected: containers.length, eventsUntil: nowS }
    return { assets, report }
  })
