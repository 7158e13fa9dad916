/**
 * Faults: an injection plus its compensation. The compensation is data (see Compensation.ts),
 * written to the ledger and fsynced before the injection, so that a crashed run can be undone by
 * another process. In the runner a fault is an acquire/release: inject is acquire, the
 * compensation is the release, which runs on every exit path with its own timeout.
 */
import { readFile, writeFile } from "node:fs/promises"
import { Effect } from "effect"
import * as Compensation from "./Compensation.ts"
import { send } from "./internal/http.ts"
import { lift, type Thunk } from "./internal/lift.ts"
import { fail, InjectionFailed, RollbackFailed, type ShiftupError } from "./ShiftupError.ts"
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
  /**
   * The compensation, or a read-only effect computing it just before injection (e.g. saving a
   * file's original contents). It is ledgered before `inject` runs.
   */
  readonly compensation: Compensation.Compensation | Effect.Effect<Compensation.Compensation, ShiftupError>
  readonly inject: Effect.Effect<void, ShiftupError>
  /**
   * For `ephemeral` compensations only (faults living inside this process): how the runner
   * releases the fault. Other kinds are replayed through their compensator.
   */
  readonly release?: Effect.Effect<void, ShiftupError>
  /**
   * Compensators an adapter ships for its own compensation kinds (`docker.*`), so the runner can
   * replay them without configuration; `recover` loads the same ones from the adapter.
   */
  readonly compensators?: Compensation.Compensators
}

export interface FaultOptions {
  readonly id: string
  readonly title?: string
  readonly target: Target
  readonly safety?: "disrupt" | "destroy"
  readonly compensation: Compensation.Compensation | Thunk<Compensation.Compensation>
  /** An Effect, or a function returning nothing or a Promise. A throw becomes `InjectionFailed`. */
  readonly inject: Thunk<void>
  /** Releases an in-process fault whose compensation is `Compensation.ephemeral(…)`. */
  readonly release?: Thunk<void>
  /** The compensators of the adapter that built this fault (see `Fault.compensators`). */
  readonly compensators?: Compensation.Compensators
}

/**
 * A custom fault. The compensation's `kind` must have a compensator in this process and in the
 * one that runs `shiftup recover` (config `compensators`).
 */
export const make = (options: FaultOptions): Fault => {
  const error = (detail: string) => fail(new InjectionFailed({ fault: options.id, target: options.target.id, detail }))
  const c = options.compensation
  return {
    [FaultTypeId]: FaultTypeId,
    _tag: "Fault",
    id: options.id,
    title: options.title ?? options.id,
    target: options.target,
    safety: options.safety ?? "disrupt",
    compensation: typeof c === "object" && !Effect.isEffect(c) ? c : lift(c, error),
    inject: lift(options.inject, error),
    ...(options.compensators === undefined ? {} : { compensators: options.compensators }),
    ...(options.release === undefined ? {} : { release: lift(options.release, (detail) => fail(new RollbackFailed({ fault: options.id, target: options.target.id, detail }))) }),
  }
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
  const compensation = Compensation.httpRequest({ target: target.id, method, url: options.url, body: options.off, description: `${method} ${options.url} ${options.off}` })
  return make({
    id: options.id,
    title: options.title ?? options.id,
    target,
    safety: "disrupt",
    compensation,
    inject: send({ method, url: options.url, body: options.on, headers: { "content-type": "application/json" } }, { probe: options.id, target: target.id }).pipe(
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
    compensation: async () => {
      const original = await readFile(options.path).then((b) => b.toString("base64"), (e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? null : Promise.reject(e)))
      return Compensation.fileRestore({ target: target.id, path: options.path, content: original, description: original === null ? `remove ${options.path}` : `restore ${options.path} (${Buffer.from(original, "base64").length} bytes)` })
    },
    inject: () => writeFile(options.path, options.content),
  })
