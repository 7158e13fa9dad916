/**
 * The environment mapping applied: which entry of the config's `feedback.map` stands in for a
 * finding's production target — by URL origin, by `host:port`, by container name or labels. No
 * entry is a typed error (`UnmappedTarget`) that names the target and the entry to add: a
 * regression experiment never falls back to the production address.
 */
import { Effect } from "effect"
import type { Target } from "../../Target.ts"
import { fail, UnmappedTarget } from "../../ShiftupError.ts"
import { parseSide, type EnvironmentMapping, type FeedbackSettings, type Side } from "./settings.ts"

/** A finding's production target: its id and what it names. */
export interface ProductionTarget {
  readonly id: string
  readonly side: Side
}

export interface Mapped {
  readonly production: ProductionTarget
  readonly to: Side
  readonly environment: "staging" | "development" | "lab"
  /** Its index in `feedback.map`, for the generated file's header. */
  readonly index: number
}

/** What a declared target names, as far as a mapping can match it (a URL, a container selector, a single address). */
export const sideOfTarget = (target: Target): Side | undefined => {
  const declared = target as Target & { readonly url?: unknown; readonly select?: { readonly name?: unknown; readonly labels?: Readonly<Record<string, string>> } }
  if (target.kind === "http" && typeof declared.url === "string") {
    const url = new URL(declared.url)
    return { _tag: "Url", origin: url.origin, url: url.toString() }
  }
  const select = declared.select
  if (target.kind === "container" && select !== undefined) return { _tag: "Container", ...(typeof select.name === "string" ? { name: select.name } : {}), labels: select.labels ?? {} }
  // A bare endpoint (`Target.tcp`) resolves without contact: its one member's endpoint.
  const resolved = Effect.runSyncExit(target.resolve)
  if (resolved._tag === "Success" && resolved.value.members.length === 1) {
    const e = resolved.value.members[0]?.endpoints?.[0]
    if (e !== undefined) return { _tag: "Address", host: e.host, port: e.port }
  }
  return undefined
}

/** What a stored asset (when no experiment declares it) names: a URL, `host:port`, an inventory container (`docker:local/web`), else a container name. */
export const sideOfAsset = (asset: string): Side => {
  // An inventory container asset: `docker:<engine>/<name>`.
  const container = /^docker:[^/]+\/(.+)$/.exec(asset)?.[1]
  if (container !== undefined) return { _tag: "Container", name: container, labels: {} }
  const side = parseSide(asset.replace(/^(endpoint|tcp):(?!\/\/)/, ""))
  return typeof side === "string" ? { _tag: "Container", name: asset, labels: {} } : side
}

const matches = (production: Side, entry: Side): boolean => {
  if (production._tag === "Url" && entry._tag === "Url") return production.origin === entry.origin
  if (production._tag === "Address" && entry._tag === "Address") return production.host === entry.host && production.port === entry.port
  if (production._tag === "Container" && entry._tag === "Container")
    return (entry.name === undefined || entry.name === production.name) && Object.entries(entry.labels).every(([k, v]) => production.labels[k] === v)
  return false
}

export const describeSide = (side: Side): string =>
  side._tag === "Url"
    ? side.origin
    : side._tag === "Address"
      ? `${side.host}:${side.port}`
      : [side.name === undefined ? [] : [`container ${side.name}`], Object.entries(side.labels).map(([k, v]) => `${k}=${v}`)].flat().join(" ")

const suggestion = (side: Side): string =>
  side._tag === "Url"
    ? `{ production: ${JSON.stringify(side.origin)}, to: "http://127.0.0.1:8081" }`
    : side._tag === "Address"
      ? `{ production: ${JSON.stringify(`${side.host}:${side.port}`)}, to: "127.0.0.1:${side.port}" }`
      : side.name !== undefined
        ? `{ production: { container: ${JSON.stringify(side.name)} }, to: { container: ${JSON.stringify(`${side.name}-staging`)} } }`
        : `{ production: { labels: ${JSON.stringify(side.labels)} }, to: { labels: { … } } }`

/** The first entry of `feedback.map` that matches; `UnmappedTarget` when none does. */
export const mapTarget = (fingerprint: string, production: ProductionTarget, settings: FeedbackSettings | undefined): Mapped => {
  const entries: ReadonlyArray<EnvironmentMapping> = settings?.map ?? []
  for (const [index, entry] of entries.entries()) {
    const from = parseSide(entry.production)
    const to = parseSide(entry.to)
    // The config was validated: both sides parse and are of one kind.
    if (typeof from === "string" || typeof to === "string" || !matches(production.side, from)) continue
    return { production, to, environment: entry.environment ?? "staging", index }
  }
  throw fail(new UnmappedTarget({ finding: fingerprint, target: `${production.id} (${describeSide(production.side)})`, suggestion: suggestion(production.side) }))
}
