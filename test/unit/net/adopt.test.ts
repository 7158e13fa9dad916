/**
 * How the proxy reads an accepted connection: moved into a socket that reads into the proxy's own
 * buffer (`onread`), or — where Node offers no handle to move — the accepted socket itself. The
 * capability check (`movableHandle`) is the only place that looks at Node's private `_handle`.
 */
import * as net from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { adopt, movableHandle } from "../../../src/net/internal/handle.ts"

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

/** A paused-on-connect server on loopback; resolves with the first accepted socket and a client. */
const accept = async () => {
  const server = net.createServer({ pauseOnConnect: true })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve))
  const client = net.connect({ host: "127.0.0.1", port: (server.address() as net.AddressInfo).port })
  const socket = await accepted
  cleanups.push(() => {
    client.destroy()
    server.close()
  })
  return { server, socket, client }
}

describe("movableHandle: whether the fast path is available", () => {
  it("yes for a socket this Node accepted", async () => {
    const { socket } = await accept()
    cleanups.push(() => socket.destroy())
    expect(movableHandle(socket)).toBeDefined()
  })

  it("no for a socket without a handle, or with one that cannot read", () => {
    expect(movableHandle({ _handle: undefined } as unknown as net.Socket)).toBeUndefined()
    expect(movableHandle({ _handle: null } as unknown as net.Socket)).toBeUndefined()
    expect(movableHandle({ _handle: { readStart: "no" } } as unknown as net.Socket)).toBeUndefined()
  })
})

describe("adopt", () => {
  it("reads the connection into the given buffer, and the server's connection count stays right", async () => {
    const { server, socket, client } = await accept()
    const buffer = Buffer.alloc(16)
    const reads: Array<string> = []
    const adopted = adopt(socket, {
      buffer,
      callback: (n, b) => {
        expect(b.buffer).toBe(buffer.buffer)
        reads.push(Buffer.from(b.buffer, b.byteOffset, n).toString())
        return true
      },
    })
    cleanups.push(() => adopted.destroy())
    expect(adopted).not.toBe(socket)
    client.write("hello")
    await expect.poll(() => reads.join("")).toBe("hello")
    // The adopted socket writes too.
    const echoed = new Promise<string>((resolve) => client.once("data", (d) => resolve(String(d))))
    adopted.write("back")
    expect(await echoed).toBe("back")
    // The shell was closed: the server counts no connection, so `close` is not held up by it.
    const count = await new Promise<number>((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))))
    expect(count).toBe(0)
  })

  it("falls back to the accepted socket, reading, when it has no handle to move", () => {
    let resumed = false
    const socket = { _handle: undefined, resume: () => (resumed = true) } as unknown as net.Socket
    expect(adopt(socket, { buffer: Buffer.alloc(16), callback: () => true })).toBe(socket)
    expect(resumed).toBe(true)
  })
})
