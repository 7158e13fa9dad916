/**
 * The handshakes a fingerprint may send and the answers it recognises, as pure functions of bytes.
 * Every handshake is one opening message its engine answers before any authentication, so nothing
 * is logged in, read from or written to a store (docs/fingerprints.md has the table, byte for
 * byte, with each server's side effects). Readers say: decided (`Verdict`), wait for more bytes,
 * or nothing to learn here.
 */
import type { Engine } from "../fingerprint.ts"
import { quote } from "./wire.ts"

export type Verdict =
  | { readonly _tag: "Engine"; readonly engine: Engine; readonly evidence: string }
  /** Recognised as something that is none of the engines: no further handshake is worth sending. */
  | { readonly _tag: "Other"; readonly evidence: string }
  /** Speaks HTTP: only the HTTP handshake can still tell which server it is. */
  | { readonly _tag: "Http"; readonly evidence: string }
  /** The answer needs one more question on the same connection (memcached's `version`, etcd's `/version`). */
  | { readonly _tag: "Ask"; readonly handshake: Handshake }

export type Reading = Verdict | "more" | "nothing"

export interface Handshake {
  /** Short, for contacts and evidence: "redis PING". */
  readonly name: string
  readonly bytes: Buffer
  /** What was sent, printable, with the byte count. */
  readonly sent: string
  /** Reads the answer to this handshake; `final` once no more bytes will come. */
  readonly read: (answer: Buffer, final: boolean) => Reading
}

export const engine = (e: Engine, evidence: string): Verdict => ({ _tag: "Engine", engine: e, evidence })
export const other = (evidence: string): Verdict => ({ _tag: "Other", evidence })

/** A text handshake as it is; a binary one by name, byte count and its first 16 bytes in hex. */
const describe = (bytes: Buffer, what?: string) => {
  if (what === undefined) return `${JSON.stringify(bytes.toString("latin1"))} (${bytes.length} bytes)`
  const hex = bytes.subarray(0, 16).toString("hex").replace(/(..)(?!$)/g, "$1 ")
  return `${what} (${bytes.length} bytes: ${hex}${bytes.length > 16 ? " …" : ""})`
}

const int32le = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeInt32LE(n)
  return b
}

const line = (d: Buffer): string | undefined => {
  const end = d.indexOf("\r\n")
  return end < 0 ? undefined : d.subarray(0, end).toString("latin1")
}

// --- server-first ------------------------------------------------------------------------------

/**
 * Whether a MySQL greeting offers TLS: the CLIENT_SSL bit (0x0800) of the capability flags, which
 * follow the version's NUL, a 4-byte connection id, 8 bytes of scramble and a filler byte.
 */
const tlsOffer = (d: Buffer, versionEnd: number, packetEnd: number): string => {
  const at = versionEnd + 14
  if (at + 2 > packetEnd) return ""
  return (d.readUInt16LE(at) & 0x0800) !== 0 ? ", TLS offered" : ", TLS not offered"
}

/**
 * MySQL/MariaDB greet first: a packet (3-byte length, sequence 0) carrying protocol version 10 and
 * a NUL-terminated version string, or an error packet (0xff) when the server refuses this host.
 * NATS greets with `INFO {json}`. Anything else a server says before being asked is a banner.
 */
