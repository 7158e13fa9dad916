/**
 * Recognises a data store behind a TCP port by how it answers a harmless handshake, so plan time
 * can classify a container as a data store even when its name and image say nothing (a postgres
 * called "cache-helper" is still a postgres, and the blast-radius budget must treat it as one).
 *
 * Each probe opens its own connection, sends at most one opening message that its engine answers
 * before any authentication (nothing is read or written in the store), and closes it, so a probe
 * meant for another engine costs a server no more than a malformed connection would. The order
 * matters: MySQL speaks first, so listening comes before sending anything, and a fresh
 * connection per probe keeps one engine's bytes from confusing the next one's parser.
 * Nothing here throws: an unreachable or unrecognisable port is simply `engine: undefined`.
 */
import * as net from "node:net"

export type Engine = "postgres" | "mysql" | "redis" | "mongodb"

export interface FingerprintResult {
  readonly engine: Engine | undefined
  /** One short line saying what was seen, for the plan and the journal. */
  readonly evidence: string
}

interface Recognised {
  readonly engine: Engine
  readonly evidence: string
}

interface Probe {
  /** Undefined: send nothing and listen for a server-first greeting. */
  readonly request: Buffer | undefined
  readonly waitMs: number
  /** Enough bytes to decide, so a recognised answer does not wait for the timeout. */
  readonly complete: (data: Buffer) => boolean
  readonly recognise: (data: Buffer) => Recognised | undefined
}

const defaultTimeoutMs = 1500

/** Printable, one line, short: answers go into evidence and must not smuggle in control bytes. */
const quote = (data: Buffer, max = 40): string => {
  const text = data.subarray(0, max).toString("latin1").split(/\r?\n/)[0] ?? ""
  return JSON.stringify(text.replace(/[^\x20-\x7e]/g, "."))
}

// MySQL/MariaDB: a packet (3-byte length, sequence 0) carrying protocol version 10 and a
// NUL-terminated version string; or an error packet (0xff) when the server refuses this client.
const mysqlGreeting: Probe = {
  request: undefined,
  waitMs: 150,
  complete: (d) => d.length >= 4 && d.length >= 4 + d.readUIntLE(0, 3),
  recognise: (d) => {
    if (d.length < 5 || d[3] !== 0 || d.readUIntLE(0, 3) + 4 > d.length) return undefined
    if (d[4] === 10) {
      const end = d.indexOf(0, 5)
      if (end < 0) return undefined
      return { engine: "mysql", evidence: `sent a MySQL handshake first (protocol 10, server ${quote(d.subarray(5, end), 60)})` }
    }
    if (d[4] === 0xff && d.length >= 7) {
      const message = d[7] === 0x23 ? d.subarray(13) : d.subarray(7) // skip "#" and a 5-character SQLSTATE
      return { engine: "mysql", evidence: `sent a MySQL error packet first (${d.readUInt16LE(5)}: ${quote(message, 80)})` }
    }
    return undefined
  },
}

// Postgres: SSLRequest (length 8, code 80877103) is answered with one byte before any startup
// packet, so no database, user or password is involved.
const sslRequest = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
const postgresSsl: Probe = {
  request: sslRequest,
  waitMs: 350,
  complete: (d) => d[0] !== 0x45 || (d.length >= 5 && d.length >= 1 + d.readUInt32BE(1)),
  recognise: (d) => {
    // Exactly one byte: a server that says "N..." and keeps talking is not answering SSLRequest.
    if (d.length === 1 && (d[0] === 0x53 || d[0] === 0x4e)) return { engine: "postgres", evidence: `answered SSLRequest with '${String.fromCharCode(d[0])}'` }
    // An ErrorResponse: 'E', int32 length, then NUL-terminated fields each led by a code byte.
    if (d.length >= 6 && d[0] === 0x45) {
      const length = d.readUInt32BE(1)
      if (length < 5 || length > 8192 || !"SVCM".includes(String.fromCharCode(d[5] ?? 0))) return undefined
      const fields = new Map(
        d
          .subarray(5, 1 + length)
          .toString("latin1")
          .split("\0")
          .filter((f) => f.length > 1)
          .map((f) => [f[0], f.slice(1)]),
      )
      const text = `${fields.get("S") ?? "ERROR"}: ${fields.get("M") ?? ""}`
      return { engine: "postgres", evidence: `answered SSLRequest with an ErrorResponse ${quote(Buffer.from(text, "latin1"), 80)}` }
    }
    return undefined
  },
}

// Redis (and its forks): an inline PING is answered before authentication, either +PONG or a RESP
// error saying why not. Only a RESP line counts, so an HTTP "400 Bad Request" is not mistaken.
const redisPing: Probe = {
  request: Buffer.from("PING\r\n"),
  waitMs: 350,
  complete: (d) => d.includes("\r\n"),
  recognise: (d) => {
    if (!d.includes("\r\n")) return undefined
    const line = d.toString("latin1").split("\r\n")[0] ?? ""
    if (line === "+PONG" || /^-(NOAUTH|DENIED|WRONGPASS|ERR)\b/.test(line)) return { engine: "redis", evidence: `answered inline PING with ${quote(Buffer.from(line, "latin1"), 60)}` }
    return undefined
  },
}

