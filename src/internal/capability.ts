/**
 * Sealed capabilities (DESIGN.md: a user holds a Fault or a Probe as a description; only the
 * runner can inject, release or observe it). The effects live in module-private weak maps keyed
 * by the very object `Fault.make` / `Probe.make` returned, so no path through the public API —
 * a generator experiment, a spread copy, a property lookup — can skip the ledger, the floor or
 * the budget. This module is not exported from any entry of the package.
 */
import { Effect } from "effect"
import type * as Compensation from "../Compensation.ts"
import type { Fault } from "../Fault.ts"
import type { Probe } from "../Probe.ts"
import type { ShiftupError } from "../ShiftupError.ts"

/** A plan-time refusal a fault raises about its own members (e.g. a host network namespace). */
export interface Refusal {
  readonly rule: string
  readonly detail: string
}

/**
 * A connection a fault's plan-time check (`preflight`) opened, for the plan's `contacts`: what was
 * sent and what came back, said briefly. Bytes are the commands' and the replies' payloads.
 */
export interface PreflightContact {
  /** `host:port` it connected to. */
  readonly address: string
  /** What the connection was for: "read-only scope scan (SCAN, DUMP)". */
  readonly handshake: string
  readonly sent: string
  readonly received: string
  readonly bytesSent: number
  readonly bytesReceived: number
  readonly ms: number
}

/** What a fault's plan-time check found: its refusals, and every connection it opened. */
export interface Preflight {
  readonly refusals: ReadonlyArray<Refusal>
  readonly contacts: ReadonlyArray<PreflightContact>
}

export interface FaultCapability {
  /** The compensation as data, or the read-only effect capturing it just before injection. */
  readonly capture: Effect.Effect<Compensation.Compensation, ShiftupError>
  readonly inject: Effect.Effect<void, ShiftupError>
  /** For `ephemeral` compensations: how the runner releases the in-process fault. */
  readonly release?: Effect.Effect<void, ShiftupError>
  /** The adapter's compensators and the module a fresh process loads them from. */
  readonly provider?: Compensation.Provider
  /** Read-only checks of the planned members at plan time; each refusal refuses the run. */
  readonly preflight?: Effect.Effect<Preflight, ShiftupError>
  /** Every address (URL or host:port) the injection and its compensation connect to. */
  readonly contacts: ReadonlyArray<string>
}

export interface ProbeCapability<A> {
  readonly observe: Effect.Effect<A, ShiftupError>
}

export interface ResourceCapability {
  readonly acquire: Effect.Effect<unknown, ShiftupError>
  readonly release: (value: unknown) => Effect.Effect<void, ShiftupError>
}

const faults = new WeakMap<object, FaultCapability>()
const resources = new WeakMap<object, ResourceCapability>()
const probes = new WeakMap<object, ProbeCapability<unknown>>()

export const sealFault = <F extends object>(fault: F, capability: FaultCapability): F => {
  faults.set(fault, capability)
  return Object.freeze(fault)
}

export const sealProbe = <P extends object, A>(probe: P, capability: ProbeCapability<A>): P => {
  probes.set(probe, capability as ProbeCapability<unknown>)
  return Object.freeze(probe)
}

export const sealResource = <R extends object>(resource: R, capability: ResourceCapability): R => {
  resources.set(resource, capability)
  return Object.freeze(resource)
}

export const resourceOf = (resource: { readonly id: string }): ResourceCapability => {
  const c = resources.get(resource)
  if (c === undefined) throw new Error(`"${resource.id}" is not a resource built by Resource.make (a copied or hand-made resource carries no capability)`)
  return c
}

/** A fault's capability; a defect for an object that no `Fault.make` sealed (a forged fault). */
export const faultOf = (fault: Fault): FaultCapability => {
  const c = faults.get(fault)
  if (c === undefined) throw new Error("not a fault built by Fault.make (a copied or hand-made fault object carries no capability)")
  return c
}

export const probeOf = <A>(probe: Probe<A>): ProbeCapability<A> => {
  const c = probes.get(probe)
  if (c === undefined) throw new Error(`"${probe.id}" is not a probe built by Probe.make (a copied or hand-made probe object carries no capability)`)
  return c as ProbeCapability<A>
}

/** Observes a probe from inside another probe or an adapter (never from user code). */
export const observeOf = <A>(probe: Probe<A>): Effect.Effect<A, ShiftupError> => Effect.suspend(() => probeOf(probe).observe)
