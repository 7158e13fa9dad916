/**
 * Servers for process-level tests, on 127.0.0.1 only: the demo lab on a free base port (each
 * test file its own, so files can run in parallel), and a plain HTTP listener that counts every
 * connection — the witness that a refused target was never contacted.
 */
import * as http from "node:http"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll } from "vitest"
import { startLab, type Lab } from "shiftup/testing"

/**
 * One demo lab for the whole test file: started before its tests, closed after them. Experiment
 * files read the lab's address (`SHIFTUP_LAB_PORT`) when imported, so it is set for the file too.
 */
export const labForThisFile = (): (() => Lab & { readonly base: number }) => {
  let lab: (Lab & { readonly base: number }) | undefined
  const previous = process.env["SHIFTUP_LAB_PORT"]
  beforeAll(async () => {
    lab = await startLabOnFreePorts()
    process.env["SHIFTUP_LAB_PORT"] = String(lab.base)
  })
  afterAll(async () => {
    if (previous === undefined) delete process.env["SHIFTUP_LAB_PORT"]
    else process.env["SHIFTUP_LAB_PORT"] = previous
    await lab?.close()
  })
  return () => {
    if (lab === undefined) throw new Error("the lab starts in beforeAll: use it inside a test")
    return lab
  }
}

/** Starts the demo lab on four consecutive free ports (retrying other bases if one is taken). */
export const startLabOnFreePorts = async (): Promise<Lab & { readonly base: number }> => {
  let last: unknown
  for (let attempt = 0; attempt < 20; attempt++) {
    // 20000–25999: below the ephemeral range (32768+) and clear of every data store port the
    // classifier knows (26257, 27017…), so the lab stays a plain staging system.
    const base = 20_000 + 4 * Math.floor(Math.random() * 1500)
    try {
      const lab = await startLab({ base })
      return Object.assign(lab, { base })
    } catch (e) {
      last = e
    }
  }
  throw new Error(`no free base port for the demo lab: ${String(last)}`)
}

export interface CountingServer {
  readonly port: number
  readonly url: string
  /** TCP connections accepted so far. */
  readonly connections: () => number
  readonly requests: () => number
  readonly close: () => Promise<void>
}

/** An HTTP server on 127.0.0.1 (a free port) that answers 200 and counts connections and requests. */
export const countingServer = async (): Promise<CountingServer> => {
  let connections = 0
  let requests = 0
  const server = http.createServer((_req, res) => {
    requests++
    res.writeHead(200, { "content-type": "application/json" })
    res.end('{"ok":true}')
  })
  server.on("connection", () => connections++)
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer()
    s.once("error", () => resolve(false))
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)))
  })

/** A base port whose four ports are free now, for a child process that starts its own lab. */
export const freeBasePort = async (): Promise<number> => {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + 4 * Math.floor(Math.random() * 1500)
    const free = await Promise.all([0, 1, 2, 3].map((i) => portFree(base + i)))
    if (free.every(Boolean)) return base
  }
  throw new Error("no four consecutive free ports found")
}

/** Whether a connection to 127.0.0.1:`port` is refused: nothing listens there (any more). */
export const portRefused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, "127.0.0.1")
    s.once("connect", () => {
      s.destroy()
      resolve(false)
    })
    s.once("error", () => resolve(true))
  })
