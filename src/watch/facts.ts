/**
 * The jobs that judge inventory facts: `misconfig` (the misconfiguration rules under the profile
 * in force for each asset) and `vulns` (the packages of the containers' images, or an SBOM,
 * matched against a local OSV database). Their facts come from the local Docker engine (its API
 * only: no container is contacted), the config's `inventory` sources (endpoints planned against
 * the floor, as `shiftup inventory` does) or a snapshot file. Everything a job names — profile,
 * rules, files, the OSV data, the inventory's endpoints — is checked when `shiftup watch` starts,
 * so a job the floor refuses (a production endpoint without the opt-in, a production data store)
 * never starts; each tick reads the files again, so another process may refresh them.
 */
import { readFileSync, statSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { Effect } from "effect"
import type { Config } from "../Config.ts"
import type { Package } from "../inventory/Package.ts"
import type { Asset, Snapshot } from "../inventory/snapshot/model.ts"
import type { SnapshotOptions } from "../inventory/snapshot/take.ts"
import type { ProbeBudget } from "../RunContext.ts"
import { isShiftupError, type Issue } from "../ShiftupError.ts"
import { fromMisconfig, fromVulns } from "./observations.ts"
import type { FactSource, MisconfigJob, VulnsJob } from "./settings.ts"
import type { Observation } from "./store/Store.ts"

export interface FactsContext {
  readonly config: Config
  readonly probeBudget?: ProbeBudget
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

type Live = "docker" | "inventory" | { readonly docker: { readonly labels: ReadonlyArray<string> } }

/** A snapshot file, or `undefined` for a live source. */
const fileOf = (from: FactSource): string | undefined => (typeof from !== "string" && "snapshot" in from ? from.snapshot : undefined)

/** The snapshot options of a live source, with the config's safety settings. */
const optionsOf = (from: Live, ctx: FactsContext, fromConfig: (c: Config) => { readonly snapshot: SnapshotOptions }): SnapshotOptions => {
  const base = fromConfig(ctx.config).snapshot
  const { docker: _docker, endpoints: _endpoints, ...safety } = base
  const sources = from === "inventory" ? base : { ...safety, docker: from === "docker" ? true : { labels: from.docker.labels } }
  return { ...sources, ...(ctx.probeBudget === undefined ? {} : { probeBudget: ctx.probeBudget }) }
}

/**
 * Why a source cannot be used, checked before the watcher starts: a snapshot file that does not
 * parse, an `inventory` source with nothing configured or an endpoint the floor refuses (planned
 * without a packet, DNS lookups aside).
 */
export const sourceIssues = async (from: FactSource | { readonly sbom: string }, ctx: FactsContext, path: string): Promise<ReadonlyArray<Issue>> => {
  try {
    if (typeof from !== "string" && "snapshot" in from) {
      const { parse } = await import("../inventory/snapshot/take.ts")
      parse(readFileSync(from.snapshot, "utf8"), from.snapshot)
      return []
    }
    if (typeof from !== "string" && "sbom" in from) {
      await (await import("../inventory/Sbom.ts")).read(from.sbom)
      return []
    }
    if (from !== "inventory") return []
    const { fromConfig } = await import("../inventory/track.ts")
    const options = optionsOf(from, ctx, fromConfig)
    if ((options.docker === undefined || options.docker === false) && options.endpoints === undefined)
      return [{ path, message: "this job reads the config's `inventory` sources, and there are none: add an `inventory` section (docs/inventory.md), or read the local engine with `from: \"docker\"`" }]
    if (options.endpoints === undefined) return []
    const { planEndpoints } = await import("../inventory/sources/endpoints.ts")
    const { safetyOf } = await import("../inventory/snapshot/take.ts")
    await Effect.runPromise(planEndpoints({ ...options.endpoints, ...(options.exceptions === undefined ? {} : { exceptions: options.exceptions }) }, safetyOf(options)))
    return []
  } catch (e) {
    return [{ path, message: isShiftupError(e) || e instanceof Error ? `${(e as Error).message}` : messageOf(e) }]
  }
}

/** A snapshot of a source; with `packages`, each container image's packages read in full (cached by image id across ticks). */
const snapshotOf = async (from: FactSource, ctx: FactsContext, packages?: Map<string, ReadonlyArray<Package>>): Promise<Snapshot> => {
  const file = fileOf(from)
  if (file !== undefined) {
    const { parse } = await import("../inventory/snapshot/take.ts")
    return parse(readFileSync(file, "utf8"), file)
  }
  const [{ fromConfig }, { snapshot }] = await Promise.all([import("../inventory/track.ts"), import("../inventory/snapshot/take.ts")])
  const options = optionsOf(from as Live, ctx, fromConfig)
  if (packages === undefined) return Effect.runPromise(snapshot(options))
  const { fromImage } = await import("../inventory/packages/image.ts")
  return Effect.runPromise(
    snapshot({
      ...options,
      // The image is read without running it: a stopped container made from it, labelled for `shiftup reap`.
      packages: ({ engine, imageId }) => {
        const known = packages.get(imageId)
        const read = known !== undefined ? Effect.succeed(known) : Effect.map(fromImage(engine, imageId, { labels: { "shiftup.run": `watch-${randomBytes(4).toString("hex")}` } }), (found) => (packages.set(imageId, found.packages), found.packages))
        return Effect.map(read, (list) => list.map((p) => ({ ecosystem: p.ecosystem, name: p.name, version: p.version, path: p.location.path })))
      },
    }),
  )
}

export interface FactsOutcome {
  readonly seen: ReadonlyArray<Observation>
  readonly summary: string
}

/** One misconfiguration scan: every rule over every asset, each under its profile. */
export const runMisconfig = async (spec: MisconfigJob["misconfig"], ctx: FactsContext): Promise<FactsOutcome> => {
  const snap = await snapshotOf(spec.from, ctx)
  const { evaluate } = await import("../misconfig/evaluate.ts")
  const evaluation = evaluate(snap.assets, {
    ...(ctx.config.misconfig === undefined ? {} : { settings: ctx.config.misconfig }),
    ...(spec.profile === undefined ? {} : { profile: spec.profile }),
    ...(spec.rules === undefined ? {} : { rules: spec.rules }),
    now: new Date(snap.takenAt),
  })
  const seen = fromMisconfig(evaluation.findings)
  return { seen, summary: `${snap.assets.length} asset(s), ${evaluation.findings.length} misconfiguration(s), ${seen.length} recorded (info not recorded)` }
}

/** The OSV database at `path`: a directory of advisories, or one advisory file. */
const loadOsv = async (path: string) => {
  const Osv = await import("../inventory/osv/index.ts")
  return statSync(path).isDirectory() ? (await Osv.load(path)).advisories : [await Osv.readAdvisory(path)]
}

/** Every package of every container asset (the image's, read in full; or a snapshot's recorded list), by asset id. */
const packagesByAsset = (assets: ReadonlyArray<Asset>, full: ReadonlyMap<string, ReadonlyArray<Package>>): ReadonlyArray<readonly [string, ReadonlyArray<Package>]> =>
  assets.flatMap((a) => {
    if (a.kind !== "container") return []
    const read = full.get(a.image.id)
    if (read !== undefined) return [[a.id, read] as const]
    if (a.packages === undefined) return []
    return [[a.id, a.packages.map((p): Package => ({ ecosystem: p.ecosystem as Package["ecosystem"], name: p.name, version: p.version, purl: "", location: { image: a.image.ref, path: p.path } }))] as const]
  })

/** Validates the OSV data at start (the first invalid file is named). */
export const osvIssues = async (path: string, at: string): Promise<ReadonlyArray<Issue>> => {
  try {
    await loadOsv(path)
    return []
  } catch (e) {
    return [{ path: at, message: `the OSV data ${JSON.stringify(path)}: ${messageOf(e)}` }]
  }
}

/** One vulnerability scan: the packages matched against the OSV data as it is now. */
export const runVulns = async (spec: VulnsJob["vulns"], ctx: FactsContext, cache: Map<string, ReadonlyArray<Package>>): Promise<FactsOutcome> => {
  const [advisories, Osv] = await Promise.all([loadOsv(spec.osv), import("../inventory/osv/index.ts")])
  const idx = Osv.index(advisories)
  let byAsset: ReadonlyArray<readonly [string, ReadonlyArray<Package>]>
  if (typeof spec.from !== "string" && "sbom" in spec.from) byAsset = [[`sbom:${spec.from.sbom}`, (await (await import("../inventory/Sbom.ts")).read(spec.from.sbom)).packages]]
  else byAsset = packagesByAsset((await snapshotOf(spec.from, ctx, fileOf(spec.from) === undefined ? cache : undefined)).assets, cache)
  const seen = byAsset.flatMap(([asset, list]) => fromVulns(asset, Osv.match(idx, list).findings))
  const packages = byAsset.reduce((n, [, list]) => n + list.length, 0)
  return { seen, summary: `${packages} package(s) of ${byAsset.length} asset(s), ${advisories.length} advisories, ${seen.length} finding(s)` }
}
