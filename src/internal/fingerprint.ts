/**
 * Recognises a data store behind a TCP endpoint by how it answers a harmless handshake, so that
 * planning can classify any target with a network address (an HTTP target, a proxy's upstream, a
 * bare endpoint, a container's published port) as a data store even when its name says nothing.
 *
 * Cost matters twice: planning should be fast, and every connection is something the target's
 * owners see. So one plan decides in as few connections as it can (docs/fingerprints.md has the
 * order and why each skip is sound):
 * - the first connection listens before it speaks: MySQL/MariaDB and NATS greet first, and any
 *   other banner (SSH, SMTP…) ends the fingerprint. A greeting that comes late is still the first
 *   thing read on that connection, so a MySQL-family server never sees more than one connection.
 * - then, on the same connection, the handshake the port's hint suggests (or `GET /` for an
 *   endpoint expected to speak HTTP), else Redis' PING, which also reveals HTTP servers (400),
 *   memcached (`ERROR`, then `version` on the same connection) and text protocols;
 * - an answer in HTTP leaves only the HTTP handshake; a text answer or an echo ends it;
 * - then one connection per remaining handshake, each answer read by every recogniser (Postgres
 *   answers a Kafka request with an ErrorResponse, Cassandra any foreign frame with a CQL error).
 * Nothing here throws, and nothing outlives the deadline by more than a timer's slack.
 */
import {
  amqpHeader,
  cqlOptions,
  type Handshake,
  kafkaApiVersions,
  memcachedVersion,
  mongoHello,
  other,
  postgresSsl,
  type Reading,
  readAmqp,
  readCqlError,
  readGreeting,
  readMemcachedError,
  readPostgresError,
  readResp,
  readText,
  redisPing,
  type Verdict,
} from "./fingerprint/handshakes.ts"
import { httpGet, readHttp } from "./fingerprint/http.ts"
import { addressOf, dial, type Ending, type Wire } from "./fingerprint/wire.ts"

export type Engine =
  | "postgres"
  | "mysql"
  | "redis"
  | "mongodb"
  | "memcached"
  | "elasticsearch"
  | "opensearch"
  | "cassandra"
  | "kafka"
  | "clickhouse"
  | "etcd"
  | "couchdb"
  | "influxdb"
  | "nats"
  | "rabbitmq"
  | "minio"

/** One connection planning opened, for the journal. */
export interface Contact {
  /** "127.0.0.1:6379", "[::1]:5432". */
  readonly address: string
  /** Which handshakes, in order: "listen 40 ms, then redis PING". */
  readonly handshake: string
  /** A short printable description of the bytes sent, with the byte count. */
  readonly sent: string
  /** A short printable quote of what came back, or what happened instead ("refused", "nothing (silent for 250 ms)"…). */
  readonly received: string
  readonly bytesSent: number
  readonly bytesReceived: number
  readonly ms: number
}

export interface FingerprintResult {
  readonly engine: Engine | undefined
  /** One line a person reads in `shiftup plan`. */
  readonly evidence: string
  readonly contacts: ReadonlyArray<Contact>
}

export interface FingerprintOptions {
  /** The whole fingerprint's deadline. Default 1500 ms. */
  readonly timeoutMs?: number
  /** The endpoint speaks TLS (an https URL): handshakes go over TLS, certificates are never verified. */
  readonly tls?: boolean
  /** SNI and Host header name (a DNS name; an IP address is never sent as SNI). */
  readonly servername?: string
  /** The engine a well-known port suggests: its handshake goes first. */
  readonly hint?: Engine
  /** The endpoint is expected to speak HTTP (an http URL): `GET /` goes first. Implied by `tls`. */
  readonly http?: boolean
  /** User-Agent of the HTTP handshake, e.g. one naming the run. Default `shiftup-fingerprint`. */
  readonly userAgent?: string
  /** An aborted plan stops at once: sockets destroyed, the result says so. */
  readonly signal?: AbortSignal
}

export const defaultTimeoutMs = 1500
/**
 * How long the first connection listens for a greeting: a greeting leaves the server when it
 * accepts, so it arrives about one round trip after the connect, which the connect time measures;
 * a local MariaDB greets within a millisecond. A greeting later than this is still recognised
 * (it is the first thing read, whatever was sent): waiting only spares a server-first server
 * the bytes of a handshake it does not speak.
 */
const listenFor = (connectMs: number) => Math.round(Math.min(answerMs, 10 + 4 * connectMs))
/** How long a handshake waits for an answer that has not started: silence costs this much. */
const answerMs = 250

