/**
 * Targets: what an experiment may touch. A target is declared as a selector; at plan time its
 * `resolve` effect (read-only discovery, never a contact with a system under test) returns the
 * concrete members and the population the selector was drawn from, so percentage budgets work.
 */
import { Effect } from "effect"
import { fail, InvalidExperiment, type ShiftupError } from "./ShiftupError.ts"

export const TargetTypeId: unique symbol = Symbol.for("shiftup/Target") as never
export type TargetTypeId = typeof TargetTypeId

/** Where a target lives. `unknown` is treated as `production` by the safety floor. */
export type Environment = "production" | "staging" | "development" | "lab" | "unknown"

export const environments: ReadonlyArray<Environment> = ["production", "staging", "development", "lab", "unknown"]

/** What an adapter knows about one concrete member of a target, used for classification. */
export interface Facts {
  /** Stable member id: a URL, a container id, a file path. */
  readonly id: string
  readonly name?: string
  readonly hostnames?: ReadonlyArray<string>
  readonly labels?: Readonly<Record<string, string>>
  /** Process environment variables of the target (e.g. a container's `Env`). */
  readonly env?: Readonly<Record<string, string>>
  readonly image?: string
  readonly process?: string
  readonly ports?: ReadonlyArray<number>
  /** A data store engine recognised by a harmless protocol handshake, if an adapter ran one. */
  readonly fingerprint?: string
  /**
   * Network endpoints the member answers on (an HTTP target's URL, a proxy's upstream, a
   * container's ports): the addresses its faults may contact, and where planning may run a
   * protocol fingerprint when passive signals do not decide.
   */
  readonly endpoints?: ReadonlyArray<Endpoint>
}

export interface Endpoint {
  readonly host: string
  readonly port: number
  /** What it speaks, when known; `tcp` when not. */
  readonly protocol: "tcp" | "http" | "https"
}

export interface Resolution {
  readonly members: ReadonlyArray<Facts>
  /** Size of the population the selector picked its members from. */
  readonly population: number
  /**
   * Addresses of the members themselves (e.g. a local Docker engine's containers) that the run's
   * probes and faults may reach in addition to the budget's egress (invariant 7).
   */
  readonly egress?: ReadonlyArray<string>
}

export interface Target {
  readonly [TargetTypeId]: TargetTypeId
  readonly id: string
  /** Adapter kind: `http`, `tcp`, `file`, `memory`, `container`… */
  readonly kind: string
  /** Explicit environment: the strongest signal. */
  readonly environment?: Environment
  /** Explicit data store classification: `true`, or the engine's name. */
  readonly dataStore?: boolean | string
  readonly labels: Readonly<Record<string, string>>
  readonly owner?: string
  /** Read-only discovery at plan time. */
  readonly resolve: Effect.Effect<Resolution, ShiftupError>
}

export interface TargetOptions {
  readonly kind?: string
  readonly environment?: Environment
  readonly dataStore?: boolean | string
  readonly labels?: Readonly<Record<string, string>>
  readonly owner?: string
  /** Facts about the single member; defaults to `{ id }`. */
  readonly facts?: Omit<Facts, "id"> & { readonly id?: string }
  /** Custom discovery; overrides `facts`. */
  readonly resolve?: Effect.Effect<Resolution, ShiftupError>
}

/**
 * A target with one member, or with custom discovery.
 *
 * @example
 * const store = Target.make("orders-db", { environment: "staging", dataStore: "postgres" })
 */
export const make = (id: string, options: TargetOptions = {}): Target => {
  const facts: Facts = { ...options.facts, id: options.facts?.id ?? id, labels: { ...options.labels, ...options.facts?.labels } }
  return {
    [TargetTypeId]: TargetTypeId,
    id,
    kind: options.kind ?? "generic",
    ...(options.environment === undefined ? {} : { environment: options.environment }),
    ...(options.dataStore === undefined ? {} : { dataStore: options.dataStore }),
    labels: options.labels ?? {},
    ...(options.owner === undefined ? {} : { owner: options.owner }),
    resolve: options.resolve ?? Effect.succeed({ members: [facts], population: 1 }),
  }
}

/**
 * A bare network endpoint: "this address", with nothing else known about it. Planning classifies
 * it by its host name, its port and — when those do not decide — a protocol fingerprint.
 *
 * @example
 * const cache = Target.tcp("127.0.0.1:6380", { environment: "staging" })
 */
export const tcp = (address: string, options: Omit<TargetOptions, "kind" | "resolve" | "facts"> & { readonly id?: string } = {}): Target => {
  const m = /^\[?([^\]\s/]+?)\]?:(\d{1,5})$/.exec(address.trim())
  const port = Number(m?.[2])
  if (m === null || !(port > 0 && port < 65536))
    throw fail(new InvalidExperiment({ source: `target "${options.id ?? address}"`, issues: [{ path: "address", message: `"${address}" is not host:port (IPv6 in brackets: [::1]:6379)` }] }))
  const host = m[1] as string
  const { id, ...rest } = options
  return make(id ?? address, { ...rest, kind: "tcp", facts: { id: `${host}:${port}`, hostnames: [host], ports: [port], endpoints: [{ host, port, protocol: "tcp" }] } })
}

export const isTarget = (u: unknown): u is Target => typeof u === "object" && u !== null && TargetTypeId in u
