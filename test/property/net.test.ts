/**
 * The TCP fault proxy under random sequences of toxic additions and removals while traffic
 * flows (fast-check, real loopback sockets). After every command the proxy's toxics are the
 * model's; after rollback (every toxic removed, newest first) the bytes pass through unchanged
 * and in order — on the connections that stayed open the whole time, and on new ones — and no
 * connection that lost bytes stays open (a client would read later replies as answers to lost
 * requests).
 */
import * as fc from "fast-check"
import type * as nodeNet from "node:net"
import * as Net from "shiftup/net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { collect, connect, echoServer, type TestServer } from "../unit/net/servers.ts"

let echo: TestServer
beforeAll(async () => {
  echo = await echoServer()
})
afterAll(async () => {
  await echo?.close()
})

type Spec = Net.Toxic.Spec
type Direction = Net.Toxic.Direction

/** Toxics that delay or reshape bytes but never lose them. */
const gentle: fc.Arbitrary<Spec> = fc.oneof(
  fc.record({ kind: fc.constant("latency" as const), ms: fc.integer({ min: 0, max: 25 }), jitter: fc.integer({ min: 0, max: 10 }) }),
  fc.record({ kind: fc.constant("bandwidth" as const), bytesPerSecond: fc.integer({ min: 200_000, max: 5_000_000 }) }),
  fc.record({ kind: fc.constant("slicer" as const), averageSize: fc.integer({ min: 8, max: 512 }), sizeVariation: fc.constant(4), delayUs: fc.integer({ min: 0, max: 500 }) }),
  fc.record({ kind: fc.constant("slow-close" as const), ms: fc.integer({ min: 0, max: 20 }) }),
  fc.constant({ kind: "hold" as const }),
)

/** Toxics that drop, cut or reset connections. */
const harsh: fc.Arbitrary<Spec> = fc.oneof(
  fc.record({ kind: fc.constant("timeout" as const), ms: fc.constantFrom(0, 15) }),
  fc.record({ kind: fc.constant("reset-peer" as const), ms: fc.integer({ min: 0, max: 15 }) }),
  fc.record({ kind: fc.constant("limit-data" as const), bytes: fc.integer({ min: 0, max: 4096 }) }),
)

type Command =
  | { readonly op: "add"; readonly spec: Spec; readonly direction: Direction; readonly toxicity: number }
  | { readonly op: "remove"; readonly pick: number }
  | { readonly op: "send"; readonly conn: number; readonly bytes: number }
  | { readonly op: "wait"; readonly ms: number }

const commands = (specs: fc.Arbitrary<Spec>) =>
  fc.array(
    fc.oneof(
      fc.record({ op: fc.constant("add" as const), spec: specs, direction: fc.constantFrom<Direction>("downstream", "upstream"), toxicity: fc.constantFrom(1, 1, 0.5, 0) }),
      fc.record({ op: fc.constant("remove" as const), pick: fc.nat() }),
      fc.record({ op: fc.constant("send" as const), conn: fc.nat({ max: 2 }), bytes: fc.integer({ min: 1, max: 20_000 }) }),
      fc.record({ op: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 15 }) }),
    ),
    { minLength: 1, maxLength: 14 },
  )

interface Stream {
  readonly socket: nodeNet.Socket
  readonly sent: Array<Buffer>
  readonly received: Array<Buffer>
  next: number
  closed: boolean
}

const open = async (port: number): Promise<Stream> => {
  const socket = await connect(port)
  const s: Stream = { socket, sent: [], received: [], next: 0, closed: false }
  socket.on("data", (c: Buffer) => s.received.push(c))
  socket.on("close", () => (s.closed = true))
  socket.on("error", () => undefined)
  return s
}

/** A counting pattern, so any loss, duplication or reordering shows. */
const send = (s: Stream, n: number) => {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = (s.next + i * 7 + (i >> 8)) & 0xff
  s.next += n
  s.sent.push(b)
  s.socket.write(b)
}

const until = async (ok: () => boolean, ms: number) => {
  const end = performance.now() + ms
  while (!ok() && performance.now() < end) await new Promise((r) => setTimeout(r, 5))
  return ok()
}