export const readGreeting = (d: Buffer, final: boolean): Reading => {
  if (d.length === 0) return "nothing"
  if (d.subarray(0, 5).toString("latin1") === "INFO ".slice(0, Math.min(5, d.length))) {
    const first = line(d)
    if (first === undefined) return final ? other(`spoke first: ${quote(d)}`) : "more"
    return first.startsWith("INFO {") && first.includes('"server_id"') ? engine("nats", `greeted first with NATS INFO (${quote(Buffer.from(first.match(/"version":"[^"]*"/)?.[0] ?? first.slice(0, 40)))})`) : other(`spoke first, not as NATS: ${quote(d)}`)
  }
  if (d.length < 4) return final ? other(`spoke first: ${quote(d)}`) : "more"
  const length = d.readUIntLE(0, 3)
  if (d[3] !== 0 || length < 2 || length > 1024) return other(`spoke first, not as MySQL: ${quote(d)}`)
  if (d.length < 4 + length) return final ? other(`spoke first, a cut-short packet: ${quote(d)}`) : "more"
  if (d[4] === 10) {
    const end = d.indexOf(0, 5)
    if (end > 5 && end < 4 + length) return engine("mysql", `greeted first with a MySQL handshake (protocol 10, server ${quote(d.subarray(5, end), 60)}${tlsOffer(d, end, 4 + length)})`)
  }
  if (d[4] === 0xff && length >= 3) {
    const message = d[7] === 0x23 ? d.subarray(13, 4 + length) : d.subarray(7, 4 + length) // skip "#" and a 5-character SQLSTATE
    return engine("mysql", `greeted first with a MySQL error packet (${d.readUInt16LE(5)}: ${quote(message, 80)})`)
  }
  return other(`spoke first, not as MySQL: ${quote(d)}`)
}

// --- client-first handshakes -------------------------------------------------------------------

/** Redis and its forks answer an inline PING before authentication: +PONG, or an error saying why not. */
export const redisPing: Handshake = {
  name: "redis PING",
  bytes: Buffer.from("PING\r\n"),
  sent: describe(Buffer.from("PING\r\n")),
  read: () => "nothing", // the answer is read by readResp, which recognises Redis whatever was asked
}

/** Postgres answers SSLRequest (length 8, code 80877103) with one byte, before any startup packet. */
const sslRequest = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
export const postgresSsl: Handshake = {
  name: "postgres SSLRequest",
  bytes: sslRequest,
  sent: describe(sslRequest, "SSLRequest"),
  read: (d) => {
    // Exactly one byte: a server that says "N..." and keeps talking is not answering SSLRequest.
    if (d.length === 1 && (d[0] === 0x53 || d[0] === 0x4e)) return engine("postgres", `answered SSLRequest with '${String.fromCharCode(d[0])}'`)
    return "nothing"
  },
}

/** memcached's text protocol: `version` reads the server's version and nothing else. */
export const memcachedVersion: Handshake = {
  name: "memcached version",
  bytes: Buffer.from("version\r\n"),
  sent: describe(Buffer.from("version\r\n")),
  read: (d) => {
    const first = line(d)
    if (first === undefined) return "more"
    return /^VERSION \S+$/.test(first) ? engine("memcached", `answered version with ${quote(Buffer.from(first))}`) : "nothing"
  },
}

/**
 * MongoDB (3.6+): an OP_MSG `hello` on admin, answered (by servers that predate `hello`, with an
 * error document, which is as good) by a message whose header points back at our request id.
 */
const mongoRequestId = 0x53_48_46_50
const mongoHelloBytes = (() => {
  const db = Buffer.from("admin\0")
  const body = Buffer.concat([Buffer.from([0x10]), Buffer.from("hello\0"), int32le(1), Buffer.from([0x02]), Buffer.from("$db\0"), int32le(db.length), db, Buffer.from([0])])
  const document = Buffer.concat([int32le(4 + body.length), body])
  const payload = Buffer.concat([int32le(0), Buffer.from([0]), document]) // flagBits, section kind 0
  return Buffer.concat([int32le(16 + payload.length), int32le(mongoRequestId), int32le(0), int32le(2013), payload])
})()
export const mongoHello: Handshake = {
  name: "mongodb OP_MSG hello",
  bytes: mongoHelloBytes,
  sent: describe(mongoHelloBytes, "OP_MSG { hello: 1, $db: \"admin\" }"),
  read: (d) => {
    if (d.length < 16) return "more"
    const length = d.readInt32LE(0)
    const opCode = d.readInt32LE(12)
    // responseTo must be our id: an echo server sends our own message back with responseTo 0.
    if (length < 16 || length > 48_000_000 || d.readInt32LE(8) !== mongoRequestId || (opCode !== 2013 && opCode !== 1)) return "nothing"
    return engine("mongodb", `answered OP_MSG hello with ${opCode === 2013 ? "an OP_MSG" : "an OP_REPLY"} reply`)
  },
}

