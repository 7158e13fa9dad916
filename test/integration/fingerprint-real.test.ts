/**
 * The core fingerprint against real servers from Debian packages, each started by this file from
 * its own temp data dir on a free 127.0.0.1 port and stopped by pid (test/support/servers.ts):
 * Redis (open and password protected), PostgreSQL, MariaDB, memcached, etcd, ClickHouse (HTTP and
 * native ports), NATS, and nginx as the plain web server that must not be flagged. Each is
 * fingerprinted without a hint (an unknown port) and with the hint its well-known port gives.
 * Where the server can count what it saw (Redis' connections, MariaDB's Aborted_connects), the
 * contacts are checked against it.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Engine, fingerprint, type FingerprintOptions } from "../../src/internal/fingerprint.ts"
import { makeCerts } from "../fixtures/http/certs.ts"
import { startNginx } from "../fixtures/http/nginx.ts"
import { type RealServer, startClickhouse, startEtcd, startMariadb, startMemcached, startNats, startPostgres, startRedis } from "../support/servers.ts"

type Name = "redis" | "redisAuth" | "postgres" | "mariadb" | "memcached" | "etcd" | "clickhouse" | "nats"

/**
 * A server that could not start is kept as its error and rethrown by each test that needs it, so
 * a missing package shows up as failed tests naming it (a failing beforeAll would only skip them).
 */
const servers = new Map<Name, RealServer | Error>()
let clickhouseNative = 0
const stops: Array<() => Promise<void>> = []
const web = { http: 0, https: 0 }

const server = (name: Name): RealServer => {
  const s = servers.get(name)
  if (s === undefined || s instanceof Error) throw s ?? new Error(`${name} was not started`)
  return s
}

beforeAll(async () => {
  const starts: ReadonlyArray<readonly [Name, () => Promise<RealServer>]> = [
    ["redis", () => startRedis()],
    ["redisAuth", () => startRedis(["--requirepass", "x"])],
    ["postgres", startPostgres],
    ["mariadb", startMariadb],
    ["memcached", startMemcached],
    ["etcd", startEtcd],
    [
      "clickhouse",
      async () => {
        const ch = await startClickhouse()
        clickhouseNative = ch.nativePort
        return ch
      },
    ],
    ["nats", startNats],
  ]
  await Promise.all(
    starts.map(async ([name, start]) => {
      const s = await start().catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))
      servers.set(name, s)
      if (!(s instanceof Error)) stops.push(s.stop)
    }),
  )
  const dir = mkdtempSync(join(tmpdir(), "shiftup-fp-nginx-"))
  const nginx = await startNginx(dir, "good", makeCerts(dir).good)
  stops.push(async () => {
    await nginx.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  web.http = Number(new URL(nginx.http).port)
  web.https = Number(new URL(nginx.https).port)
}, 120_000)

afterAll(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()))
}, 60_000)

const at = (port: number, options?: FingerprintOptions) => fingerprint("127.0.0.1", port, options)