const serverFirst: ReadonlySet<Engine> = new Set(["mysql", "nats"])

const firstFor = (engine: Engine, http: Handshake): Handshake | undefined => {
  switch (engine) {
    case "redis":
      return redisPing
    case "postgres":
      return postgresSsl
    case "mongodb":
      return mongoHello
    case "kafka":
      return kafkaApiVersions
    case "cassandra":
      return cqlOptions
    case "memcached":
      return memcachedVersion
    case "rabbitmq":
      return amqpHeader
    case "mysql":
    case "nats":
      return undefined
    default:
      return http
  }
}

/** PING first: it costs Redis nothing, and it is what sorts the rest (see the module comment). */
const order = (options: FingerprintOptions, http: Handshake): Array<Handshake> => {
  const base = [redisPing, http, postgresSsl, mongoHello, kafkaApiVersions, cqlOptions]
  const first = options.hint === undefined ? (options.http === true || options.tls === true ? http : undefined) : firstFor(options.hint, http)
  return first === undefined ? base : [first, ...base.filter((h) => h !== first)]
}

const first = (queue: ReadonlyArray<Handshake>, ...these: ReadonlyArray<Handshake>) => [...these.filter((h) => queue.includes(h)), ...queue.filter((h) => !these.includes(h))]

/**
 * How a server treats PING says which handshakes to try next. Silent: it waits for a longer message,
 * as an HTTP server that reads a whole request (ClickHouse), MongoDB (a 16-byte header) and
 * Cassandra (a 9-byte header) do. Closed: it read "PING" as a length and refused it, as Postgres
 * and Kafka do (and Go servers that multiplex protocols on one port, like etcd's).
 */
const afterPing = (queue: ReadonlyArray<Handshake>, ending: Ending, http: Handshake): Array<Handshake> => {
  if (ending === "silent") return first(queue, http, mongoHello, cqlOptions)
  if (ending === "closed" || ending === "reset") return first(queue, postgresSsl, http, kafkaApiVersions)
  return [...queue]
}

const isVerdict = (r: Reading): r is Verdict => typeof r !== "string"

/** Every recogniser reads every answer: a server often says who it is even to a foreign handshake. */
export const readAnswer = (h: Handshake, received: Buffer, answer: Buffer, final: boolean): Reading => {
  const greeting = readGreeting(received, final)
  if (isVerdict(greeting) && greeting._tag === "Engine") return greeting
  if (answer.length === 0) return final ? "nothing" : "more"
  const n = Math.min(answer.length, h.bytes.length)
  if (answer.subarray(0, n).equals(h.bytes.subarray(0, n))) {
    if (answer.length >= h.bytes.length || final) return other(`echoed the ${h.name} back`)
    return "more"
  }
  let more = false
  // memcached's ERROR asks for its version; an ERROR to `version` itself is just a text answer.
  const readers = [h.read, readResp, readPostgresError, ...(h === memcachedVersion ? [] : [readMemcachedError]), readAmqp, readCqlError, readHttp]
  for (const read of readers) {
    const r = read(answer, final)
    if (isVerdict(r)) return r
    if (r === "more") more = true
  }
  if (more && !final) return "more"
  const text = readText(answer, final)
  if (text !== "nothing") return text
  return final ? "nothing" : "more"
}

interface Conversation {
  readonly reading: Reading
  readonly ending: Ending
  /** The handshake the connection ended on (a follow-up if one was asked). */
  readonly last: Handshake
  readonly tlsFailed?: string
}

const finalAfter = (ending: Ending) => ending !== "answered"