// MongoDB (3.6+): an OP_MSG `hello` on admin, answered (by servers that predate `hello` with an
// error document, which is as good) by a message whose header points back at our request id.
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeInt32LE(n)
  return b
}
const mongoRequestId = 0x53_48_46_50
const mongoHello = (() => {
  const db = Buffer.from("admin\0")
  const body = Buffer.concat([Buffer.from([0x10]), Buffer.from("hello\0"), int32(1), Buffer.from([0x02]), Buffer.from("$db\0"), int32(db.length), db, Buffer.from([0])])
  const document = Buffer.concat([int32(4 + body.length), body])
  const payload = Buffer.concat([int32(0), Buffer.from([0]), document]) // flagBits, section kind 0
  return Buffer.concat([int32(16 + payload.length), int32(mongoRequestId), int32(0), int32(2013), payload])
})()
const mongoMsg: Probe = {
  request: mongoHello,
  waitMs: 350,
  complete: (d) => d.length >= 16,
  recognise: (d) => {
    if (d.length < 16) return undefined
    const length = d.readInt32LE(0)
    const opCode = d.readInt32LE(12)
    // responseTo must be our id: an echo server sends our own message back with responseTo 0.
    if (length < 16 || length > 48_000_000 || d.readInt32LE(8) !== mongoRequestId || (opCode !== 2013 && opCode !== 1)) return undefined
    return { engine: "mongodb", evidence: `answered OP_MSG hello with ${opCode === 2013 ? "an OP_MSG" : "an OP_REPLY"} reply` }
  },
}

type Exchange = { readonly _tag: "answered"; readonly data: Buffer } | { readonly _tag: "unreachable"; readonly evidence: string }

/** One fresh connection: connect within `deadline`, send, collect until decided, silent for `waitMs`, or closed. */
const exchange = (host: string, port: number, probe: Probe, deadline: number): Promise<Exchange> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    let settled = false
    let socket: net.Socket | undefined
    let connected = false
    let timer: NodeJS.Timeout | undefined
    const settle = (result: Exchange) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket?.destroy()
      resolve(result)
    }
    const answered = () => settle({ _tag: "answered", data: Buffer.concat(chunks) })
    const arm = (ms: number, onTimeout: () => void) => {
      clearTimeout(timer)
      timer = setTimeout(onTimeout, Math.max(0, ms))
    }
    try {
      socket = net.connect({ host, port, noDelay: true })
    } catch (e) {
      // Invalid ports throw synchronously; the contract is to answer, not to throw.
      return settle({ _tag: "unreachable", evidence: `could not connect: ${e instanceof Error ? e.message : String(e)}` })
    }
    arm(deadline - performance.now(), () => settle({ _tag: "unreachable", evidence: "no TCP connection before the deadline" }))
    socket.on("connect", () => {
      connected = true
      arm(Math.min(probe.waitMs, deadline - performance.now()), answered)
      if (probe.request !== undefined) socket?.write(probe.request)
    })
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk)
      if (probe.complete(Buffer.concat(chunks))) answered()
    })
    socket.on("close", answered)
    socket.on("error", (e: NodeJS.ErrnoException) => {
      // After the connection is up, a reset is just the end of the answer.
      if (connected) return answered()
      settle({ _tag: "unreachable", evidence: e.code === "ECONNREFUSED" ? "connection refused" : `could not connect: ${e.code ?? e.message}` })
    })
  })

/** Which data store, if any, answers on `host:port`; never throws and never outlives `timeoutMs` by much. */
export const fingerprint = async (host: string, port: number, options?: { readonly timeoutMs?: number }): Promise<FingerprintResult> => {
  const timeoutMs = options?.timeoutMs ?? defaultTimeoutMs
  const deadline = performance.now() + timeoutMs
  let firstAnswer: Buffer | undefined
  for (const probe of [mysqlGreeting, postgresSsl, redisPing, mongoMsg]) {
    if (performance.now() >= deadline) break
    const result = await exchange(host, port, probe, deadline)
    if (result._tag === "unreachable") return { engine: undefined, evidence: result.evidence }
    const recognised = result.data.length > 0 ? probe.recognise(result.data) : undefined
    if (recognised !== undefined) return recognised
    if (result.data.length > 0) firstAnswer ??= result.data
    // A server that speaks first and is not MySQL (SSH, SMTP, ...) is none of the client-first engines.
    if (probe.request === undefined && result.data.length > 0) return { engine: undefined, evidence: `spoke first, not as MySQL: ${quote(result.data)}` }
  }
  const seen = firstAnswer === undefined ? "" : ` (first answer: ${quote(firstAnswer)})`
  return { engine: undefined, evidence: `no recognisable answer within ${timeoutMs} ms${seen}` }
}