describe("fingerprint recognises real data stores", () => {
  const cases: ReadonlyArray<readonly [Name, Engine, RegExp, number, number]> = [
    // name, engine, evidence, connections unhinted, connections hinted
    ["redis", "redis", /^answered with the RESP line "\+PONG"$/, 1, 1],
    ["redisAuth", "redis", /^answered with the RESP line "-NOAUTH Authentication required\."$/, 1, 1],
    ["postgres", "postgres", /^answered SSLRequest with 'N'$/, 2, 1],
    ["mariadb", "mysql", /^greeted first with a MySQL handshake \(protocol 10, server ".*MariaDB.*", TLS not offered\)$/, 1, 1],
    ["memcached", "memcached", /^answered version with "VERSION 1\.6\.\d+"$/, 1, 1],
    ["etcd", "etcd", /^answered GET \/version: etcd 3\.\d+\.\d+ \(cluster 3\.\d+\.\d+\)$/, 3, 1],
    ["clickhouse", "clickhouse", /^answered GET \/: body "Ok\.\\n"$/, 2, 1],
    ["nats", "nats", /^greeted first with NATS INFO/, 1, 1],
  ]
  const hints: Record<Name, Engine> = { redis: "redis", redisAuth: "redis", postgres: "postgres", mariadb: "mysql", memcached: "memcached", etcd: "etcd", clickhouse: "clickhouse", nats: "nats" }
  for (const [name, engine, evidence, unhinted, hinted] of cases) {
    it(`${name}: recognised on an unknown port in ${unhinted} connection(s), with its port's hint in ${hinted}`, async () => {
      const { port } = server(name)
      const plain = await at(port)
      expect(plain.engine, plain.evidence).toBe(engine)
      expect(plain.evidence).toMatch(evidence)
      expect(plain.contacts).toHaveLength(unhinted)
      const hint = await at(port, { hint: hints[name] })
      expect(hint.engine).toBe(engine)
      expect(hint.contacts).toHaveLength(hinted)
    })
  }

  it("clickhouse's native port says which program it is for, in answer to PING", async () => {
    server("clickhouse")
    const r = await at(clickhouseNative)
    expect(r.engine).toBe("clickhouse")
    expect(r.evidence).toMatch(/is for clickhouse-client program/)
    expect(r.contacts).toHaveLength(1)
  })

  it("redis counts exactly the connections the contacts list", async () => {
    const { port } = server("redis")
    const connections = () => Number(/total_connections_received:(\d+)/.exec(execFileSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "info", "stats"]).toString())?.[1])
    const before = connections()
    const r = await at(port)
    // The second count includes redis-cli's own connection for the first one.
    expect(connections() - before - 1).toBe(r.contacts.length)
  })

  it("a MariaDB server sees one unauthenticated handshake per fingerprint, whatever the hint", async () => {
    const { port } = server("mariadb")
    const aborted = () => Number(execFileSync("mariadb", ["-h", "127.0.0.1", "-P", String(port), "-u", "root", "-N", "-B", "-e", "SHOW GLOBAL STATUS LIKE 'Aborted_connects'"]).toString().split("\t")[1])
    const before = aborted()
    for (const options of [{}, { hint: "redis" as const }, { http: true }, { hint: "postgres" as const }, { tls: true }]) expect((await at(port, options)).contacts).toHaveLength(1)
    expect(aborted() - before).toBe(5)
  })

  it("each real engine is recognised well within the default deadline", async () => {
    for (const name of ["redis", "postgres", "mariadb", "memcached", "etcd", "nats"] as const) {
      const t0 = performance.now()
      expect((await at(server(name).port)).engine).toBeDefined()
      expect(performance.now() - t0, name).toBeLessThan(1000)
    }
  })
})

describe("fingerprint does not flag a real web server", () => {
  it("nginx on an unknown port: PING gets its 400, GET / its answer (a redirect to HTTPS); two connections", async () => {
    const r = await at(web.http)
    expect(r.engine).toBeUndefined()
    expect(r.evidence).toMatch(/^a web server, not a data store: GET \/ answered 301 Moved Permanently, Server: nginx$/)
    expect(r.contacts).toHaveLength(2)
  })

  it("nginx as an HTTP target (GET / first): one connection", async () => {
    const r = await at(web.http, { http: true })
    expect(r.engine).toBeUndefined()
    expect(r.contacts).toHaveLength(1)
  })

  it("nginx over TLS as an https target: one connection", async () => {
    const r = await at(web.https, { tls: true, servername: "localhost" })
    expect(r.engine).toBeUndefined()
    expect(r.evidence).toMatch(/^a web server, not a data store: GET \/ answered 200/)
    expect(r.contacts).toHaveLength(1)
  })

  it("nginx on a Redis port (hint redis): still a web server", async () => {
    const r = await at(web.http, { hint: "redis" })
    expect(r.engine).toBeUndefined()
    expect(r.contacts).toHaveLength(2)
  })
})
