/**
 * Stand-ins for data stores that have no Debian package (MongoDB, Kafka, Cassandra, Elasticsearch,
 * OpenSearch, CouchDB, InfluxDB, RabbitMQ), written from their public protocol specifications:
 * each answers its own opening handshake as the spec says, and treats foreign bytes as the real
 * server does (waits for a full header, answers with a protocol error, or closes), because the
 * fingerprint's order depends on that. They are not the servers: docs/fingerprints.md says which
 * engines were checked against real ones.
 */
import * as http from "node:http"
import * as net from "node:net"

const int32le = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeInt32LE(n)
  return b
}

/** Closes the connection, as a server does with bytes it cannot accept; consumes everything. */
const hangUp = (socket: net.Socket, last?: Buffer): number => {
  if (last === undefined) socket.destroy()
  else socket.end(last)
  return Number.POSITIVE_INFINITY
}

/** Collects bytes on a socket until `take` consumes a message (returns the bytes it used) or ends it. */
const framed = (socket: net.Socket, take: (buffered: Buffer) => number | "wait") => {
  let buffered = Buffer.alloc(0)
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    for (;;) {
      if (socket.destroyed || buffered.length === 0) return
      const used = take(buffered)
      if (used === "wait") return
      buffered = buffered.subarray(used)
    }
  })
}

/**
 * MongoDB wire protocol: a 16-byte header (messageLength, requestID, responseTo, opCode, little
 * endian); a length outside 16..48 MB closes the connection; an OP_MSG is answered with an OP_MSG
 * `{ ok: 1.0 }` whose responseTo is the request's id.
 */
export const mongoStandIn = (socket: net.Socket) =>
  framed(socket, (b) => {
    if (b.length < 16) return "wait"
    const length = b.readInt32LE(0)
    if (length < 16 || length > 48_000_000 || b.readInt32LE(12) !== 2013) return hangUp(socket)
    if (b.length < length) return "wait"
    const ok = Buffer.concat([Buffer.from([0x01]), Buffer.from("ok\0"), Buffer.alloc(8)])
    ok.writeDoubleLE(1, 4)
    const document = Buffer.concat([int32le(4 + ok.length + 1), ok, Buffer.from([0])])
    const payload = Buffer.concat([int32le(0), Buffer.from([0]), document])
    socket.write(Buffer.concat([int32le(16 + payload.length), int32le(99), int32le(b.readInt32LE(4)), int32le(2013), payload]))
    return length
  })

/**
 * Kafka: a request is an int32 big-endian size then api_key, api_version, correlation_id. A size
 * over socket.request.max.bytes (100 MiB) or an unknown api key closes the connection;
 * ApiVersions (18) is answered with the correlation id and the broker's version ranges.
 */
export const kafkaStandIn = (socket: net.Socket) =>
  framed(socket, (b) => {
    if (b.length < 4) return "wait"
    const size = b.readInt32BE(0)
    if (size < 8 || size > 104_857_600) return hangUp(socket)
    if (b.length < 4 + size) return "wait"
    const apiKey = b.readInt16BE(4)
    if (apiKey !== 18) return hangUp(socket)
    const apis = [
      [0, 0, 9],
      [1, 0, 13],
      [3, 0, 12],
      [18, 0, 3],
    ]
    const body = Buffer.alloc(4 + 2 + 4 + apis.length * 6)
    body.writeInt32BE(b.readInt32BE(8), 0) // correlation_id
    body.writeInt16BE(b.readInt16BE(6) > 3 ? 35 : 0, 4) // UNSUPPORTED_VERSION past v3
    body.writeInt32BE(apis.length, 6)
    apis.forEach(([key, min, max], i) => {
      body.writeInt16BE(key as number, 10 + i * 6)
      body.writeInt16BE(min as number, 12 + i * 6)
      body.writeInt16BE(max as number, 14 + i * 6)
    })
    const sizeOut = Buffer.alloc(4)
    sizeOut.writeInt32BE(body.length)
    socket.write(Buffer.concat([sizeOut, body]))
    return 4 + size
  })

const cqlString = (s: string) => {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(Buffer.byteLength(s))
  return Buffer.concat([b, Buffer.from(s)])
}
const cqlShort = (n: number) => {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}
const cqlFrame = (stream: number, opcode: number, body: Buffer) => {
  const header = Buffer.from([0x84, 0x00, 0, 0, opcode, 0, 0, 0, 0])
  header.writeUInt16BE(stream, 2)
  header.writeUInt32BE(body.length, 5)
  return Buffer.concat([header, body])
}

/**
 * Cassandra's native protocol (v3 to v5): a 9-byte header (version, flags, stream, opcode,
 * length). A frame of a version it does not support is answered with an ERROR (protocol error,
 * 0x000A) and the connection closed, as drivers' version negotiation expects; OPTIONS is answered
 * with SUPPORTED.
 */
