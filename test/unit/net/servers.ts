/**
 * Real loopback servers and clients for the net tests: an echo server, a server that sends a
 * fixed payload, and a client that collects what it receives and how the connection ended.
 * Everything listens on 127.0.0.1 and is closed by the test that made it.
 */
import * as net from "node:net"
import type { AddressInfo } from "node:net"

export interface TestServer {
  readonly port: number
  readonly close: () => Promise<void>
}

/** A TCP server on 127.0.0.1 (a free port) running `onConnection` for each client. */
export const serve = async (onConnection: (s: net.Socket) => void): Promise<TestServer> => {
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ allowHalfOpen: false }, (s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
    s.on("error", () => undefined)
    onConnection(s)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Echoes every byte back. */
export const echoServer = () => serve((s) => s.pipe(s))

/** Sends `payload` to each client, then ends. */
export const payloadServer = (payload: Buffer) => serve((s) => s.end(payload))

export interface Received {
  readonly data: Buffer
  /** `end` (FIN), `error:<code>`, or `timeout`. */
  readonly how: string
  readonly ms: number
}

/** Connects, sends `send` (if any), and collects until the connection ends, errors or `timeoutMs` passes. */
export const collect = (port: number, options: { readonly send?: Buffer; readonly timeoutMs?: number; readonly endAfterSend?: boolean } = {}) =>
  new Promise<Received>((resolve) => {
    const t0 = performance.now()
    const chunks: Array<Buffer> = []
    const socket = net.connect({ host: "127.0.0.1", port })
    let done = false
    const finish = (how: string) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ data: Buffer.concat(chunks), how, ms: performance.now() - t0 })
    }
    const timer = setTimeout(() => finish("timeout"), options.timeoutMs ?? 5000)
    socket.on("data", (c: Buffer) => chunks.push(c))
    socket.on("end", () => finish("end"))
    socket.on("error", (e: NodeJS.ErrnoException) => finish(`error:${e.code ?? e.message}`))
    socket.on("connect", () => {
      if (options.send !== undefined) {
        if (options.endAfterSend === true) socket.end(options.send)
        else socket.write(options.send)
      }
    })
  })

/** One request/response round trip on an open socket: writes `msg`, waits for `msg.length` bytes. */
export const roundTrip = (socket: net.Socket, msg: Buffer) =>
  new Promise<number>((resolve, reject) => {
    const t0 = performance.now()
    let got = 0
    const onData = (c: Buffer) => {
      got += c.length
      if (got >= msg.length) {
        socket.off("data", onData)
        socket.off("error", reject)
        resolve(performance.now() - t0)
      }
    }
    socket.on("data", onData)
    socket.once("error", reject)
    socket.write(msg)
  })

export const connect = (port: number) =>
  new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, noDelay: true }, () => resolve(s))
    s.once("error", reject)
  })
