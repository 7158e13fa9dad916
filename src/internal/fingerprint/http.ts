/**
 * The HTTP handshake: one `GET /` (and, for a Go server's bare 404, `GET /version` on the same
 * connection), read by a deliberately small HTTP/1.x response parser, and recognised by the
 * answer's shape: the data stores that speak HTTP say who they are in a header or in the JSON of
 * their root document. A plain web server is recognised too, which ends the fingerprint: no
 * RESP, Postgres, MongoDB, Kafka or CQL server ever answers with an HTTP status line.
 */
import type { Engine } from "../fingerprint.ts"
import { engine, type Handshake, other, type Reading } from "./handshakes.ts"
import { quote } from "./wire.ts"

interface Response {
  readonly status: number
  readonly reason: string
  readonly headers: ReadonlyMap<string, string>
  readonly body: string
}

/** Enough body to read any root document of the engines here; a bigger one is cut, not awaited. */
const maxBody = 64 * 1024

const dechunk = (raw: Buffer): Buffer | undefined => {
  const parts: Array<Buffer> = []
  let at = 0
  for (;;) {
    const eol = raw.indexOf("\r\n", at)
    if (eol < 0) return undefined
    const size = Number.parseInt(raw.subarray(at, eol).toString("latin1"), 16)
    if (!Number.isFinite(size)) return Buffer.concat(parts)
    if (size === 0) return Buffer.concat(parts)
    if (raw.length < eol + 2 + size) return raw.length - at > maxBody ? Buffer.concat([...parts, raw.subarray(eol + 2)]) : undefined
    parts.push(raw.subarray(eol + 2, eol + 2 + size))
    at = eol + 4 + size
  }
}

/** A response, or "more" while it is incomplete, or "nothing" when the bytes are not HTTP. */
export const parseResponse = (d: Buffer, final: boolean): Response | "more" | "nothing" => {
  if (!"HTTP/1.".startsWith(d.subarray(0, 7).toString("latin1"))) return "nothing"
  const end = d.indexOf("\r\n\r\n")
  if (end < 0) return final || d.length > maxBody ? "nothing" : "more"
  const [statusLine = "", ...lines] = d.subarray(0, end).toString("latin1").split("\r\n")
  const match = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine)
  if (match === null) return "nothing"
  const headers = new Map<string, string>()
  for (const l of lines) {
    const colon = l.indexOf(":")
    if (colon > 0) headers.set(l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim())
  }
  const status = Number(match[1])
  const raw = d.subarray(end + 4)
  const length = headers.get("content-length")
  let body: Buffer | undefined
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) body = Buffer.alloc(0)
  else if (length !== undefined) body = raw.length >= Math.min(Number(length), maxBody) ? raw.subarray(0, Number(length)) : undefined
  else if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) body = dechunk(raw)
  else body = final || raw.length >= maxBody ? raw : undefined
  if (body === undefined) return final ? { status, reason: match[2] ?? "", headers, body: raw.toString("utf8") } : "more"
  return { status, reason: match[2] ?? "", headers, body: body.subarray(0, maxBody).toString("utf8") }
}