/** Runs the commands against a fresh proxy; returns it (and its open streams) after rollback. */
const play = async (cmds: ReadonlyArray<Command>, seed: number) => {
  let x = seed | 0
  const random = () => {
    x = (Math.imul(x, 1103515245) + 12345) | 0
    return ((x >>> 8) & 0xffffff) / 0x1000000
  }
  const proxy = Net.proxy({ upstream: `127.0.0.1:${echo.port}`, target: { environment: "lab" }, random })
  const { port } = await proxy.listen()
  const streams = await Promise.all([0, 1, 2].map(() => open(port)))
  const model: Array<string> = []
  let n = 0
  try {
    for (const c of cmds) {
      if (c.op === "add") {
        const t = Net.Toxic.make(c.spec, { name: `t${n++}`, direction: c.direction, toxicity: c.toxicity })
        proxy.add(t)
        model.push(t.name)
      } else if (c.op === "remove") {
        if (model.length === 0) continue
        const [name] = model.splice(c.pick % model.length, 1)
        expect(proxy.remove(name as string)).toBe(true)
      } else if (c.op === "send") {
        const s = streams[c.conn] as Stream
        if (!s.closed) send(s, c.bytes)
      } else await new Promise((r) => setTimeout(r, c.ms))
      // Consistent after every command: the proxy holds exactly the model's toxics, in order.
      expect(proxy.toxics().map((t) => t.name)).toEqual(model)
    }
    // Rollback: newest first, as the runner releases faults.
    for (const name of [...model].reverse()) expect(proxy.remove(name)).toBe(true)
    expect(proxy.toxics()).toEqual([])
    return { proxy, port, streams }
  } catch (e) {
    await proxy.close()
    for (const s of streams) s.socket.destroy()
    throw e
  }
}

describe("Net.proxy under random toxic sequences while traffic flows", () => {
  it("gentle toxics: every byte of every open connection comes back unchanged and in order after rollback", async () => {
    await fc.assert(
      fc.asyncProperty(commands(gentle), fc.integer(), async (cmds, seed) => {
        const { proxy, streams } = await play(cmds, seed)
        try {
          for (const s of streams) send(s, 1000)
          for (const s of streams) {
            const want = Buffer.concat(s.sent)
            await until(() => s.received.reduce((a, b) => a + b.length, 0) >= want.length, 3000)
            expect(s.closed).toBe(false)
            expect(Buffer.concat(s.received).equals(want)).toBe(true)
          }
          expect(proxy.stats().errors).toBe(0)
        } finally {
          for (const s of streams) s.socket.destroy()
          await proxy.close()
        }
      }),
      { numRuns: 50 },
    )
  })

  it("any toxics (drops, resets, limits included): after rollback a connection is either closed or lost nothing, the proxy is clean and new connections pass bytes unchanged", async () => {
    await fc.assert(
      fc.asyncProperty(commands(fc.oneof(gentle, harsh)), fc.integer(), async (cmds, seed) => {
        const { proxy, port, streams } = await play(cmds, seed)
        try {
          for (const s of streams) if (!s.closed) send(s, 1000)
          const complete = (s: Stream) => s.received.reduce((a, b) => a + b.length, 0) >= s.sent.reduce((a, b) => a + b.length, 0)
          await until(() => streams.every((s) => s.closed || complete(s)), 3000)
          for (const s of streams) if (!s.closed) expect(Buffer.concat(s.received).equals(Buffer.concat(s.sent)), "an open connection lost or reordered bytes").toBe(true)
          const payload = Buffer.alloc(64 * 1024)
          for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >> 9)) & 0xff
          const got = await collect(port, { send: payload, endAfterSend: true, timeoutMs: 3000 })
          expect(got.how).toBe("end")
          expect(got.data.equals(payload)).toBe(true)
        } finally {
          for (const s of streams) s.socket.destroy()
          await proxy.close()
        }
        expect(proxy.stats().open).toBe(0)
      }),
      { numRuns: 50 },
    )
  })
})
