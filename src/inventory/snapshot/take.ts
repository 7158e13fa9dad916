/**
 * Taking a snapshot: the configured sources, planned first — every endpoint checked against the
 * egress allowlist and the safety floor, every remote engine's address against the allowlist —
 * then read, and merged into one `shiftup.inventory/v1` document with its assets sorted by id.
 * Given the previous snapshot, each Docker engine is read incrementally (see `sources/docker.ts`).
 */
import { Effect } from "effect"
import { effective, type Budget } from "../../Budget.ts"
import type { ProbeBudget } from "../../RunContext.ts"
import type { DockerEngine, EngineOptions } from "../../docker/model.ts"
import type { Exception } from "../../internal/classify.ts"
import { defaultEgress, makeEgress } from "../../internal/egress.ts"
import type { PolicySettings } from "../../Policy.ts"
import { InvalidArguments, type ShiftupError } from "../../ShiftupError.ts"
import { version } from "../../version.ts"
import type { PackageReader } from "../sources/docker.ts"
import { endpointAssets, planEndpoints, type EndpointSourceOptions, type Safety } from "../sources/endpoints.ts"
import { schema, type Asset, type ContainerAsset, type Snapshot, type SourceReport } from "./model.ts"

export interface DockerSource extends EngineOptions {
  /** The engine's name in asset ids (`docker:<name>/<container>`); default `local`. */
  readonly name?: string
  /** Only containers with all these labels (`key` or `key=value`). */
  readonly labels?: ReadonlyArray<string>
  /** A client you made (tests, a custom transport); default one for `host`/`socketPath`/`DOCKER_HOST`. */
  readonly client?: DockerEngine
}

export interface SnapshotOptions {
  /** `true`: the local engine (`DOCKER_HOST` or the default socket); or engines by address. */
  readonly docker?: boolean | DockerSource | ReadonlyArray<DockerSource>
  readonly endpoints?: EndpointSourceOptions
  /**
   * The explicit opt-in to observing production: an endpoint whose environment is production or
   * unknown is refused without it. Observation only, as for experiments; no setting lowers the floor.
   */
  readonly observeProduction?: boolean
  /** Destinations beyond loopback the scan may reach (CIDRs or addresses). */
  readonly egress?: ReadonlyArray<string>
  /** The config's policy (`denyTargets`, `observeProduction: false`…): it can only refuse more. */
  readonly policy?: PolicySettings
  /** The config's budget caps: `maxProbeRate` paces the scan. */
  readonly budget?: Budget
  readonly exceptions?: ReadonlyArray<Exception>
  /** Extra label keys naming an owner, tried before the built-in ones. */
  readonly ownerLabels?: ReadonlyArray<string>
  /** Fills each container's `packages` (once per distinct image id). */
  readonly packages?: PackageReader
  /** The previous snapshot: unchanged containers are not inspected again, known images not re-read. */
  readonly previous?: Snapshot
  /** Correlation id the scan's HTTP requests carry; default `inventory-<time>`. */
  readonly runId?: string
  /** A probe budget shared with other scans and runs (a watcher's jobs): every endpoint probe also takes its slot there, under its host. */
  readonly probeBudget?: ProbeBudget
  /** Docker inspects in flight at once; default 16. */
  readonly concurrency?: number
}

const dockerSources = (d: SnapshotOptions["docker"]): ReadonlyArray<DockerSource> => (d === undefined || d === false ? [] : d === true ? [{}] : Array.isArray(d) ? d : [d as DockerSource])

/** The safety settings the endpoint plan checks against. */
export const safetyOf = (options: SnapshotOptions): Safety => ({
  egress: makeEgress([...defaultEgress, ...(options.egress ?? [])]),
  observeProduction: options.observeProduction === true,
  policy: options.policy ?? {},
  probeRates: effective(undefined, options.budget).probeRates,
  runId: options.runId ?? `inventory-${Date.now().toString(36)}`,
  ...(options.probeBudget === undefined ? {} : { probeBudget: options.probeBudget }),
})