export const cassandraStandIn = (socket: net.Socket) =>
  framed(socket, (b) => {
    if (b.length < 9) return "wait"
    const version = (b[0] ?? 0) & 0x7f
    const stream = b.readUInt16BE(2)
    const error = (message: string) => {
      const code = Buffer.alloc(4)
      code.writeUInt32BE(0x000a)
      return hangUp(socket, cqlFrame(stream, 0x00, Buffer.concat([code, cqlString(message)])))
    }
    if ((b[0] ?? 0) & 0x80 || version < 3 || version > 5) return error(`Invalid or unsupported protocol version (${version}); supported versions are (3/v3, 4/v4, 5/v5)`)
    const length = b.readUInt32BE(5)
    if (length > 256 * 1024 * 1024) return error("Request is too big")
    if (b.length < 9 + length) return "wait"
    if (b[4] !== 0x05) return error("Unexpected message before STARTUP")
    const options: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
      ["CQL_VERSION", ["3.4.5"]],
      ["COMPRESSION", ["snappy", "lz4"]],
      ["PROTOCOL_VERSIONS", ["3/v3", "4/v4", "5/v5"]],
    ]
    const body = Buffer.concat([cqlShort(options.length), ...options.flatMap(([k, vs]) => [cqlString(k), cqlShort(vs.length), ...vs.map(cqlString)])])
    socket.write(cqlFrame(stream, 0x06, body))
    return 9 + length
  })

/**
 * RabbitMQ (AMQP 0-9-1): the client sends the 8-byte protocol header; the server answers a header
 * it accepts with a Connection.Start method frame and any other with its own header, then closes.
 */
export const rabbitStandIn = (socket: net.Socket) =>
  framed(socket, (b) => {
    if (b.length < 8) return "wait"
    if (!b.subarray(0, 8).equals(Buffer.from("AMQP\x00\x00\x09\x01", "latin1"))) return hangUp(socket, Buffer.from("AMQP\x00\x00\x09\x01", "latin1"))
    const args = Buffer.from([0, 9, 0, 0, 0, 0, 0, 0, 0, 5, ...Buffer.from("PLAIN"), 0, 0, 0, 5, ...Buffer.from("en_US")])
    const payload = Buffer.concat([Buffer.from([0, 10, 0, 10]), args])
    const header = Buffer.from([1, 0, 0, 0, 0, 0, 0])
    header.writeUInt32BE(payload.length, 3)
    socket.write(Buffer.concat([header, payload, Buffer.from([0xce])]))
    return 8
  })

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json; charset=UTF-8", ...headers })
  res.end(JSON.stringify(body))
}

/** Elasticsearch 8's root document and product header; `secured` answers 401 as its security layer does. */
export const elasticsearchStandIn = (options: { readonly secured?: boolean } = {}) =>
  http.createServer((req, res) => {
    if (options.secured === true) {
      const reason = `missing authentication credentials for REST request [${req.url}]`
      const cause = { type: "security_exception", reason, header: { "WWW-Authenticate": ['Basic realm="security" charset="UTF-8"', "ApiKey"] } }
      return json(res, 401, { error: { root_cause: [cause], ...cause }, status: 401 }, { "www-authenticate": 'Basic realm="security" charset="UTF-8"' })
    }
    if (req.url !== "/") return json(res, 404, { error: "no handler found" }, { "x-elastic-product": "Elasticsearch" })
    json(
      res,
      200,
      {
        name: "es01",
        cluster_name: "docker-cluster",
        cluster_uuid: "hW4a7v8nT5W2yBi3sVkO1w",
        version: { number: "8.11.1", build_flavor: "default", build_type: "docker", lucene_version: "9.8.0", minimum_wire_compatibility_version: "7.17.0" },
        tagline: "You Know, for Search",
      },
      { "x-elastic-product": "Elasticsearch" },
    )
  })

/** OpenSearch 2's root document (no product header); `secured` answers as its security plugin does. */
export const opensearchStandIn = (options: { readonly secured?: boolean } = {}) =>
  http.createServer((_req, res) => {
    if (options.secured === true) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="OpenSearch Security"', "content-type": "text/plain; charset=UTF-8" })
      return res.end("Unauthorized")
    }
    json(res, 200, {
      name: "opensearch-node1",
      cluster_name: "opensearch-cluster",
      version: { distribution: "opensearch", number: "2.11.0", build_type: "tar", lucene_version: "9.7.0" },
      tagline: "The OpenSearch Project: https://opensearch.org/",
    })
  })

export const couchdbStandIn = () =>
  http.createServer((_req, res) => json(res, 200, { couchdb: "Welcome", version: "3.3.2", vendor: { name: "The Apache Software Foundation" } }, { server: "CouchDB/3.3.2 (Erlang OTP/24)" }))

/** InfluxDB 1.x puts its version on every answer, the root's 404 included. */
export const influxdbStandIn = () =>
  http.createServer((_req, res) => {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8", "x-influxdb-build": "OSS", "x-influxdb-version": "1.8.10" })
    res.end("404 page not found\n")
  })
