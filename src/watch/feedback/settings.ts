/**
 * The `feedback` section of `shiftup.config.ts`: where `shiftup feedback` writes regression
 * experiments, and the environment mapping — which non-production target stands in for each
 * production one — by URL origin, by `host:port`, or by container selector. Typed here and
 * validated with the rest of the config (every issue at once). A mapping can never point at
 * production: a regression experiment is for staging, development or the lab.
 */
import { Schema } from "effect"

/** A container selector: by name, or by labels (every one must match). */
export interface ContainerSide {
  readonly container?: string
  readonly labels?: Readonly<Record<string, string>>
}

/** One side of a mapping: an http(s) URL (its origin counts), `host:port`, or a container selector. */
export type MappingSide = string | ContainerSide

export interface EnvironmentMapping {
  /** The production target, as the finding's experiment declares it (`https://api.example`, `db.example:5432`, `{ container: "auth" }`). */
  readonly production: MappingSide
  /** The non-production target that stands in for it, of the same kind (`http://127.0.0.1:8081`). */
  readonly to: MappingSide
  /** The environment of `to`; default `staging`. Never production. */
  readonly environment?: "staging" | "development" | "lab"
}

export interface FeedbackSettings {
  /** Where `shiftup feedback` writes; default `experiments` (relative to the working directory). */
  readonly dir?: string
  readonly map?: ReadonlyArray<EnvironmentMapping>
}

/** What a side names: a URL origin, an address, or a container selector. */
export type Side =
  | { readonly _tag: "Url"; readonly origin: string; readonly url: string }
  | { readonly _tag: "Address"; readonly host: string; readonly port: number }
  | { readonly _tag: "Container"; readonly name?: string; readonly labels: Readonly<Record<string, string>> }

/** A side parsed, or why it is not one. */
export const parseSide = (side: MappingSide): Side | string => {
  if (typeof side !== "string") {
    if (side.container === undefined && Object.keys(side.labels ?? {}).length === 0) return "a container selector needs `container` (a name) or `labels`"
    return { _tag: "Container", ...(side.container === undefined ? {} : { name: side.container }), labels: side.labels ?? {} }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(side)) {
    const url = URL.parse(side)
    if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) return `${JSON.stringify(side)} is not an http(s) URL`
    return { _tag: "Url", origin: url.origin, url: url.toString() }
  }
  const m = /^\[?([^\]\s/]+?)\]?:(\d{1,5})$/.exec(side.trim())
  const port = Number(m?.[2])
  if (m === null || !(port > 0 && port < 65_536)) return `${JSON.stringify(side)} is neither an http(s) URL, host:port nor a container selector ({ container } or { labels })`
  return { _tag: "Address", host: m[1] as string, port }
}

const SideSchema = Schema.Union([
  Schema.String,
  Schema.Struct({ container: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))), labels: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)) }),
])

const MappingSchema = Schema.Struct({
  production: SideSchema,
  to: SideSchema,
  environment: Schema.optionalKey(Schema.Literals(["staging", "development", "lab"])),
}).check(
  Schema.makeFilter((m) => {
    const from = parseSide(m.production)
    const to = parseSide(m.to)
    if (typeof from === "string") return `production: ${from}`
    if (typeof to === "string") return `to: ${to}`
    return from._tag === to._tag ? undefined : `production is ${kind[from._tag]} but to is ${kind[to._tag]}: map a target to one of the same kind`
  }),
)

const kind = { Url: "a URL", Address: "a host:port", Container: "a container selector" } as const

/** One side's identity, to compare sides: a URL by origin, an address, a selector. */
const key = (side: MappingSide): string | undefined => {
  const s = parseSide(side)
  return typeof s === "string" ? undefined : s._tag === "Url" ? s.origin : s._tag === "Address" ? `${s.host}:${s.port}` : JSON.stringify([s.name ?? null, Object.entries(s.labels).sort()])
}

/**
 * A stand-in that is itself a production target — the entry's own, or another entry's — would
 * aim a "staging" experiment at production under a staging label: refused.
 */
const noProductionStandIn = (map: ReadonlyArray<EnvironmentMapping>): string | undefined => {
  const production = map.map((m) => key(m.production))
  for (const [i, m] of map.entries()) {
    const j = production.indexOf(key(m.to))
    if (key(m.to) !== undefined && j !== -1)
      return j === i ? `map[${i}]: \`to\` is the production target itself; map it to a staging, development or lab target` : `map[${i}]: \`to\` is the production side of map[${j}]; a stand-in is never a production target`
  }
  return undefined
}

export const FeedbackSettingsSchema = Schema.Struct({
  dir: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
  map: Schema.optionalKey(Schema.Array(MappingSchema).check(Schema.makeFilter(noProductionStandIn))),
})
