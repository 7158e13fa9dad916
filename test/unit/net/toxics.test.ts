/**
 * Each toxic of the TCP fault proxy against real loopback sockets, measured: latency and
 * bandwidth within tolerance, a reset seen as ECONNRESET, a blackhole as a client timeout (and
 * a closed connection once removed), a hold released in order,
 * limit data after exactly N bytes; plus adding and removing toxics on open connections.
 */
import { randomBytes } from "node:crypto"
import * as net from "node:net"
import type * as nodeNet from "node:net"
import * as Net from "shiftup/net"
import { afterEach, describe, expect, it } from "vitest"
import { collect, connect, echoServer, payloadServer, roundTrip, serve, type TestServer } from "./servers.ts"

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const withServer = async (server: Promise<TestServer>) => {
  const s = await server
  cleanups.push(s.close)
  return s
}

const startProxy = async (port: number, random?: () => number) => {
  const p = Net.proxy({ upstream: `127.0.0.1:${port}`, target: { environment: "lab" }, ...(random === undefined ? {} : { random }) })
  const address = await p.listen()
  cleanups.push(p.close)
  return { p, port: address.port }
}

const openSocket = async (port: number) => {
  const s = await connect(port)
  cleanups.push(() => void s.destroy())
  return s
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number

/** A deterministic PRNG (mulberry32) for toxicity draws. */
const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

describe("Net.proxy: pass-through", () => {
  it("forwards bytes unchanged and in order, both ways (2 MiB echoed)", async () => {
    const echo = await withServer(echoServer())
    const { p, port } = await startProxy(echo.port)
    const payload = randomBytes(2 << 20)
    const got = await collect(port, { send: payload, endAfterSend: true })
    expect(got.how).toBe("end")
    expect(got.data.equals(payload)).toBe(true)
    expect(p.stats()).toMatchObject({ accepted: 1, errors: 0 })
  })

  it("concurrent downloads of distinct payloads through one proxy, read by slow clients, arrive intact (a read buffer is never reused while a pending write holds it)", async () => {
    const payloads = Array.from({ length: 6 }, () => randomBytes(12 << 20))
    // The client sends one byte, its index; the server answers with that payload.
    const server = await withServer(serve((s) => s.once("data", (d: Buffer) => s.end(payloads[d[0] as number] as Buffer))))
    const { port } = await startProxy(server.port)
    const results = await Promise.all(
      payloads.map(async (payload, i) => {
        const socket = await openSocket(port)
        const parts: Array<Buffer> = []
        await new Promise<void>((resolve) => {
          socket.on("data", (c: Buffer) => {
            parts.push(c)
            // A slow reader: the proxy's writes back up and keep referencing what they were given.
            if (parts.length % 16 === 0) {
              socket.pause()
              setTimeout(() => socket.resume(), 5)
            }
          })
          socket.on("end", () => resolve())
          socket.write(Buffer.from([i]))
        })
        return Buffer.concat(parts).equals(payload)
      }),
    )
    expect(results).toEqual(payloads.map(() => true))
  })

  it("listens on ::1 too; endpoint() brackets the address", async () => {
    const echo = await withServer(echoServer())
    const p = Net.proxy({ upstream: `127.0.0.1:${echo.port}`, host: "::1", target: { environment: "lab" } })
    const { port } = await p.listen()
    cleanups.push(p.close)
    expect(p.endpoint()).toBe(`[::1]:${port}`)
    const s = await new Promise<nodeNet.Socket>((resolve, reject) => {
      const c = net.connect({ host: "::1", port }, () => resolve(c))
      c.once("error", reject)
    })
    cleanups.push(() => void s.destroy())
    expect(await roundTrip(s, Buffer.from("v6"))).toBeLessThan(1000)
  })

  it("is a target classified as its upstream, without the upstream's url", () => {
    const p = Net.proxy({ upstream: "127.0.0.1:5432", target: { environment: "production" } })
    expect(p.kind).toBe("tcp-proxy")
    expect(p.environment).toBe("production")
    expect(p.id).toBe("127.0.0.1:5432-proxy")
    expect("url" in p).toBe(false)
    expect(p.upstream).toEqual({ host: "127.0.0.1", port: 5432 })
  })

  it("refuses to start when the upstream is outside the egress allowlist, and never listens", async () => {
    const p = Net.proxy({ upstream: "192.0.2.10:80", target: { environment: "lab" } })
    await expect(p.listen()).rejects.toMatchObject({ _tag: "EgressDenied", address: "192.0.2.10" })
    expect(p.address()).toBeUndefined()
  })

  it("validates toxic options, every issue at once", () => {
    const p = Net.proxy({ upstream: "127.0.0.1:1", target: { environment: "lab" } })
    expect(() => Net.slicer(p, { averageSize: 0, sizeVariation: 3, toxicity: 2 })).toThrow(/averageSize[\s\S]*sizeVariation|toxicity[\s\S]*averageSize/)
    expect(() => Net.latency(p, { ms: -1 })).toThrow(/ms: must be a finite number ≥ 0/)
  })
})

describe("Net.proxy: lifecycle and failures", () => {
  it("close() destroys open connections and stops listening", async () => {
    const echo = await withServer(echoServer())
    const { p, port } = await startProxy(echo.port)
    const s = await openSocket(port)
    await roundTrip(s, Buffer.from("hi"))
    expect(p.stats().open).toBe(1)
    const closed = new Promise<void>((r) => s.once("close", () => r()))
    await p.close()
    await closed
    expect(p.stats().open).toBe(0)
    expect((await collect(port, { timeoutMs: 1000 })).how).toMatch(/^error:ECONNREFUSED/)
  })

  it("an unreachable upstream closes the client's connection and counts an error", async () => {
    const gone = await echoServer()
    await gone.close()
    const { p, port } = await startProxy(gone.port)
    const got = await collect(port, { send: Buffer.from("x"), timeoutMs: 2000 })
    expect(got.how === "end" || got.how.startsWith("error:")).toBe(true)
    expect(got.data.length).toBe(0)
    expect(p.stats().errors).toBe(1)
  })

  it("an upstream address that cannot even be dialled (port 70000) closes the client and counts an error", async () => {
    const { p, port } = await startProxy(70_000)
    const got = await collect(port, { send: Buffer.from("x"), timeoutMs: 2000 })
    expect(got.how === "end" || got.how.startsWith("error:")).toBe(true)
    expect(p.stats()).toMatchObject({ accepted: 1, errors: 1, open: 0 })
  })

  it("a client that stops reading holds small reads as copies of their size, not as whole read buffers", async () => {
    // 4 MiB first (the read buffer grows to 256 KiB), then 1 KiB messages to a client that has
    // stopped reading: lent buffers would keep 256 KiB alive per 1 KiB read (~250 MiB here).
    const kib = Buffer.alloc(1024, 1)
    let sent = 0
    const upstream = await withServer(
      serve((s) => {
        s.write(Buffer.alloc(4 << 20, 2))
        const tick = () => {
          if (sent < 16_000 && !s.destroyed) {
            sent++
            s.write(kib)
            setImmediate(tick)
          }
        }
        tick()
      }),
    )
    const { port } = await startProxy(upstream.port)
    const socket = await openSocket(port)
    let got = 0
    socket.on("data", (c: Buffer) => {
      got += c.length
      if (got >= 4 << 20) socket.pause()
    })
    const before = process.memoryUsage().arrayBuffers
    await expect.poll(() => sent, { timeout: 10_000 }).toBe(16_000)
    await new Promise((r) => setTimeout(r, 200))
    const grown = (process.memoryUsage().arrayBuffers - before) / 2 ** 20
    expect(got).toBeGreaterThanOrEqual(4 << 20)
    expect(grown, `ArrayBuffers grew by ${grown.toFixed(1)} MiB`).toBeLessThan(32)
  })

  it("back-pressure with toxics: 8 MiB each way through latency both ways, intact and in order", async () => {
    const echo = await withServer(echoServer())
    const { p, port } = await startProxy(echo.port)
    p.add(Net.Toxic.make({ kind: "latency", ms: 20, jitter: 5 }, { direction: "upstream" }))
    p.add(Net.Toxic.make({ kind: "latency", ms: 20, jitter: 5 }, { direction: "downstream" }))
    const payload = randomBytes(8 << 20)
    const got = await collect(port, { send: payload, endAfterSend: true, timeoutMs: 20_000 })
    expect(got.how).toBe("end")
    expect(got.data.equals(payload)).toBe(true)
  })
})

describe("Net.proxy: each toxic, measured", () => {
  it("latency: every round trip takes the delay (± 25 ms), and removing it restores speed on the same socket", async () => {
    const echo = await withServer(echoServer())
    const { p, port } = await startProxy(echo.port)
    const s = await openSocket(port)
    const msg = Buffer.from("ping")
    const before = await roundTrip(s, msg)
    p.add(Net.Toxic.make({ kind: "latency", ms: 120, jitter: 0 }))
    const slow = [await roundTrip(s, msg), await roundTrip(s, msg), await roundTrip(s, msg)]
    expect(p.remove("latency-downstream")).toBe(true)
    const after = await roundTrip(s, msg)
    // Never early; late only by scheduling (checked on the median, which a stalled CI machine cannot spoil).
    for (const ms of slow) expect(ms).toBeGreaterThanOrEqual(119)
    expect(median(slow)).toBeLessThan(120 + 25)
    expect(before).toBeLessThan(40)
    expect(after).toBeLessThan(40)
  })

  it("latency with jitter: delays spread over ms ± jitter", async () => {
    const echo = await withServer(echoServer())
    const { p, port } = await startProxy(echo.port, seeded(7))
    const s = await openSocket(port)
    p.add(Net.Toxic.make({ kind: "latency", ms: 60, jitter: 40 }, { direction: "upstream" }))
    const samples: Array<number> = []
    for (let i = 0; i < 12; i++) samples.push(await roundTrip(s, Buffer.from([i])))
    for (const ms of samples) expect(ms).toBeGreaterThanOrEqual(19)
    expect(median(samples)).toBeLessThan(100 + 25)
    expect(Math.max(...samples) - Math.min(...samples)).toBeGreaterThan(20)
  })

  it("bandwidth: 200 KB at 400 KB/s takes 0.5 s (± 20%), bytes intact", async () => {
    const payload = randomBytes(200_000)
    const server = await withServer(payloadServer(payload))
    const { p, port } = await startProxy(server.port)
    p.add(Net.Toxic.make({ kind: "bandwidth", bytesPerSecond: 400_000 }))
    const got = await collect(port, { timeoutMs: 5000 })
    expect(got.how).toBe("end")
    expect(got.data.equals(payload)).toBe(true)
    expect(got.ms).toBeGreaterThan(500 * 0.8)
    expect(got.ms).toBeLessThan(500 * 1.3)
  })

  it("reset peer: the client sees ECONNRESET", async () => {
    const echo = await withServer(echoServer())
    const { p, port } = await startProxy(echo.port)
    p.add(Net.Toxic.make({ kind: "reset-peer", ms: 50 }))
    const got = await collect(port, { send: Buffer.from("hello"), timeoutMs: 2000 })
    expect(got.how).toBe("error:ECONNRESET")
    expect(got.ms).toBeGreaterThanOrEqual(45)
  })

  it("blackhole: the client times out with nothing received; removed, the socket that lost bytes is closed, one that lost nothing carries on", async () => {
    const echo = await withServer(echoServer())
    const { p, port } = await startProxy(echo.port)
    const s = await openSocket(port)
    const idle = await openSocket(port)
    const closed = new Promise<void>((r) => s.once("close", () => r()))
    p.add(Net.Toxic.make({ kind: "timeout", ms: 0 }, { name: "hole" }))
    const outcome = await Promise.race([roundTrip(s, Buffer.from("lost")).then(() => "answered"), new Promise((r) => setTimeout(() => r("timeout"), 300))])
    expect(outcome).toBe("timeout")
    expect(p.stats().dropped).toBe(4)
    p.remove("hole")
    await closed
    await roundTrip(idle, Buffer.from("still here"))
    expect(p.stats().open).toBe(1)
  })

  it("hold: nothing arrives while it holds; removed, the held bytes arrive in order on the same socket", async () => {
    const echo = await withServer(echoServer())
    const { p, port } = await startProxy(echo.port)
    const s = await openSocket(port)
    const got: Array<Buffer> = []
    s.on("data", (c: Buffer) => got.push(c))
    p.add(Net.Toxic.make({ kind: "hold" }, { name: "hold" }))
    s.write("one,")
    s.write("two,")
    await expect.poll(() => p.stats().waiting).toBe(8)
    expect(got).toEqual([])
    p.remove("hold")
    s.write("three")
    await expect.poll(() => Buffer.concat(got).toString()).toBe("one,two,three")
    expect(p.stats().dropped).toBe(0)
  })

  it("timeout: drops data and closes the connection after the timeout", async () => {
    const echo = await withServer(echoServer())
    const { p, port } = await startProxy(echo.port)
    p.add(Net.Toxic.make({ kind: "timeout", ms: 150 }, { direction: "upstream" }))
    const got = await collect(port, { send: Buffer.from("hello"), timeoutMs: 2000 })
    expect(got.how).toBe("end")
    expect(got.data.length).toBe(0)
    expect(got.ms).toBeGreaterThanOrEqual(145)
    expect(got.ms).toBeLessThan(400)
  })

  it("limit data: exactly N bytes, then the connection closes", async () => {
    const payload = randomBytes(300_000)
    const server = await withServer(payloadServer(payload))
    const { p, port } = await startProxy(server.port)
    p.add(Net.Toxic.make({ kind: "limit-data", bytes: 123_457 }))
    const got = await collect(port, { timeoutMs: 3000 })
    expect(got.how).toBe("end")
    expect(got.data.length).toBe(123_457)
    expect(got.data.equals(payload.subarray(0, 123_457))).toBe(true)
  })

  it("slicer: data arrives in small delayed chunks, unchanged", async () => {
    const payload = randomBytes(2000)
    const server = await withServer(payloadServer(payload))
    const { p, port } = await startProxy(server.port)
    p.add(Net.Toxic.make({ kind: "slicer", averageSize: 100, sizeVariation: 20, delayUs: 5000 }))
    let chunks = 0
    const socket = await openSocket(port)
    const data = await new Promise<Buffer>((resolve) => {
      const parts: Array<Buffer> = []
      socket.on("data", (c: Buffer) => {
        chunks++
        parts.push(c)
      })
      socket.on("end", () => resolve(Buffer.concat(parts)))
    })
    expect(data.equals(payload)).toBe(true)
    expect(chunks).toBeGreaterThanOrEqual(12)
  })

  it("slow close: the FIN arrives the delay after the data", async () => {
    const server = await withServer(payloadServer(Buffer.from("bye")))
    const { p, port } = await startProxy(server.port)
    p.add(Net.Toxic.make({ kind: "slow-close", ms: 200 }))
    const socket: nodeNet.Socket = await openSocket(port)
    const t0 = performance.now()
    const times = await new Promise<{ data: number; end: number }>((resolve) => {
      let data = 0
      socket.on("data", () => (data = performance.now() - t0))
      socket.on("end", () => resolve({ data, end: performance.now() - t0 }))
    })
    expect(times.data).toBeLessThan(100)
    expect(times.end - times.data).toBeGreaterThanOrEqual(180)
    expect(times.end).toBeLessThan(600)
  })

  it("toxicity: each connection is drawn once; 0 never affects, a fraction affects some", async () => {
    const echo = await withServer(echoServer())
    const { p, port } = await startProxy(echo.port, seeded(42))
    p.add(Net.Toxic.make({ kind: "reset-peer", ms: 0 }, { toxicity: 0.5 }))
    const outcomes: Array<string> = []
    for (let i = 0; i < 40; i++) outcomes.push((await collect(port, { send: Buffer.from("x"), endAfterSend: true, timeoutMs: 2000 })).how)
    // One draw per connection, in accept order (connections are opened one after another), so the
    // same seeded sequence says exactly which connections must be reset.
    const draws = seeded(42)
    const expected = outcomes.map(() => (draws() < 0.5 ? "error:ECONNRESET" : "end"))
    expect(outcomes).toEqual(expected)
    expect(expected.filter((o) => o === "end").length).toBeGreaterThan(5)
    expect(expected.filter((o) => o !== "end").length).toBeGreaterThan(5)
    p.remove("reset-peer-downstream")
    p.add(Net.Toxic.make({ kind: "reset-peer", ms: 0 }, { toxicity: 0 }))
    for (let i = 0; i < 5; i++) expect((await collect(port, { send: Buffer.from("y"), endAfterSend: true })).how).toBe("end")
  })
})