/**
 * Kafka: ApiVersions v0 (api key 18), which every broker since 0.10 answers before SASL; the
 * answer's correlation id must be ours. Version 0 so that old and new brokers both answer.
 */
const kafkaCorrelationId = 0x5348_4654
const kafkaApiVersionsBytes = (() => {
  const clientId = Buffer.from("shiftup")
  const body = Buffer.alloc(10)
  body.writeInt16BE(18, 0) // api_key ApiVersions
  body.writeInt16BE(0, 2) // api_version
  body.writeInt32BE(kafkaCorrelationId, 4)
  body.writeInt16BE(clientId.length, 8)
  const size = Buffer.alloc(4)
  size.writeInt32BE(body.length + clientId.length)
  return Buffer.concat([size, body, clientId])
})()
export const kafkaApiVersions: Handshake = {
  name: "kafka ApiVersions",
  bytes: kafkaApiVersionsBytes,
  sent: describe(kafkaApiVersionsBytes, "ApiVersions v0 request"),
  read: (d) => {
    if (d.length < 10) return "more"
    const size = d.readInt32BE(0)
    if (size < 6 || size > 1 << 20 || d.readInt32BE(4) !== kafkaCorrelationId) return "nothing"
    return engine("kafka", `answered ApiVersions with our correlation id (error code ${d.readInt16BE(8)})`)
  },
}

/** Cassandra (and ScyllaDB): a CQL v4 OPTIONS frame on stream 1, answered by SUPPORTED before STARTUP. */
const cqlOptionsBytes = Buffer.from([0x04, 0x00, 0x00, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00])
export const cqlOptions: Handshake = {
  name: "cassandra OPTIONS",
  bytes: cqlOptionsBytes,
  sent: describe(cqlOptionsBytes, "CQL v4 OPTIONS frame"),
  read: (d) => {
    if (d.length < 9) return "more"
    const version = (d[0] ?? 0) & 0x7f
    if ((d[0] ?? 0) < 0x80 || version < 3 || version > 6 || d.readUInt16BE(2) !== 1 || d[4] !== 0x06) return "nothing"
    const length = d.readUInt32BE(5)
    if (length > 65_536) return "nothing"
    if (d.length < 9 + length) return "more"
    return d.subarray(9, 9 + length).includes("CQL_VERSION") ? engine("cassandra", `answered OPTIONS with SUPPORTED (CQL v${version})`) : "nothing"
  },
}

// --- answers recognised whatever was asked -----------------------------------------------------

/** A RESP status or error line as only Redis writes it (to PING, or to a command it refuses). */
export const readResp = (d: Buffer): Reading => {
  if (d[0] !== 0x2b && d[0] !== 0x2d) return "nothing"
  const first = line(d)
  if (first === undefined) return d.length < 256 ? "more" : "nothing"
  if (first === "+PONG" || /^-(NOAUTH|WRONGPASS|DENIED|NOPERM|LOADING|MASTERDOWN|ERR) /.test(first)) return engine("redis", `answered with the RESP line ${quote(Buffer.from(first, "latin1"), 60)}`)
  return "nothing"
}

/** memcached says `ERROR` to any line it does not know: ask its version on the same connection. */
export const readMemcachedError = (d: Buffer): Reading => {
  if (!"ERROR\r\n".startsWith(d.subarray(0, 7).toString("latin1"))) return "nothing"
  if (d.length < 7) return "more"
  return /^(ERROR\r\n)+$/.test(d.toString("latin1")) ? { _tag: "Ask", handshake: memcachedVersion } : "nothing"
}