const json = (body: string): Record<string, unknown> | undefined => {
  if (!body.trimStart().startsWith("{")) return undefined
  try {
    const value: unknown = JSON.parse(body)
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch (e) {
    // A body that starts like JSON but is not (cut at maxBody, or not JSON at all): no document to read.
    if (e instanceof SyntaxError) return undefined
    throw e
  }
}

const field = (o: unknown, ...path: ReadonlyArray<string>): unknown => path.reduce<unknown>((at, k) => (typeof at === "object" && at !== null ? (at as Record<string, unknown>)[k] : undefined), o)

/** Which HTTP-speaking engine this answer comes from, if any. */
const recognise = (r: Response): { readonly engine: Engine; readonly why: string } | undefined => {
  const h = (name: string) => r.headers.get(name)
  const product = h("x-elastic-product")
  if (product !== undefined) return { engine: /opensearch/i.test(product) ? "opensearch" : "elasticsearch", why: `header X-Elastic-Product: ${product}` }
  const clickhouseHeader = [...r.headers.keys()].find((k) => k.startsWith("x-clickhouse-"))
  if (clickhouseHeader !== undefined) return { engine: "clickhouse", why: `header ${clickhouseHeader}` }
  const influx = h("x-influxdb-version")
  if (influx !== undefined) return { engine: "influxdb", why: `header X-Influxdb-Version: ${influx}` }
  const server = h("server") ?? ""
  if (/^CouchDB\//i.test(server)) return { engine: "couchdb", why: `header Server: ${server}` }
  if (/^MinIO\b/i.test(server)) return { engine: "minio", why: `header Server: ${server}` }
  const doc = json(r.body)
  if (doc !== undefined) {
    const distribution = field(doc, "version", "distribution")
    const tagline = field(doc, "tagline")
    if (distribution === "opensearch" || (typeof tagline === "string" && /opensearch/i.test(tagline))) return { engine: "opensearch", why: `root document of OpenSearch ${String(field(doc, "version", "number"))}` }
    if (tagline === "You Know, for Search" || (field(doc, "cluster_name") !== undefined && field(doc, "version", "lucene_version") !== undefined)) return { engine: "elasticsearch", why: `root document of Elasticsearch ${String(field(doc, "version", "number"))}` }
    if (field(doc, "error", "type") === "security_exception" || field(doc, "error", "root_cause", "0", "type") === "security_exception") return { engine: "elasticsearch", why: `${r.status} security_exception` }
    if (doc["couchdb"] === "Welcome") return { engine: "couchdb", why: `root document of CouchDB ${String(doc["version"])}` }
    if (typeof doc["etcdserver"] === "string" && typeof doc["etcdcluster"] === "string") return { engine: "etcd", why: `etcd ${doc["etcdserver"]} (cluster ${doc["etcdcluster"]})` }
  }
  if (/realm="OpenSearch Security"/i.test(h("www-authenticate") ?? "")) return { engine: "opensearch", why: `${r.status} from the OpenSearch security plugin` }
  if (r.status === 200 && r.body === "Ok.\n") return { engine: "clickhouse", why: 'body "Ok.\\n"' }
  if (/There is no handle .*\n[\s\S]*clickhouse-client/.test(r.body)) return { engine: "clickhouse", why: `${r.status} "There is no handle"` }
  if (/Port \d+ is for clickhouse-client program/.test(r.body)) return { engine: "clickhouse", why: `${r.status} from the native port: ${quote(Buffer.from(r.body))}` }
  if (r.body.includes("It looks like you are trying to access MongoDB over HTTP on the native driver port")) return { engine: "mongodb", why: "its answer to HTTP on the native driver port" }
  return undefined
}

const summary = (r: Response) => `${r.status}${r.reason === "" ? "" : ` ${r.reason}`}${r.headers.has("server") ? `, Server: ${r.headers.get("server")}` : ""}`

export interface HttpRequest {
  /** The Host header: the name a virtual host answers to. */
  readonly authority: string
  readonly userAgent: string
}

/** GET `path`; `asked` follow-ups so a Go 404 at `/` is asked `/version` once, etcd's one read-only document. */
export const httpGet = (request: HttpRequest, path = "/"): Handshake => {
  const bytes = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${request.authority}\r\nUser-Agent: ${request.userAgent}\r\nAccept: */*\r\n\r\n`)
  return {
    name: `http GET ${path}`,
    bytes,
    sent: `GET ${path} HTTP/1.1, Host: ${request.authority} (${bytes.length} bytes)`,
    read: (d, final) => {
      const r = parseResponse(d, final)
      if (typeof r === "string") return r
      const found = recognise(r)
      if (found !== undefined) return engine(found.engine, `answered GET ${path}: ${found.why}`)
      if (path === "/" && r.status === 404 && r.body.startsWith("404 page not found")) return { _tag: "Ask", handshake: httpGet(request, "/version") }
      return other(`a web server, not a data store: GET ${path} answered ${summary(r)}`)
    },
  }
}

/** An HTTP answer to a handshake that was not HTTP: a few engines say who they are even then. */
export const readHttp = (d: Buffer, final: boolean): Reading => {
  const r = parseResponse(d, final)
  if (typeof r === "string") return r
  const found = recognise(r)
  return found === undefined ? { _tag: "Http", evidence: `answered in HTTP (${summary(r)})` } : engine(found.engine, `answered in HTTP: ${found.why}`)
}
