/**
 * Faults: an injection plus its compensation. The compensation is data (see Compensation.ts),
 * written to the ledger and fsynced before the injection, so that a crashed run can be undone by
 * another process. In the runner a fault is an acquire/release: inject is acquire, the
 * compensation is the release, which runs on every exit path with its own timeout.
 */
import { readFile, writeFile } from "node:fs/promises"
import { Effect } from "effect"
import * as Compensation from "./Compensation.ts"
import { lift, type Thunk } from "./internal/lift.ts"
import { type Preflight, sealFault, type Refusal } from "./internal/capability.ts"
import { causedBy, fail, InjectionFailed, InvalidExperiment, RollbackFailed, type ShiftupError } from "./ShiftupError.ts"
import type { HttpTarget } from "./Http.ts"
import type { Target } from "./Target.ts"

export const FaultTypeId: unique symbol = Symbol.for("shiftup/Fault") as never

/** `observe` for probes; `disrupt` is reversible; `destroy` mutates data or config (lab only). */
export type Safety = "observe" | "disrupt" | "destroy"

export const safetyRank: Record<Safety, number> = { observe: 0, disrupt: 1, destroy: 2 }

export interface Fault {
  readonly [FaultTypeId]: typeof FaultTypeId
  readonly _tag: "Fault"
  readonly id: string
  readonly title: string
  readonly target: Target
  readonly safety: "disrupt" | "destroy"
  /** The kind of its compensation (`http.request`, `docker.unpause`…), known before the run starts. */
  readonly kind: string
  /** The compensation as data when it is fixed; otherwise a line saying it is captured at injection. */
  readonly compensation: string
}

/**
 * The compensation, or a read-only function capturing it just before injection (saving a file's
 * original contents, say) — then `kind` must name its kind, so the plan can check before the run
 * that a fresh process (`shiftup recover`) could replay it.
 */
export type CompensationOption =
  | { readonly compensation: Compensation.Compensation; readonly kind?: string }
  | { readonly compensation: Thunk<Compensation.Compensation>; readonly kind: string }

export type FaultOptions = FaultSettings & CompensationOption

export interface FaultSettings {
  readonly id: string
  readonly title?: string
  readonly target: Target
  readonly safety?: "disrupt" | "destroy"
  /** An Effect, or a function returning nothing or a Promise. A throw becomes `InjectionFailed`. */
  readonly inject: Thunk<void>
  /** Releases an in-process fault whose compensation is `Compensation.ephemeral(…)`. */
  readonly release?: Thunk<void>
  /** The compensators of the adapter that built this fault, with the module that exports them. */
  readonly provider?: Compensation.Provider
  /**
   * Read-only checks of the planned members at plan time (an adapter's own refusals), run only
   * when nothing else refuses the run. One that connects to the target returns the connections
   * it opened too (`{ refusals, contacts }`), and the plan lists them with the fingerprints.
   */
  readonly preflight?: Effect.Effect<ReadonlyArray<Refusal> | Preflight, ShiftupError>
  /** Every address (URL or `host:port`) the injection or its compensation connects to. */
  readonly contacts?: ReadonlyArray<string>
}

/**
 * A custom fault. The compensation's `kind` must have a compensator in this process and in the
 * one that runs `shiftup recover`: a built-in kind, an adapter's, or the config's `compensators`.
 * The returned value is a description: only the runner can inject it.
 */