/** One connection: listen (the first only), TLS (when the endpoint speaks it), the handshake, and any follow-up it asks for. */
const converse = async (wire: Wire, first: Handshake, plan: { readonly listenMs: number | undefined; readonly tls: boolean; readonly servername: string | undefined }): Promise<Conversation> => {
  if (plan.listenMs !== undefined) {
    const ex = await wire.exchange({ name: `listen ${plan.listenMs} ms`, bytes: undefined, sent: "nothing" }, plan.listenMs, () => readGreeting(wire.received(), false) !== "more")
    const greeting = readGreeting(wire.received(), ex.ending !== "answered" && ex.ending !== "silent")
    if (isVerdict(greeting)) return { reading: greeting, ending: ex.ending, last: first }
    // A server that hangs up before anything was asked does so to every handshake: nothing to learn.
    if (ex.ending === "closed" || ex.ending === "reset") return { reading: other(`${ex.ending === "closed" ? "closed" : "reset"} the connection before any handshake`), ending: ex.ending, last: first }
    if (ex.ending !== "silent") return { reading: "nothing", ending: ex.ending, last: first }
  }
  if (plan.tls) {
    const failed = await wire.startTls(plan.servername)
    if (failed !== undefined) return { reading: "nothing", ending: "closed", last: first, tlsFailed: failed }
  }
  const asked = new Set<string>()
  let h = first
  for (;;) {
    asked.add(h.name)
    const current = h
    const ex = await wire.exchange(current, answerMs, (answer) => readAnswer(current, wire.received(), answer, false) !== "more")
    const reading = readAnswer(current, wire.received(), ex.answer, finalAfter(ex.ending))
    if (isVerdict(reading) && reading._tag === "Ask" && ex.ending === "answered" && !asked.has(reading.handshake.name)) {
      h = reading.handshake
      continue
    }
    return { reading: reading === "more" ? "nothing" : reading, ending: ex.ending, last: current }
  }
}

/**
 * Which data store, if any, answers on `host:port`.
 *
 * @example
 * const r = await fingerprint("127.0.0.1", 6390, { hint: "redis" })
 * // r.engine === "redis", r.evidence === 'answered with the RESP line "+PONG"', r.contacts.length === 1
 */
export const fingerprint = async (host: string, port: number, options: FingerprintOptions = {}): Promise<FingerprintResult> => {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs
  const deadline = performance.now() + timeoutMs
  const contacts: Array<Contact> = []
  const result = (engine: Engine | undefined, evidence: string): FingerprintResult => ({ engine, evidence, contacts })
  const http = httpGet({ authority: addressOf(options.servername ?? host, port), userAgent: options.userAgent ?? "shiftup-fingerprint" })
  let queue = order(options, http)
  let tls: "try" | "on" | "off" = options.tls === true ? "try" : "off"
  const silent = new Set<Handshake>()
  const followUps = new Set<string>()
  let listened = false
  let tlsNote = ""
  while (queue.length > 0) {
    if (options.signal?.aborted === true) return result(undefined, "aborted before a handshake decided")
    if (performance.now() >= deadline) break
    const wire = await dial({ host, port, deadline, signal: options.signal })
    if (!("exchange" in wire)) {
      contacts.push(wire)
      return result(undefined, wire.received === "refused" ? "connection refused" : wire.received === "reset by the server" ? "reset the connection before any handshake" : wire.received)
    }
    const h = queue.shift() as Handshake
    const listen = listened ? undefined : options.hint !== undefined && serverFirst.has(options.hint) ? answerMs : listenFor(wire.connectMs)
    listened = true
    const c = await converse(wire, h, { listenMs: listen, tls: tls !== "off", servername: options.servername })
    contacts.push(wire.end())
    if (c.tlsFailed !== undefined) {
      // Not a TLS server after all: every handshake, this one included, goes in plain text.
      tls = "off"
      tlsNote = ` (${c.tlsFailed})`
      queue.unshift(h)
      continue
    }
    if (tls === "try") {
      tls = "on"
      // Postgres negotiates TLS inside its own protocol: a server that speaks TLS first is not one.
      queue = queue.filter((q) => q !== postgresSsl)
    }
    const r = c.reading
    if (c.ending === "aborted") return result(undefined, "aborted before a handshake decided")
    if (isVerdict(r)) {
      if (r._tag === "Engine") return result(r.engine, r.evidence)
      if (r._tag === "Other") return result(undefined, r.evidence)
      if (r._tag === "Ask") {
        // The connection closed before the follow-up: it gets its own connection, once.
        if (followUps.has(r.handshake.name)) return result(undefined, `no answer to ${r.handshake.name} after asking twice`)
        followUps.add(r.handshake.name)
        queue.unshift(r.handshake)
        continue
      }
      if (!queue.includes(http)) return result(undefined, r.evidence)
      queue = [http]
      continue
    }
    if (c.ending === "silent") silent.add(c.last)
    if (silent.has(redisPing) && silent.has(http)) return result(undefined, `silent to redis PING and to http GET /: none of the engines stays silent to both${tlsNote}`)
    if (c.last === redisPing) queue = afterPing(queue, c.ending, http)
  }
  if (options.signal?.aborted === true) return result(undefined, "aborted before a handshake decided")
  return result(undefined, `no recognisable answer within ${timeoutMs} ms to ${contacts.length} connection${contacts.length === 1 ? "" : "s"}${tlsNote}`)
}
