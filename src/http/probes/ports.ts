/**
 * Open ports on a target's host compared with a declared inventory: a TCP connect per port,
 * paced by the budget's probe rate and checked against the egress allowlist (the host is
 * resolved once and every connection goes to the checked address).
 */
import * as net from "node:net"
import { Effect } from "effect"
import type { Target } from "../../Target.ts"
import { checkEgress } from "../../internal/egress.ts"
import * as Probe from "../../Probe.ts"
import { RunContext } from "../../RunContext.ts"
import { finding, type Report } from "../findings.ts"

export interface PortsOptions {
  /** The host to scan (an address or a name; it must resolve inside the egress allowlist). */
  readonly host: string
  /** Ports to try. */
  readonly ports: ReadonlyArray<number>
  /** The ports that are meant to be open. */
  readonly inventory: ReadonlyArray<number>
  /** Per-connection deadline; default 500 ms. */
  readonly timeoutMs?: number
  readonly id?: string
}

export interface PortsObservation {
  readonly host: string
  readonly open: ReadonlyArray<number>
  readonly unexpected: ReadonlyArray<number>
  /** Inventory ports that were closed (not a finding: maybe down, see your availability checks). */
  readonly missing: ReadonlyArray<number>
}

/** One connection attempt; `signal` (the probe's interruption) ends it at once. */
const isOpen = (address: string, port: number, timeoutMs: number, signal: AbortSignal) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: address, port })
    const done = (open: boolean) => {
      clearTimeout(timer)
      signal.removeEventListener("abort", stop)
      socket.destroy()
      resolve(open)
    }
    const stop = () => done(false)
    const timer = setTimeout(stop, timeoutMs)
    signal.addEventListener("abort", stop, { once: true })
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })

export const probe = (target: Target, options: PortsOptions): Probe.Probe<Report<PortsObservation>> =>
  Probe.make({
    id: options.id ?? `${target.id} open ports on ${options.host}`,
    target,
    observe: Effect.gen(function* () {
      const run = yield* RunContext
      const { address } = yield* checkEgress(run.egress, options.host)
      const open: Array<number> = []
      let first = true
      for (const port of options.ports) {
        if (!first) yield* run.throttle(target.id)
        first = false
        if (yield* Effect.promise((signal) => isOpen(address, port, options.timeoutMs ?? 500, signal))) open.push(port)
      }
      const unexpected = open.filter((p) => !options.inventory.includes(p))
      const missing = options.inventory.filter((p) => options.ports.includes(p) && !open.includes(p))
      return {
        observation: { host: options.host, open, unexpected, missing },
        findings: unexpected.map((p) => finding("ports.unexpected-open", `${options.host}:${p} accepts connections; inventory: ${options.inventory.join(", ") || "(empty)"}`)),
      }
    }),
  })

export const ruleIds = ["ports.unexpected-open"] as const
