/**
 * The core fingerprint against servers this file starts on 127.0.0.1: protocol stand-ins for the
 * engines that have no Debian package (test/support/standins.ts) and traps that look like data
 * stores but are not. Every server counts the connections it accepted, and every result's contacts
 * must match that count: the journal may not under- or over-report what planning touched.
 * Real servers (Redis, Postgres, MariaDB, memcached, etcd, ClickHouse, NATS, nginx) are in
 * test/integration/fingerprint-real.test.ts.
 */
import * as http from "node:http"
import * as https from "node:https"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import fc from "fast-check"
import { afterAll, describe, expect, it } from "vitest"
import { type Engine, fingerprint, type FingerprintOptions, type FingerprintResult, readAnswer } from "../../../src/internal/fingerprint.ts"
import { cqlOptions, kafkaApiVersions, memcachedVersion, mongoHello, postgresSsl, redisPing } from "../../../src/internal/fingerprint/handshakes.ts"
import { httpGet, parseResponse } from "../../../src/internal/fingerprint/http.ts"
import { makeCerts } from "../../fixtures/http/certs.ts"
import { cassandraStandIn, couchdbStandIn, elasticsearchStandIn, influxdbStandIn, kafkaStandIn, mongoStandIn, opensearchStandIn, rabbitStandIn } from "../../support/standins.ts"

const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Served {
  readonly port: number
  /** Connections the server accepted so far. */
  readonly accepted: () => number
  /** Resolves once every accepted connection is closed. */
  readonly allClosed: () => Promise<void>
}

/** Listens on a free loopback port, counting connections; closed after the file. */
const serve = async (server: net.Server): Promise<Served> => {
  const open = new Set<net.Socket>()
  let accepted = 0
  const drained: Array<() => void> = []
  server.on("connection", (s: net.Socket) => {
    accepted++
    open.add(s)
    s.on("error", () => undefined)
    s.on("close", () => {
      open.delete(s)
      if (open.size === 0) for (const d of drained.splice(0)) d()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }),
  )
  const allClosed = () => (open.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => drained.push(resolve)))
  return { port: (server.address() as AddressInfo).port, accepted: () => accepted, allClosed }
}

const tcp = (handler: (s: net.Socket) => void) => serve(net.createServer(handler))

/** Reads and discards, says nothing (reading is what lets it notice the client's close). */
const silent = (s: net.Socket) => void s.resume()

/** Fingerprints, then checks the contacts against the connections the server saw. */
const probe = async (served: Served, options?: FingerprintOptions): Promise<FingerprintResult> => {
  const before = served.accepted()
  const result = await fingerprint("127.0.0.1", served.port, options)
  await served.allClosed()
  expect(result.contacts.length).toBe(served.accepted() - before)
  for (const c of result.contacts) {
    expect(c.address).toBe(`127.0.0.1:${served.port}`)
    expect(c.sent).toMatch(c.bytesSent === 0 ? /^nothing$/ : new RegExp(`\\(${c.bytesSent} bytes|\\(\\d+ bytes`))
  }
  return result
}

