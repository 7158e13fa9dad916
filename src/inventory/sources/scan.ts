/**
 * The TCP connect scan: connect, and close at once — no byte is sent. Concurrency-bounded, and
 * each connection takes its slot under the probe rate of its host (`reserve`, the run's pacer).
 * Callers pass addresses the egress allowlist has already accepted; this module checks nothing.
 * Plain callbacks rather than an Effect per port: a scan of a thousand ports costs what the
 * sockets cost.
 */
import * as net from "node:net"

export type PortState = "open" | "closed" | "filtered"

export interface ScanTarget {
  /** The checked address to connect to. */
  readonly address: string
  readonly port: number
  /** Whose probe rate the connection counts against (the host as listed). */
  readonly pace: string
}

export interface ScanOptions {
  /** Connections in flight at once; default 100. */
  readonly concurrency?: number
  /** A connection not accepted within this is `filtered`; default 1000 ms. */
  readonly timeoutMs?: number
  /** Milliseconds to wait before the next connection to `pace` (0: now). Default: unpaced. */
  readonly reserve?: (pace: string) => number
  readonly signal?: AbortSignal
}

const probe = (t: ScanTarget, timeoutMs: number, signal: AbortSignal | undefined): Promise<PortState> =>
  new Promise((resolve) => {
    const socket = net.connect({ host: t.address, port: t.port })
    const done = (state: PortState) => {
      clearTimeout(timer)
      signal?.removeEventListener("abort", abort)
      socket.destroy()
      resolve(state)
    }
    const abort = () => done("filtered")
    const timer = setTimeout(() => done("filtered"), timeoutMs)
    signal?.addEventListener("abort", abort, { once: true })
    socket.once("connect", () => done("open"))
    socket.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" || e.code === "ECONNRESET" ? "closed" : "filtered"))
  })

/** The state of each target, in order. */
export const scan = async (targets: ReadonlyArray<ScanTarget>, options: ScanOptions = {}): Promise<ReadonlyArray<PortState>> => {
  const out: Array<PortState> = Array.from({ length: targets.length }, () => "filtered")
  const timeoutMs = options.timeoutMs ?? 1000
  let next = 0
  const worker = async () => {
    while (next < targets.length && options.signal?.aborted !== true) {
      const i = next++
      const t = targets[i] as ScanTarget
      const wait = options.reserve?.(t.pace) ?? 0
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      out[i] = await probe(t, timeoutMs, options.signal)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 100, targets.length)) }, worker))
  return out
}
