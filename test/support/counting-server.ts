/**
 * Loopback servers that count what arrives at them, for the tests that prove a probe stops
 * sending once it is interrupted. The HTTP one counts each request when its head arrives and
 * answers it after `answerAfterMs`, so a probe's loop is slow enough to be caught in the middle;
 * the TCP one accepts connections and never says a word (a handshake that hangs).
 */
import * as http from "node:http"
import * as net from "node:net"
import type { AddressInfo } from "node:net"

export interface CountingServerOptions {
  /** Delay before each answer; default 20 ms. */
  readonly answerAfterMs?: number
  /** Status of each answer (by request path); default 200. */
  readonly status?: (path: string) => number
  readonly body?: string
}

export interface CountingServer {
  readonly url: string
  /** Requests that have arrived so far. */
  readonly count: () => number
  /** Requests whose client went away before the answer was sent (aborted in flight). */
  readonly abandoned: () => number
  /** Resolves once `n` requests have arrived. */
  readonly seen: (n: number) => Promise<void>
  readonly close: () => Promise<void>
}

/** Counts arrivals and resolves the waits for `n` of them. */
const arrivals = () => {
  let count = 0
  const waiting: Array<{ readonly n: number; readonly resolve: () => void }> = []
  return {
    count: () => count,
    arrived: () => {
      count++
      for (const w of waiting.filter((x) => x.n <= count)) {
        waiting.splice(waiting.indexOf(w), 1)
        w.resolve()
      }
    },
    seen: (n: number) => (count >= n ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ n, resolve }))),
  }
}

export const startCountingServer = async (options: CountingServerOptions = {}): Promise<CountingServer> => {
  const { count, arrived, seen } = arrivals()
  let abandoned = 0
  const timers = new Set<NodeJS.Timeout>()
  const server = http.createServer((req, res) => {
    arrived()
    res.once("close", () => {
      if (!res.writableFinished) abandoned++
    })
    const status = options.status?.(req.url ?? "/") ?? 200
    const t = setTimeout(() => {
      timers.delete(t)
      res.writeHead(status, { "content-type": "text/plain" }).end(options.body ?? "ok")
    }, options.answerAfterMs ?? 20)
    timers.add(t)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count,
    abandoned: () => abandoned,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t)
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface SilentServer {
  readonly port: number
  /** Connections accepted so far. */
  readonly count: () => number
  /** Connections the client has not closed yet. */
  readonly open: () => number
  readonly seen: (n: number) => Promise<void>
  readonly close: () => Promise<void>
}

/** A TCP server that accepts every connection and never sends a byte. */
export const startSilentServer = async (): Promise<SilentServer> => {
  const { count, arrived, seen } = arrivals()
  const sockets = new Set<net.Socket>()
  const server = net.createServer((s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
    s.on("error", () => undefined)
    arrived()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    port: (server.address() as AddressInfo).port,
    count,
    open: () => sockets.size,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export interface AfterInterruption {
  /** Requests that arrived between the end of the interruption and the end of the grace period. */
  readonly inGrace: number
  /** Requests that arrived after the grace period (must be 0). */
  readonly late: number
}

/**
 * Runs `interrupt` (which resolves once the interruption is done), then counts what arrives in
 * the next `graceMs` (requests already on the wire) and in the `watchMs` after that (requests a
 * loop that ignored the interruption went on sending).
 */
export const afterInterruption = async (server: { readonly count: () => number }, interrupt: () => Promise<unknown>, graceMs = 200, watchMs = 800): Promise<AfterInterruption> => {
  await interrupt()
  const atInterrupt = server.count()
  await pause(graceMs)
  const afterGrace = server.count()
  await pause(watchMs)
  return { inGrace: afterGrace - atInterrupt, late: server.count() - afterGrace }
}