describe("fingerprint recognises protocol stand-ins (engines without a Debian package)", () => {
  const cases: ReadonlyArray<readonly [string, () => Promise<Served>, Engine, FingerprintOptions, number]> = [
    ["MongoDB, unhinted: silent to PING, closes on GET /, answers hello", () => tcp(mongoStandIn), "mongodb", {}, 3],
    ["MongoDB, hinted", () => tcp(mongoStandIn), "mongodb", { hint: "mongodb" }, 1],
    ["Kafka, unhinted: closes on PING, waits on SSLRequest (4 of 8 bytes), closes on GET /, answers ApiVersions", () => tcp(kafkaStandIn), "kafka", {}, 4],
    ["Kafka, hinted", () => tcp(kafkaStandIn), "kafka", { hint: "kafka" }, 1],
    ["Cassandra, unhinted: answers GET / with a CQL protocol error", () => tcp(cassandraStandIn), "cassandra", {}, 2],
    ["Cassandra, hinted: OPTIONS answered by SUPPORTED", () => tcp(cassandraStandIn), "cassandra", { hint: "cassandra" }, 1],
    ["RabbitMQ, unhinted: answers GET / with its AMQP header", () => tcp(rabbitStandIn), "rabbitmq", {}, 2],
    ["RabbitMQ, hinted: Connection.Start", () => tcp(rabbitStandIn), "rabbitmq", { hint: "rabbitmq" }, 1],
    ["Elasticsearch, unhinted: PING gets a 400, then GET /", () => serve(elasticsearchStandIn()), "elasticsearch", {}, 2],
    ["Elasticsearch as an HTTP target: GET / first", () => serve(elasticsearchStandIn()), "elasticsearch", { http: true }, 1],
    ["Elasticsearch with security on: 401 security_exception", () => serve(elasticsearchStandIn({ secured: true })), "elasticsearch", { hint: "elasticsearch" }, 1],
    ["OpenSearch: its distribution in the root document", () => serve(opensearchStandIn()), "opensearch", { http: true }, 1],
    ["OpenSearch with its security plugin: 401 realm", () => serve(opensearchStandIn({ secured: true })), "opensearch", { http: true }, 1],
    ["CouchDB: Welcome", () => serve(couchdbStandIn()), "couchdb", { http: true }, 1],
    ["InfluxDB: its version header on a 404", () => serve(influxdbStandIn()), "influxdb", { http: true }, 1],
  ]
  for (const [title, start, engine, options, connections] of cases) {
    it(title, async () => {
      const served = await start()
      const result = await probe(served, options)
      expect(result.engine).toBe(engine)
      expect(result.contacts).toHaveLength(connections)
    })
  }

  it("a MySQL server refusing this host sends an error packet first: still mysql, one connection", async () => {
    const message = Buffer.from("Host '172.17.0.1' is not allowed to connect to this MariaDB server")
    const payload = Buffer.concat([Buffer.from([0xff, 0x6a, 0x04]), message]) // error 1130
    const served = await tcp((s) => s.end(Buffer.concat([Buffer.from([payload.length, 0, 0, 0]), payload])))
    const result = await probe(served)
    expect(result).toMatchObject({ engine: "mysql", evidence: `greeted first with a MySQL error packet (1130: "${message.toString()}")` })
    expect(result.contacts).toHaveLength(1)
  })

  it("a Postgres answering SSLRequest with an ErrorResponse: still postgres", async () => {
    const fields = Buffer.from("SFATAL\0C08P01\0Munsupported frontend protocol 1234.5679\0\0")
    const length = Buffer.alloc(4)
    length.writeUInt32BE(4 + fields.length)
    const served = await tcp((s) => s.on("data", (d: Buffer) => (d.length === 8 && d.readUInt32BE(4) === 80877103 ? s.end(Buffer.concat([Buffer.from("E"), length, fields])) : s.end())))
    const result = await probe(served, { hint: "postgres" })
    expect(result).toMatchObject({ engine: "postgres", evidence: 'answered with a Postgres ErrorResponse "FATAL: unsupported frontend protocol 1234.5679"' })
  })

  it("Elasticsearch over TLS (an https URL): the handshake goes over TLS, the certificate is not verified", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shiftup-fp-tls-"))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const certs = makeCerts(dir)
    const plain = elasticsearchStandIn()
    const served = await serve(https.createServer({ key: certs.expired.key, cert: certs.expired.cert }, (req, res) => plain.emit("request", req, res)))
    const result = await probe(served, { tls: true, servername: "search.internal" })
    expect(result.engine).toBe("elasticsearch")
    expect(result.contacts).toHaveLength(1)
    expect(result.contacts[0]?.handshake).toMatch(/^listen \d+ ms, then TLS handshake, then http GET \/$/)
    expect(result.contacts[0]?.sent).toContain("Host: search.internal:")
  })

  it("tls on a plain server: the TLS failure is a contact, then the plain handshakes run", async () => {
    const served = await serve(elasticsearchStandIn())
    const result = await probe(served, { tls: true })
    expect(result.engine).toBe("elasticsearch")
    expect(result.contacts).toHaveLength(2)
    expect(result.contacts[0]?.received).toMatch(/TLS handshake failed/)
  })
})

