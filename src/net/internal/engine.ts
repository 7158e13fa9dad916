/**
 * The TCP fault proxy's engine: plain `node:net`, no Effect on the data path. Each connection
 * has two links (downstream: server → client, upstream: client → server). A link with no toxic
 * writes each read straight from the proxy's own read buffer to the other socket (no stream
 * pipeline, no copy, no allocation; see `onRead`); a link with toxics queues copies with their
 * arrival time and a single pump per link applies the toxics in a fixed order, so bytes never
 * reorder, even while toxics are added or removed. A change of toxics wakes a sleeping pump,
 * which re-plans the chunk it holds: removing a 10 s latency releases held bytes at once.
 *
 * A stream that lost bytes in the middle must not carry on: a pipelined protocol (Redis, HTTP/1.1
 * keep-alive, most database wire protocols) matches replies to requests by order alone, so the
 * client would read the next reply as the answer to a lost request. Removing a `timeout` toxic
 * therefore closes every connection it dropped bytes from; `hold` drops nothing and delivers in
 * order when removed.
 */
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import type { Direction, Toxic } from "../toxic.ts"
import { adopt, drainAfterAnyWrite } from "./handle.ts"

export interface Upstream {
  readonly host: string
  readonly port: number
}

export interface EngineOptions {
  readonly host: string
  readonly port: number
  /** The egress-checked address to connect to, asked at each connection. */
  readonly upstream: () => Upstream
  /** Source of randomness for toxicity and jitter; default `Math.random`. */
  readonly random?: () => number
}

export interface EngineStats {
  readonly accepted: number
  readonly open: number
  /** Connections that failed (upstream unreachable, socket errors other than resets we caused). */
  readonly errors: number
  /** Bytes dropped by `timeout` toxics (blackholes), since the proxy started. */
  readonly dropped: number
  /** Bytes waiting in the proxy now: held, delayed or paced by a toxic. */
  readonly waiting: number
}

export interface Engine {
  readonly listen: () => Promise<AddressInfo>
  readonly address: () => AddressInfo | undefined
  /** Stops accepting and destroys every open connection. Idempotent. */
  readonly close: () => Promise<void>
  /** Adds a toxic to every open and future connection (each drawn against its toxicity). */
  readonly add: (toxic: Toxic) => void
  /**
   * Removes a toxic; bytes it held are released in order, and connections a `timeout` toxic
   * dropped bytes from are closed. Returns whether it existed.
   */
  readonly remove: (name: string) => boolean
  readonly toxics: () => ReadonlyArray<Toxic>
  readonly stats: () => EngineStats
}

interface Item {
  readonly chunk: Buffer
  readonly at: number
  /** Jitter sample in [-1, 1], drawn once per chunk while a jittered latency is active (else 0). */
  readonly r: number
}

interface Link {
  readonly dir: Direction
  readonly src: net.Socket
  readonly dst: net.Socket
  toxics: Array<Toxic>
  readonly queue: Array<Item>
  queued: number
  pumping: boolean
  sent: number
  srcEnded: boolean
  dstEnded: boolean
  /** Paused because the queue is over its high-water mark. */
  held: boolean
  bwNext: number
  wake: (() => void) | undefined
  readonly reads: Reads
}

/**
 * The buffers a link's source reads into. Per link: Node takes a socket's next buffer right
 * after each read, so a shared one could already be promised to another socket while a pending
 * write still references it.
 */
interface Reads {
  buffer: Buffer
  /** A second buffer, made when first needed: the next read goes into it while a write still holds `buffer`. */
  spare: Buffer | undefined
  /** A write holding one of the two is still pending. */
  waiting: boolean
}

interface Conn {
  readonly client: net.Socket
  readonly server: net.Socket
  readonly down: Link
  readonly up: Link
  /** Toxic name → whether this connection drew it (toxicity). */
  readonly drawn: Map<string, boolean>
  readonly timers: Map<string, NodeJS.Timeout>
  /** Names of the toxics that dropped bytes of this connection: their removal closes it. */
  readonly swallowed: Set<string>
  closed: boolean
}

