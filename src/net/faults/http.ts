/**
 * HTTP faults: an undici interceptor (`faults/interceptors.ts`) as a core fault, installed on a
 * fault switch composed into the user's client, on a plain dispatcher, or on undici's global
 * dispatcher. The interceptor lives in this process, so the compensation is
 * `Compensation.ephemeral`: ledgered like any other, released by the fault's own `release`.
 */
import { type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from "undici"
import * as Compensation from "../../Compensation.ts"
import * as Fault from "../../Fault.ts"
import type { Target } from "../../Target.ts"
import type * as Interceptor from "./interceptors.ts"

/** Where an HTTP fault is installed: a fault switch composed into the user's client, a plain dispatcher, or undici's global dispatcher. */
export type HttpInstall = Interceptor.FaultSwitch | Dispatcher | "global"

export interface HttpFaultOptions {
  readonly id: string
  readonly title?: string
  /** The service whose answers the client sees altered (what the policy classifies). */
  readonly target: Target
  readonly interceptor: Interceptor.Interceptor
  /**
   * A `FaultSwitch` already composed into the client (recommended: you choose its place among
   * your interceptors); a plain (not composed) dispatcher, whose `dispatch` is wrapped; or
   * `"global"`, which composes the fault onto the global dispatcher. Rollback restores the
   * previous state in each case.
   */
  readonly on: HttpInstall
}

const isSwitch = (u: HttpInstall): u is Interceptor.FaultSwitch => typeof u === "object" && "add" in u && "interceptor" in u

/**
 * An undici interceptor as a core fault (compensation `ephemeral`: it lives in this process).
 *
 * @example
 * const faults = Net.http.faultSwitch()
 * const client = new Agent().compose(faults.interceptor)
 * Net.httpFault({ id: "no-auth-header", target: api, on: faults, interceptor: Net.http.stripHeaders() })
 */
export const httpFault = (options: HttpFaultOptions): Fault.Fault => {
  const where = options.on === "global" ? "the global dispatcher" : isSwitch(options.on) ? "its fault switch" : "the given dispatcher"
  let undo: (() => void) | undefined
  return Fault.make({
    id: options.id,
    title: options.title ?? options.id,
    target: options.target,
    safety: "disrupt",
    compensation: Compensation.ephemeral({ target: options.target.id, description: `remove HTTP fault "${options.id}" from ${where}` }),
    inject: () => {
      const on = options.on
      if (on === "global") {
        const previous = getGlobalDispatcher()
        setGlobalDispatcher(previous.compose(options.interceptor))
        undo = () => setGlobalDispatcher(previous)
      } else if (isSwitch(on)) undo = on.add(options.interceptor)
      else {
        const own = Object.getOwnPropertyDescriptor(on, "dispatch")
        const original = on.dispatch.bind(on)
        const wrapped = options.interceptor(original)
        ;(on as { dispatch: Dispatcher["dispatch"] }).dispatch = wrapped
        undo = () => {
          if (own === undefined) delete (on as { dispatch?: unknown }).dispatch
          else Object.defineProperty(on, "dispatch", own)
        }
        // A composed dispatcher is a Proxy that always answers its own `dispatch`.
        if (on.dispatch !== wrapped) throw new Error("this dispatcher is composed (dispatcher.compose(...)), so its dispatch cannot be wrapped: compose a Net.http.faultSwitch() into it and install the fault on the switch")
      }
    },
    release: () => {
      undo?.()
      undo = undefined
    },
  })
}