describe("fingerprint does not flag look-alikes", () => {
  const echo = () => tcp((s) => s.pipe(s))
  const answerAnything = (answer: string) =>
    tcp((s) => {
      s.on("data", () => s.write(answer))
    })
  const cases: ReadonlyArray<readonly [string, () => Promise<Served>, FingerprintOptions, number, RegExp]> = [
    ["an echo server on a Postgres port echoes SSLRequest back", echo, { hint: "postgres" }, 1, /^echoed the postgres SSLRequest back$/],
    ["an echo server on a MongoDB port: responseTo 0", echo, { hint: "mongodb" }, 1, /^echoed the mongodb OP_MSG hello back$/],
    ["an echo server on a Kafka port", echo, { hint: "kafka" }, 1, /^echoed/],
    ["an echo server on a Cassandra port", echo, { hint: "cassandra" }, 1, /^echoed/],
    ["an echo server, unhinted", echo, {}, 1, /^echoed the redis PING back$/],
    ["a banner service on a MySQL port", () => tcp((s) => s.write("220 mail.example.org ESMTP Postfix\r\n")), { hint: "mysql" }, 1, /^spoke first, not as MySQL: "220 mail/],
    ["an SSH server", () => tcp((s) => s.write("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")), {}, 1, /^spoke first, not as MySQL: "SSH-2.0/],
    ["a MySQL-shaped packet that is not protocol 10", () => tcp((s) => s.write(Buffer.from([5, 0, 0, 0, 9, 0x41, 0x42, 0x43, 0]))), { hint: "mysql" }, 1, /^spoke first, not as MySQL/],
    ["an HTTP server on a Redis port: PING gets a 400", () => serve(http.createServer((_q, r) => r.end("hello"))), { hint: "redis" }, 2, /^a web server, not a data store: GET \/ answered 200/],
    ["a server that answers anything with +PONG inside HTTP", () => answerAnything("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n+PONG\r\n"), { hint: "redis" }, 2, /^a web server, not a data store/],
    ["a server that answers anything with 'N' and a newline", () => answerAnything("N\r\n"), { hint: "postgres" }, 1, /^answered in text: "N"$/],
    ["a line server that says ERROR to everything (memcached's word, not its version)", () => answerAnything("ERROR\r\n"), {}, 1, /^answered in text: "ERROR"$/],
    ["a server that closes at once", () => tcp((s) => s.destroy()), {}, 1, /^closed the connection before any handshake$/],
    ["a server that resets at once", () => tcp((s) => s.resetAndDestroy()), {}, 1, /^(reset|closed) the connection before any handshake$/],
    ["a server that accepts and says nothing", () => tcp(silent), {}, 2, /^silent to redis PING and to http GET \//],
  ]
  for (const [title, start, options, connections, evidence] of cases) {
    it(title, async () => {
      const served = await start()
      const result = await probe(served, options)
      expect(result.engine).toBeUndefined()
      expect(result.evidence).toMatch(evidence)
      expect(result.contacts).toHaveLength(connections)
    })
  }

  it("a closed port is one refused contact", async () => {
    const s = net.createServer()
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve))
    const port = (s.address() as AddressInfo).port
    await new Promise<void>((resolve) => s.close(() => resolve()))
    const result = await fingerprint("127.0.0.1", port)
    expect(result).toMatchObject({ engine: undefined, evidence: "connection refused" })
    expect(result.contacts).toEqual([{ address: `127.0.0.1:${port}`, handshake: "connect", sent: "nothing", received: "refused", bytesSent: 0, bytesReceived: 0, ms: expect.any(Number) }])
  })

  it("an IPv6 endpoint: contacts name it in brackets", async () => {
    const server = net.createServer((s) => s.on("data", () => s.write("+PONG\r\n")))
    await new Promise<void>((resolve) => server.listen(0, "::1", resolve))
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const port = (server.address() as AddressInfo).port
    const result = await fingerprint("::1", port)
    expect(result.engine).toBe("redis")
    expect(result.contacts.map((c) => c.address)).toEqual([`[::1]:${port}`])
  })

  it("never throws, even for a port that cannot exist", async () => {
    const result = await fingerprint("127.0.0.1", 70_000)
    expect(result.engine).toBeUndefined()
    expect(result.evidence).toMatch(/^could not connect: /)
  })
})

describe("contacts say what was sent and what came back", () => {
  it("an HTTP server on a Redis port: PING and its 400, then GET / and its 200", async () => {
    const served = await serve(http.createServer((_q, r) => r.end("hello")))
    const [ping, get] = (await probe(served, { hint: "redis", userAgent: "shiftup/run-42" })).contacts
    expect(ping).toMatchObject({ handshake: expect.stringMatching(/^listen \d+ ms, then redis PING$/), sent: '"PING\\r\\n" (6 bytes)', bytesSent: 6 })
    expect(ping?.received).toMatch(/^"HTTP\/1\.1 400 Bad Request\\r\\n.*" \(\d+ bytes\), then closed by the server$/)
    expect(get?.handshake).toBe("http GET /")
    expect(get?.sent).toBe(`GET / HTTP/1.1, Host: 127.0.0.1:${served.port} (${get?.bytesSent} bytes)`)
    expect(get?.received).toMatch(/^"HTTP\/1\.1 200 OK/)
    expect(get?.bytesReceived).toBeGreaterThan(0)
  })

  it("a silent server: each contact says how long it stayed silent", async () => {
    const served = await tcp(silent)
    const result = await probe(served)
    expect(result.contacts.map((c) => c.received)).toEqual([expect.stringMatching(/^nothing \(silent for 2\d\d ms\)$/), expect.stringMatching(/^nothing \(silent for 2\d\d ms\)$/)])
  })
})

describe("fingerprint keeps its deadline and stops when aborted", () => {
  it("a silent server is given up within the deadline", async () => {
    const served = await tcp(silent)
    const t0 = performance.now()
    const result = await probe(served, { timeoutMs: 120 })
    const elapsed = performance.now() - t0
    expect(result.engine).toBeUndefined()
    expect(elapsed).toBeGreaterThanOrEqual(115)
    expect(elapsed).toBeLessThan(200)
  })

  it("by default a silent server costs two short waits, not the whole deadline", async () => {
    const served = await tcp(silent)
    const t0 = performance.now()
    await probe(served)
    expect(performance.now() - t0).toBeLessThan(800)
  })

  it("an abort stops at once and closes the connection", async () => {
    const served = await tcp(silent)
    const controller = new AbortController()
    const pending = fingerprint("127.0.0.1", served.port, { signal: controller.signal })
    await new Promise((r) => setTimeout(r, 60))
    const t0 = performance.now()
    controller.abort()
    const result = await pending
    expect(performance.now() - t0).toBeLessThan(30)
    expect(result.engine).toBeUndefined()
    expect(result.evidence).toBe("aborted before a handshake decided")
    expect(result.contacts.at(-1)?.received).toBe("nothing (the plan was aborted)")
    await served.allClosed()
    expect(result.contacts).toHaveLength(served.accepted())
  })

  it("an already aborted plan contacts nothing", async () => {
    const served = await tcp(silent)
    const result = await fingerprint("127.0.0.1", served.port, { signal: AbortSignal.abort() })
    expect(result).toEqual({ engine: undefined, evidence: "aborted before a handshake decided", contacts: [] })
    expect(served.accepted()).toBe(0)
  })
})

describe("reading answers", () => {
  const handshakes = [redisPing, postgresSsl, mongoHello, kafkaApiVersions, cqlOptions, memcachedVersion, httpGet({ authority: "x:1", userAgent: "u" })]

  it("an echo of any handshake, whole or cut anywhere, is never an engine", () => {
    fc.assert(
      fc.property(fc.constantFrom(...handshakes), fc.nat(), fc.boolean(), (h, cut, final) => {
        const echo = h.bytes.subarray(0, 1 + (cut % h.bytes.length))
        const r = readAnswer(h, echo, echo, final || echo.length === h.bytes.length)
        expect(typeof r === "string" || r._tag !== "Engine").toBe(true)
      }),
    )
  })

  it("any bytes at all are read without throwing", () => {
    fc.assert(
      fc.property(fc.constantFrom(...handshakes), fc.uint8Array({ maxLength: 200 }), fc.boolean(), (h, bytes, final) => {
        const b = Buffer.from(bytes)
        readAnswer(h, b, b, final)
      }),
    )
  })

  it("a Postgres ErrorResponse answers any handshake as Postgres (its answer to a Kafka request)", () => {
    const fields = Buffer.from("SFATAL\0VFATAL\0C0A000\0Munsupported frontend protocol 18.0: server supports 3.0 to 3.0\0\0")
    const length = Buffer.alloc(4)
    length.writeUInt32BE(4 + fields.length)
    const answer = Buffer.concat([Buffer.from("E"), length, fields])
    expect(readAnswer(kafkaApiVersions, answer, answer, false)).toEqual({ _tag: "Engine", engine: "postgres", evidence: 'answered with a Postgres ErrorResponse "FATAL: unsupported frontend protocol 18.0: server supports 3.0 to 3.0"' })
  })

  it("a MySQL error packet first (a server refusing this host) is still MySQL", () => {
    const message = Buffer.from("Host '172.17.0.1' is not allowed to connect to this MariaDB server")
    const payload = Buffer.concat([Buffer.from([0xff, 0x6a, 0x04]), message])
    const packet = Buffer.concat([Buffer.from([payload.length, 0, 0, 0]), payload])
    expect(readAnswer(redisPing, packet, packet, false)).toMatchObject({ _tag: "Engine", engine: "mysql", evidence: `greeted first with a MySQL error packet (1130: "${message.toString().slice(0, 80)}")` })
  })

  it("HTTP: a chunked body is read whole; a response without a length waits for the close", () => {
    const chunked = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"cou\r\nB\r\nchdb":"Welc\r\n5\r\nome"}\r\n0\r\n\r\n')
    expect(parseResponse(chunked, false)).toMatchObject({ status: 200, body: '{"couchdb":"Welcome"}' })
    expect(parseResponse(chunked.subarray(0, 60), false)).toBe("more")
    const open = Buffer.from("HTTP/1.0 200 OK\r\n\r\nOk.\n")
    expect(parseResponse(open, false)).toBe("more")
    expect(parseResponse(open, true)).toMatchObject({ status: 200, body: "Ok.\n" })
    expect(parseResponse(Buffer.from("+PONG\r\n"), false)).toBe("nothing")
  })
})