export const make = (options: FaultOptions): Fault => {
  const error = (detail: string, cause: unknown) => new InjectionFailed({ fault: options.id, target: options.target.id, detail, ...causedBy(cause) })
  const c = options.compensation
  const fixed = typeof c === "object" && !Effect.isEffect(c) ? c : undefined
  const kind = fixed?.kind ?? options.kind
  if (kind === undefined || kind === "")
    throw fail(new InvalidExperiment({ source: `fault "${options.id}"`, issues: [{ path: "kind", message: "a compensation captured at injection needs `kind` (the compensation kind it will return), so the plan can check that it can be undone" }] }))
  const fault: Fault = {
    [FaultTypeId]: FaultTypeId,
    _tag: "Fault",
    id: options.id,
    title: options.title ?? options.id,
    target: options.target,
    safety: options.safety ?? "disrupt",
    kind,
    compensation: fixed?.description ?? `${kind}, computed at injection (captures the current state first)`,
  }
  return sealFault(fault, {
    capture: fixed !== undefined ? Effect.succeed(fixed) : lift(c as Thunk<Compensation.Compensation>, error),
    inject: lift(options.inject, error),
    // A fixed HTTP compensation contacts its URL too.
    contacts: [...(options.contacts ?? []), ...(fixed?.kind === "http.request" && typeof fixed["url"] === "string" && !(options.contacts ?? []).includes(fixed["url"]) ? [fixed["url"]] : [])],
    ...(options.provider === undefined ? {} : { provider: options.provider }),
    ...(options.preflight === undefined ? {} : { preflight: Effect.map(options.preflight, (p): Preflight => (Array.isArray(p) ? { refusals: p, contacts: [] } : (p as Preflight))) }),
    ...(options.release === undefined ? {} : { release: lift(options.release, (detail, cause) => new RollbackFailed({ fault: options.id, target: options.target.id, detail, ...causedBy(cause) })) }),
  })
}

export const isFault = (u: unknown): u is Fault => typeof u === "object" && u !== null && FaultTypeId in u

export interface SwitchOptions {
  readonly id: string
  readonly title?: string
  /** The fault switch's URL (on a lab's control port, say). */
  readonly url: string
  readonly method?: string
  /** Body that turns the fault on. */
  readonly on: string
  /** Body that turns it off again: the compensation. */
  readonly off: string
}

/**
 * A reversible fault flipped through an HTTP switch, such as the demo lab's `/faults` endpoint.
 * The compensation is the request that flips it back; `recover` can replay it.
 */
export const httpSwitch = (target: HttpTarget, options: SwitchOptions): Fault => {
  const method = options.method ?? "POST"
  // The switch is an address of the target: it is reached with the target's TLS settings.
  const tls = target.tls
  const replayable = tls === undefined ? undefined : { ...(tls.ca === undefined ? {} : { ca: tls.ca }), ...(tls.servername === undefined ? {} : { servername: tls.servername }), ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }) }
  const compensation = Compensation.httpRequest({ target: target.id, method, url: options.url, body: options.off, description: `${method} ${options.url} ${options.off}`, ...(replayable === undefined ? {} : { tls: replayable }) })
  return make({
    id: options.id,
    title: options.title ?? options.id,
    target,
    safety: "disrupt",
    compensation,
    // undici loads when an HTTP switch is flipped, not with every experiment (Compensation.ts says why).
    inject: Effect.flatMap(Effect.promise(() => import("./internal/http.ts")), ({ send }) =>
      send({ method, url: options.url, body: options.on, headers: { "content-type": "application/json" }, ...(tls === undefined ? {} : { tls }) }, { probe: options.id, target: target.id }),
    ).pipe(
      Effect.mapError((e) => fail(new InjectionFailed({ fault: options.id, target: target.id, detail: e.message }))),
      Effect.flatMap((r) => (r.status >= 200 && r.status < 300 ? Effect.void : Effect.fail(fail(new InjectionFailed({ fault: options.id, target: target.id, detail: `switch answered ${r.status}` }))))),
    ),
  })
}

/**
 * Overwrites a file (a config, a state file). `destroy` class: lab targets only. The original
 * contents are saved into the compensation before the write.
 */
export const fileWrite = (target: Target, options: { readonly id: string; readonly title?: string; readonly path: string; readonly content: string }): Fault =>
  make({
    id: options.id,
    title: options.title ?? `overwrite ${options.path}`,
    target,
    safety: "destroy",
    kind: "file.restore",
    compensation: async () => {
      const original = await readFile(options.path).then((b) => b.toString("base64"), (e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? null : Promise.reject(e)))
      return Compensation.fileRestore({ target: target.id, path: options.path, content: original, description: original === null ? `remove ${options.path}` : `restore ${options.path} (${Buffer.from(original, "base64").length} bytes)` })
    },
    inject: () => writeFile(options.path, options.content),
  })

export type { Preflight, PreflightContact, Refusal } from "./internal/capability.ts"