/**
 * One snapshot of everything the options name.
 *
 * @example
 * const snap = await Effect.runPromise(Inventory.snapshot({ docker: true, endpoints: { endpoints: ["127.0.0.1:6379"] }, observeProduction: true }))
 */
export const snapshot = (options: SnapshotOptions): Effect.Effect<Snapshot, ShiftupError> =>
  Effect.gen(function* () {
    const takenAt = new Date().toISOString()
    const safety = yield* Effect.try({ try: () => safetyOf(options), catch: (e) => new InvalidArguments({ detail: e instanceof Error ? e.message : String(e) }) })
    const engines = dockerSources(options.docker)
    const names = engines.map((e) => e.name ?? "local")
    const twice = names.find((n, i) => names.indexOf(n) !== i)
    if (twice !== undefined) return yield* Effect.fail(new InvalidArguments({ detail: `two Docker engines are named "${twice}": give each a name of its own (asset ids are docker:<name>/<container>)` }))
    // Plan before touch: a refused endpoint fails the snapshot before any engine or port is contacted.
    const endpoints = options.endpoints === undefined ? undefined : { ...options.endpoints, ...(options.exceptions === undefined ? {} : { exceptions: options.exceptions }) }
    const plan = endpoints === undefined ? undefined : yield* planEndpoints(endpoints, safety)
    // dockerode loads only for a snapshot that reads an engine.
    const docker = engines.length === 0 ? undefined : yield* Effect.promise(() => Promise.all([import("../sources/docker.ts"), import("../../docker/engine.ts")]))
    // Every remote engine's address is checked before any engine is read.
    if (docker !== undefined) for (const source of engines) yield* docker[0].checkEngineEgress(source.client?.address ?? docker[1].addressOf(source), safety.egress)
    const sources: Array<SourceReport> = []
    const assets: Array<Asset> = []
    for (const source of engines) {
      const name = source.name ?? "local"
      const owned = source.client === undefined
      if (docker === undefined) break
      const [{ dockerAssets }, Engine] = docker
      const client = source.client ?? Engine.make(source)
      const before = options.previous?.sources.find((s) => s.kind === "docker" && s.name === name)
      const previous = options.previous?.assets.filter((a): a is ContainerAsset => a.kind === "container" && a.engine === name)
      const read = yield* dockerAssets(
        {
          name,
          engine: client,
          ...(source.labels === undefined ? {} : { labels: source.labels }),
          ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
          ...(options.ownerLabels === undefined ? {} : { ownerLabels: options.ownerLabels }),
          ...(options.exceptions === undefined ? {} : { exceptions: options.exceptions }),
          ...(options.packages === undefined ? {} : { packages: options.packages }),
          ...(previous === undefined ? {} : { previous: { assets: previous, ...(before === undefined ? {} : { report: before }) } }),
        },
      ).pipe(Effect.ensuring(Effect.sync(() => (owned ? client.close() : undefined))))
      sources.push(read.report)
      assets.push(...read.assets)
    }
    if (endpoints !== undefined) {
      const read = yield* endpointAssets(endpoints, safety, plan)
      sources.push(read.report)
      assets.push(...read.assets)
    }
    return { schema, shiftup: version, takenAt, sources, assets: assets.sort((a, b) => a.id.localeCompare(b.id)) }
  })

/** Reads a snapshot document, checking its schema. */
export const parse = (text: string, source = "snapshot"): Snapshot => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new InvalidArguments({ detail: `${source} is not JSON: ${e instanceof Error ? e.message : String(e)}` })
  }
  const v = value as Partial<Snapshot> | null
  if (v === null || typeof v !== "object" || v.schema !== schema || !Array.isArray(v.assets) || !Array.isArray(v.sources) || typeof v.takenAt !== "string")
    throw new InvalidArguments({ detail: `${source} is not a ${schema} snapshot (written by \`shiftup inventory --out\`)` })
  return v as Snapshot
}
