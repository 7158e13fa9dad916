/**
 * Toxics as core faults. Each one is an acquire/release: the injection checks the proxy's
 * upstream against the run's egress allowlist, starts the proxy if needed and adds the toxic;
 * the release removes it. The proxy lives in this process, so the compensation is
 * `Compensation.ephemeral`: it is ledgered like any other, and dies with the process.
 */
import { Effect } from "effect"
import * as Compensation from "../../Compensation.ts"
import * as Fault from "../../Fault.ts"
import { fail, InvalidExperiment } from "../../ShiftupError.ts"
import { ensureStarted, type Proxy } from "../targets.ts"
import * as Toxic from "../toxic.ts"

/** Makes a fault that adds `toxic` to `proxy` while it is active. */
export const toxic = (proxy: Proxy, t: Toxic.Toxic, title?: string): Fault.Fault => {
  const what = Toxic.describe(t)
  return Fault.make({
    id: `${proxy.id}: ${t.name}`,
    title: title ?? `${what} on proxy ${proxy.id}`,
    target: proxy,
    safety: "disrupt",
    compensation: Compensation.ephemeral({ target: proxy.id, description: `remove toxic "${t.name}" (${what}) from proxy ${proxy.id}` }),
    inject: Effect.gen(function* () {
      yield* ensureStarted(proxy)
      proxy.add(t)
    }),
    release: Effect.sync(() => {
      proxy.remove(t.name)
    }),
  })
}

/**
 * Delays every chunk by `ms` (± `jitter`, uniform). Order is kept; throughput is not limited.
 *
 * @example
 * Net.latency(authProxy, { ms: 1000, jitter: 50 })
 */
export const latency = (proxy: Proxy, options: Toxic.Common & { readonly ms: number; readonly jitter?: number }): Fault.Fault =>
  toxic(proxy, Toxic.make({ kind: "latency", ms: options.ms, jitter: options.jitter ?? 0 }, options))

/** Limits the rate of the stream to `bytesPerSecond`. */
export const bandwidth = (proxy: Proxy, options: Toxic.Common & { readonly bytesPerSecond: number }): Fault.Fault =>
  toxic(proxy, Toxic.make({ kind: "bandwidth", bytesPerSecond: options.bytesPerSecond }, options))

/** Delays the close of each connection (its FIN) by `ms`. */
export const slowClose = (proxy: Proxy, options: Toxic.Common & { readonly ms: number }): Fault.Fault =>
  toxic(proxy, Toxic.make({ kind: "slow-close", ms: options.ms }, options))

/**
 * Drops all data and closes each connection after `ms`; with `ms: 0` (the default) only when the
 * toxic is removed. Removal (the rollback) closes every connection it dropped bytes from.
 */
export const timeout = (proxy: Proxy, options: Toxic.Common & { readonly ms?: number } = {}): Fault.Fault =>
  toxic(proxy, Toxic.make({ kind: "timeout", ms: options.ms ?? 0 }, options))

/**
 * What a blackhole does with the bytes it swallowed once it is removed:
 * - `"close"` (the default): they were dropped, and every connection that lost bytes is closed on
 *   removal, so its client reconnects instead of reading the next reply as the answer to a lost
 *   request;
 * - `"hold"`: nothing is dropped; the bytes wait, and are delivered in order on removal.
 */
export type BlackholeMode = "close" | "hold"

/**
 * Nothing gets through while it is active: clients time out. On removal, the connections it
 * dropped bytes from are closed (`mode: "close"`, the default), or the bytes it held are delivered
 * in order (`mode: "hold"`). No mode drops bytes and lets the connection carry on: a client of a
 * pipelined protocol (Redis, HTTP/1.1 keep-alive, most database wire protocols) would then match
 * each later reply to the wrong request (docs/net.md).
 *
 * @example
 * Net.blackhole(redisProxy)                     // drop; rollback closes the connections that lost bytes
 * Net.blackhole(redisProxy, { mode: "hold" })   // stall; rollback delivers every held byte in order
 */
export const blackhole = (proxy: Proxy, options: Toxic.Common & { readonly mode?: BlackholeMode } = {}): Fault.Fault => {
  const { mode = "close", ...common } = options
  if (mode !== "close" && mode !== "hold")
    throw fail(new InvalidExperiment({ source: `Net.blackhole on proxy ${proxy.id}`, issues: [{ path: "mode", message: `must be "close" (drop; removal closes the connections that lost bytes) or "hold" (removal delivers the held bytes in order), got ${JSON.stringify(mode)}` }] }))
  return toxic(proxy, Toxic.make(mode === "hold" ? { kind: "hold" } : { kind: "timeout", ms: 0 }, { name: "blackhole", ...common }))
}

/** Resets every affected connection (TCP RST: the client sees `ECONNRESET`) `after` ms; default at once. */
export const resetPeer = (proxy: Proxy, options: Toxic.Common & { readonly after?: number } = {}): Fault.Fault =>
  toxic(proxy, Toxic.make({ kind: "reset-peer", ms: options.after ?? 0 }, options))

/** Splits data into chunks of `averageSize` ± `sizeVariation` bytes sent `delayUs` microseconds apart. */
export const slicer = (proxy: Proxy, options: Toxic.Common & { readonly averageSize: number; readonly sizeVariation?: number; readonly delayUs?: number }): Fault.Fault =>
  toxic(proxy, Toxic.make({ kind: "slicer", averageSize: options.averageSize, sizeVariation: options.sizeVariation ?? 0, delayUs: options.delayUs ?? 0 }, options))

/** Lets exactly `bytes` through (per connection, in this direction), then closes the connection. */
export const limitData = (proxy: Proxy, options: Toxic.Common & { readonly bytes: number }): Fault.Fault =>
  toxic(proxy, Toxic.make({ kind: "limit-data", bytes: options.bytes }, options))