const highWaterMark = 1 << 20
/** First size of a link's read buffer (what libuv would allocate per read otherwise). */
const readSize = 64 * 1024
/**
 * A read that fills the buffer doubles it, up to this: a bulk transfer then reads (and writes)
 * ~256 KiB per system call instead of 64 KiB — a fifth of the reads, writes and epoll wakeups,
 * measured with strace — while chatty connections keep 64 KiB.
 */
const maxReadSize = 256 * 1024
/** Bytes a socket may hold in user space before its source is paused. */
const writeBacklog = 1 << 20

const now = () => performance.now()

const newReads = (): Reads => ({ buffer: Buffer.allocUnsafe(readSize), spare: undefined, waiting: false })

export const makeEngine = (options: EngineOptions): Engine => {
  const random = options.random ?? Math.random
  const toxics: Array<Toxic> = []
  const conns = new Set<Conn>()
  let acceptedCount = 0
  let errors = 0
  let dropped = 0
  let listening: Promise<AddressInfo> | undefined
  let closed = false

  const sleep = (link: Link, ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms))
      function done() {
        clearTimeout(timer)
        link.wake = undefined
        resolve()
      }
      link.wake = done
    })

  /** Until a change of toxics (or the connection's end) wakes the link's pump. */
  const untilWoken = (link: Link) =>
    new Promise<void>((resolve) => {
      link.wake = () => {
        link.wake = undefined
        resolve()
      }
    })

  const whenDrained = (link: Link) =>
    new Promise<void>((resolve) => {
      // A destination already closed will send neither `drain` nor `close` again.
      if (link.dst.destroyed) return resolve()
      const done = () => {
        link.dst.off("drain", done)
        link.dst.off("close", done)
        resolve()
      }
      link.dst.on("drain", done)
      link.dst.on("close", done)
    })

  const stopConn = (conn: Conn) => {
    conn.closed = true
    for (const t of conn.timers.values()) clearTimeout(t)
    conn.timers.clear()
    conn.down.wake?.()
    conn.up.wake?.()
  }

  const destroyConn = (conn: Conn, reset: boolean) => {
    stopConn(conn)
    for (const s of [conn.client, conn.server]) {
      if (s.destroyed) continue
      // resetAndDestroy needs a connected handle; a connecting socket is simply destroyed.
      if (reset && !s.connecting) s.resetAndDestroy()
      else s.destroy()
    }
    conns.delete(conn)
  }

  const endDst = (conn: Conn, link: Link) => {
    if (link.dstEnded) return
    link.dstEnded = true
    const slow = link.toxics.find((t) => t.spec.kind === "slow-close")
    const end = () => {
      if (!link.dst.destroyed) link.dst.end()
    }
    if (slow !== undefined && slow.spec.kind === "slow-close" && slow.spec.ms > 0) {
      const t = setTimeout(() => {
        conn.timers.delete(`slow-close:${link.dir}`)
        end()
      }, slow.spec.ms)
      conn.timers.set(`slow-close:${link.dir}`, t)
    } else end()
  }

  const write = async (link: Link, data: Buffer) => {
    link.sent += data.length
    link.dst.write(data)
    // `write` returns false for every chunk with the high-water mark of one byte: wait only when
    // bytes are really pending (`drain` follows then).
    if (link.dst.writableLength > 0) await whenDrained(link)
  }

  /** Writes one chunk through the slicer and bandwidth toxics active now. */
  const deliver = async (conn: Conn, link: Link, data: Buffer) => {
    let offset = 0
    while (offset < data.length && !conn.closed) {
      const slicer = link.toxics.find((t) => t.spec.kind === "slicer")?.spec
      const bandwidth = link.toxics.find((t) => t.spec.kind === "bandwidth")?.spec
      if (slicer === undefined && bandwidth === undefined) return write(link, offset === 0 ? data : data.subarray(offset))
      let size = data.length - offset
      if (slicer?.kind === "slicer") size = Math.min(size, Math.max(1, slicer.averageSize + Math.round((2 * random() - 1) * slicer.sizeVariation)))
      if (bandwidth?.kind === "bandwidth") {
        // Pieces of at most 1/20 s worth of data keep the rate smooth at every scale.
        size = Math.min(size, Math.max(1, Math.floor(bandwidth.bytesPerSecond / 20)))
        const start = Math.max(now(), link.bwNext)
        if (start > now()) {
          await sleep(link, start - now())
          continue
        }
        link.bwNext = start + (size * 1000) / bandwidth.bytesPerSecond
      }
      await write(link, data.subarray(offset, offset + size))
      offset += size
      if (slicer?.kind === "slicer" && offset < data.length && slicer.delayUs > 0) await sleep(link, slicer.delayUs / 1000)
    }
  }

  const pump = async (conn: Conn, link: Link) => {
    link.pumping = true
    try {
      while (link.queue.length > 0 && !conn.closed) {
        const item = link.queue[0] as Item
        // Latency: re-planned after every wake, so a removed toxic releases the chunk at once.
        for (;;) {
          if (conn.closed) break
          // Hold: nothing moves until the toxic is removed (or the connection ends).
          if (link.toxics.some((t) => t.spec.kind === "hold")) {
            await untilWoken(link)
            continue
          }
          let delay = 0
          for (const t of link.toxics) if (t.spec.kind === "latency") delay += Math.max(0, t.spec.ms + item.r * t.spec.jitter)
          const wait = item.at + delay - now()
          if (wait <= 0.5 || conn.closed) break
          await sleep(link, wait)
        }
        if (conn.closed) break
        link.queue.shift()
        link.queued -= item.chunk.length
        if (link.held && link.queued < highWaterMark / 2) {
          link.held = false
          link.src.resume()
        }
        // A timeout or blackhole drops the bytes while it is active, and remembers it did.
        const dropping = link.toxics.filter((t) => t.spec.kind === "timeout")
        if (dropping.length > 0) {
          for (const t of dropping) conn.swallowed.add(t.name)
          dropped += item.chunk.length
          continue
        }
        let data = item.chunk
        const limit = link.toxics.find((t) => t.spec.kind === "limit-data")?.spec
        let last = false
        if (limit?.kind === "limit-data" && link.sent + data.length >= limit.bytes) {
          data = data.subarray(0, Math.max(0, limit.bytes - link.sent))
          last = true
        }
        await deliver(conn, link, data)
        if (last) {
          limitReached(conn, link)
          break
        }
      }
    } finally {
      link.pumping = false
    }
    if (link.srcEnded && link.queue.length === 0 && !conn.closed) endDst(conn, link)
  }

  /** limit-data: the bytes allowed went out; the connection is closed (FIN both ways) after them. */
  const limitReached = (conn: Conn, link: Link) => {
    stopConn(conn)
    link.queue.length = 0
    link.queued = 0
    link.dst.end(() => link.dst.destroy())
    link.src.destroy()
  }

  /** Queues bytes for the link's pump (toxics are active or were until now). */
  const enqueue = (conn: Conn, link: Link, chunk: Buffer) => {
    const jittered = link.toxics.some((t) => t.spec.kind === "latency" && t.spec.jitter > 0)
    link.queue.push({ chunk, at: now(), r: jittered ? 2 * random() - 1 : 0 })
    link.queued += chunk.length
    if (link.queued > highWaterMark && !link.held) {
      link.held = true
      link.src.pause()
    }
    if (!link.pumping) void pump(conn, link)
  }

  /**
   * Bytes read on a link. `borrowed`: they sit in the link's own read buffer, which the next read
   * overwrites. Returns false to pause reading.
   */
  const onRead = (conn: Conn, link: Link, chunk: Buffer, borrowed: boolean): boolean => {
    if (conn.closed) return true
    if (link.toxics.length === 0 && !link.pumping) {
      // The fast path: straight through, back-pressure by pause/drain.
      link.sent += chunk.length
      // Bytes in our read buffer are lent to the write, unless the destination would not say
      // (`drain`) when a pending write is done: a fallback socket (see `handle.ts`) gets a copy.
      const lent = borrowed && link.dst.writableHighWaterMark <= 1
      link.dst.write(borrowed && !lent ? Buffer.from(chunk) : chunk)
      if (link.dst.writableLength === 0) return true
      // The kernel did not take it all, and the write holds our buffer until it is done. The next
      // read goes into the spare buffer; if that write has to wait too, reading stops until
      // `drain` frees both. No copy, no allocation, and a stalled reader holds two buffers per
      // direction. Bytes of their own (`data` events) may pile up to `writeBacklog` first.
      if (lent && !link.reads.waiting) {
        link.reads.waiting = true
        const held = link.reads.buffer
        link.reads.buffer = link.reads.spare ?? Buffer.allocUnsafe(held.length)
        link.reads.spare = held
        return true
      }
      if (lent || link.dst.writableLength > writeBacklog) {
        // Only `drain` may resume this source: reading again (`resume`, `read`, a new `data`
        // listener) before it would overwrite bytes a pending write still holds.
        link.src.pause()
        return false
      }
      return true
    }
    // Toxics hold bytes for a while: they get a copy.
    enqueue(conn, link, borrowed ? Buffer.from(chunk) : chunk)
    return !link.held
  }

  /** A socket's `onread` option: reads go into `reads.buffer`, not a fresh allocation each. */
  const readInto = (reads: Reads, conn: () => Conn, side: "up" | "down") => ({
    buffer: () => reads.buffer,
    callback: (n: number, b: Uint8Array) => {
      const c = conn()
      const go = onRead(c, c[side], Buffer.from(b.buffer, b.byteOffset, n), true)
      if (n === b.byteLength && n < maxReadSize) reads.buffer = Buffer.allocUnsafe(Math.min(maxReadSize, 2 * n))
      return go
    },
  })

  const makeLink = (dir: Direction, src: net.Socket, dst: net.Socket, reads: Reads): Link => ({
    dir,
    src,
    dst,
    toxics: [],
    queue: [],
    queued: 0,
    pumping: false,
    sent: 0,
    srcEnded: false,
    dstEnded: false,
    held: false,
    bwNext: 0,
    wake: undefined,
    reads,
  })

  /** Draws a toxic for a connection and starts its connection-level timers. */
  const activate = (conn: Conn, toxic: Toxic) => {
    const hit = toxic.toxicity >= 1 || random() < toxic.toxicity
    conn.drawn.set(toxic.name, hit)
    if (!hit) return
    const link = toxic.direction === "downstream" ? conn.down : conn.up
    link.toxics = [...link.toxics, toxic]
    const s = toxic.spec
    // A zero delay resets before any I/O callback runs: a 1 ms timer could lose the race with a
    // whole loopback exchange and let the connection end cleanly.
    if (s.kind === "reset-peer" && s.ms <= 0) process.nextTick(() => destroyConn(conn, true))
    else if (s.kind === "reset-peer") conn.timers.set(toxic.name, setTimeout(() => destroyConn(conn, true), s.ms))
    if (s.kind === "timeout" && s.ms > 0) conn.timers.set(toxic.name, setTimeout(() => destroyConn(conn, false), s.ms))
    link.wake?.()
  }

  const deactivate = (conn: Conn, name: string) => {
    conn.drawn.delete(name)
    // It lost bytes in the middle of its stream: closed, never resumed (see the header).
    if (conn.swallowed.has(name)) return destroyConn(conn, false)
    const timer = conn.timers.get(name)
    if (timer !== undefined) {
      clearTimeout(timer)
      conn.timers.delete(name)
    }
    for (const link of [conn.down, conn.up]) {
      if (!link.toxics.some((t) => t.name === name)) continue
      link.toxics = link.toxics.filter((t) => t.name !== name)
      link.wake?.()
      // Nothing queued and no pump: the fast path takes over again with the next chunk.
      if (link.queue.length === 0 && !link.pumping && link.srcEnded && !conn.closed) endDst(conn, link)
    }
  }

  const onConnection = (accepted: net.Socket) => {
    acceptedCount++
    // Both sockets read into the links' own buffers (`onread`; see `onRead`).
    const upReads = newReads()
    const downReads = newReads()
    let server: net.Socket
    try {
      const target = options.upstream()
      server = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true, ...drainAfterAnyWrite, onread: readInto(downReads, () => conn, "down") })
    } catch {
      // No admitted upstream, or an address that throws at once: the client, still paused, is closed.
      errors++
      accepted.destroy()
      return
    }
    const client = adopt(accepted, readInto(upReads, () => conn, "up"))
    client.setNoDelay(true)
    const conn: Conn = {
      client,
      server,
      down: makeLink("downstream", server, client, downReads),
      up: makeLink("upstream", client, server, upReads),
      drawn: new Map(),
      timers: new Map(),
      swallowed: new Set(),
      closed: false,
    }
    conns.add(conn)
    for (const t of toxics) activate(conn, t)
    if (client === accepted) client.on("data", (chunk: Buffer) => onRead(conn, conn.up, chunk, false))
    for (const link of [conn.down, conn.up]) {
      link.src.on("end", () => {
        link.srcEnded = true
        if (link.dst.destroyed) return
        if (link.queue.length === 0 && !link.pumping && !conn.closed) endDst(conn, link)
      })
      link.dst.on("drain", () => {
        link.reads.waiting = false
        if (!link.held && link.src.isPaused()) link.src.resume()
      })
    }
    const onError = (e: NodeJS.ErrnoException) => {
      if (conn.closed) return destroyConn(conn, false)
      // A reset on one side is passed on as a reset; anything else closes both sides.
      if (e.code !== "ECONNRESET" && e.code !== "EPIPE") errors++
      destroyConn(conn, e.code === "ECONNRESET")
    }
    client.on("error", onError)
    server.on("error", onError)
    const onClose = () => {
      if (client.destroyed && server.destroyed) {
        stopConn(conn)
        conns.delete(conn)
      }
    }
    client.on("close", onClose)
    server.on("close", onClose)
  }

  // Paused on connect: `adopt` moves the connection into a socket that reads into our buffer.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, onConnection)

  return {
    listen: () =>
      (listening ??= new Promise<AddressInfo>((resolve, reject) => {
        if (closed) return reject(new Error("the proxy is closed"))
        server.once("error", reject)
        server.listen(options.port, options.host, () => {
          server.off("error", reject)
          resolve(server.address() as AddressInfo)
        })
      })),
    address: () => {
      const a = server.address()
      return a === null || typeof a === "string" ? undefined : a
    },
    close: () => {
      closed = true
      for (const c of conns) destroyConn(c, false)
      return new Promise<void>((resolve) => {
        if (!server.listening) return resolve()
        server.close(() => resolve())
      })
    },
    add: (toxic) => {
      if (toxics.some((t) => t.name === toxic.name)) throw new Error(`a toxic named "${toxic.name}" is already on this proxy`)
      toxics.push(toxic)
      for (const c of conns) activate(c, toxic)
    },
    remove: (name) => {
      const i = toxics.findIndex((t) => t.name === name)
      if (i < 0) return false
      toxics.splice(i, 1)
      for (const c of conns) deactivate(c, name)
      return true
    },
    toxics: () => [...toxics],
    stats: () => {
      let waiting = 0
      for (const c of conns) waiting += c.down.queued + c.up.queued
      return { accepted: acceptedCount, open: conns.size, errors, dropped, waiting }
    },
  }
}