/** A Postgres ErrorResponse: 'E', int32 length, then NUL-terminated fields each led by a code byte. */
export const readPostgresError = (d: Buffer): Reading => {
  if (d[0] !== 0x45) return "nothing"
  if (d.length < 6) return "more"
  const length = d.readUInt32BE(1)
  if (length < 5 || length > 8192 || !"SVCM".includes(String.fromCharCode(d[5] ?? 0))) return "nothing"
  if (d.length < 1 + length) return "more"
  const fields = new Map(
    d
      .subarray(5, 1 + length)
      .toString("latin1")
      .split("\0")
      .filter((f) => f.length > 1)
      .map((f) => [f[0], f.slice(1)]),
  )
  if (!fields.has("M")) return "nothing"
  return engine("postgres", `answered with a Postgres ErrorResponse ${quote(Buffer.from(`${fields.get("S") ?? "ERROR"}: ${fields.get("M") ?? ""}`, "latin1"), 80)}`)
}

/** An AMQP server answers a header it does not accept with its own protocol header, then closes. */
export const readAmqp = (d: Buffer): Reading => {
  if (!"AMQP".startsWith(d.subarray(0, 4).toString("latin1"))) return "nothing"
  if (d.length < 8) return "more"
  return engine("rabbitmq", `answered with the AMQP protocol header ${d[5]}-${d[6]}-${d[7]}`)
}

/**
 * A CQL ERROR frame: what Cassandra answers a frame of a protocol version it does not support
 * (drivers negotiate the version this way), so even a foreign handshake gets one.
 */
export const readCqlError = (d: Buffer): Reading => {
  const first = d[0] ?? 0
  if (first < 0x81 || first > 0x86) return "nothing"
  const header = (first & 0x7f) <= 2 ? 8 : 9
  if (d.length < header + 6) return "more"
  const opcode = d[header - 5]
  const length = d.readUInt32BE(header - 4)
  if (opcode !== 0x00 || length < 6 || length > 65_536) return "nothing"
  if (d.length < header + length) return "more"
  const code = d.readUInt32BE(header)
  const messageLength = d.readUInt16BE(header + 4)
  if (messageLength + 6 > length) return "nothing"
  const message = d.subarray(header + 6, header + 6 + messageLength)
  return engine("cassandra", `answered with a CQL ERROR frame (0x${code.toString(16).padStart(4, "0")}: ${quote(message, 80)})`)
}

const printable = (d: Buffer) => d.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b <= 0x7e))

/**
 * Text that no reader recognised. None of the binary engines ever answers in printable text, and
 * the text engines were just read, so a text answer ends the fingerprint, except that text that
 * looks like a web page says the port speaks HTTP and deserves the HTTP handshake.
 */
export const readText = (d: Buffer, final: boolean): Reading => {
  if (d.length === 0 || !printable(d)) return "nothing"
  const text = d.toString("latin1")
  if (/^HTTP\/|<html|<!doctype|<head|<body/i.test(text)) return { _tag: "Http", evidence: `answered in HTTP or HTML: ${quote(d)}` }
  if (!text.includes("\n") && !final) return "more"
  return other(`answered in text: ${quote(d)}`)
}

/** RabbitMQ (AMQP 0-9-1): the protocol header, answered by a Connection.Start method frame before any login. */
const amqpHeaderBytes = Buffer.from("AMQP\x00\x00\x09\x01", "latin1")
export const amqpHeader: Handshake = {
  name: "amqp protocol header",
  bytes: amqpHeaderBytes,
  sent: describe(amqpHeaderBytes, "AMQP 0-9-1 protocol header"),
  read: (d) => {
    if (d.length < 11) return "more"
    // Frame type 1 (method) on channel 0, then class 10 (connection), method 10 (start).
    return d[0] === 1 && d.readUInt16BE(1) === 0 && d.readUInt16BE(7) === 10 && d.readUInt16BE(9) === 10 ? engine("rabbitmq", "answered the AMQP 0-9-1 header with Connection.Start") : "nothing"
  },
}
