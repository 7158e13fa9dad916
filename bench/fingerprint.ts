/**
 * `npm run bench -- fingerprint`: how long the plan-time protocol fingerprint takes, and how many
 * connections it opens, against each real engine the machine has (Debian packages, started on
 * free loopback ports by test/support/servers.ts), a plain web server (nginx), and a port that
 * accepts and says nothing. Each endpoint is fingerprinted as an unknown port (no hint) and with
 * the hint of its well-known port; figures are medians of `rounds` runs after one warm-up.
 */
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Engine, fingerprint, type FingerprintOptions } from "../src/internal/fingerprint.ts"
import { makeCerts } from "../test/fixtures/http/certs.ts"
import { startNginx } from "../test/fixtures/http/nginx.ts"
import { startClickhouse, startEtcd, startMariadb, startMemcached, startNats, startPostgres, startRedis } from "../test/support/servers.ts"
import { median, type Line, type Section } from "./lib.ts"

const rounds = 7

const measure = async (port: number, options: FingerprintOptions) => {
  const ms: Array<number> = []
  let connections = 0
  let engine: Engine | undefined
  for (let i = 0; i <= rounds; i++) {
    const t0 = performance.now()
    const r = await fingerprint("127.0.0.1", port, options)
    if (i === 0) continue
    ms.push(performance.now() - t0)
    connections = r.contacts.length
    engine = r.engine
  }
  return { ms: median(ms), connections, engine: engine ?? "none" }
}

export const fingerprintSection: Section = {
  name: "fingerprint",
  title: `plan-time fingerprint per endpoint: median ms (of ${rounds}) and connections, unknown port vs hinted`,
  run: async () => {
    const stops: Array<() => Promise<void>> = []
    const dir = mkdtempSync(join(tmpdir(), "shiftup-bench-fp-"))
    try {
      const [redis, redisAuth, postgres, mariadb, memcached, etcd, clickhouse, nats] = await Promise.all([startRedis(), startRedis(["--requirepass", "x"]), startPostgres(), startMariadb(), startMemcached(), startEtcd(), startClickhouse(), startNats()])
      for (const s of [redis, redisAuth, postgres, mariadb, memcached, etcd, clickhouse, nats]) stops.push(s.stop)
      const nginx = await startNginx(dir, "good", makeCerts(dir).good)
      stops.push(nginx.stop)
      const silent = net.createServer((s) => s.resume())
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
      stops.push(() => new Promise((resolve) => silent.close(() => resolve())))
      const targets: ReadonlyArray<readonly [string, number, FingerprintOptions]> = [
        ["redis", redis.port, { hint: "redis" }],
        ["redis_requirepass", redisAuth.port, { hint: "redis" }],
        ["postgres", postgres.port, { hint: "postgres" }],
        ["mariadb", mariadb.port, { hint: "mysql" }],
        ["memcached", memcached.port, { hint: "memcached" }],
        ["etcd", etcd.port, { hint: "etcd" }],
        ["clickhouse_http", clickhouse.port, { hint: "clickhouse" }],
        ["clickhouse_native", clickhouse.nativePort, { hint: "clickhouse" }],
        ["nats", nats.port, { hint: "nats" }],
        ["nginx", Number(new URL(nginx.http).port), { http: true }],
        ["nginx_tls", Number(new URL(nginx.https).port), { tls: true }],
        ["silent", (silent.address() as AddressInfo).port, { hint: "postgres" }],
      ]
      const lines: Array<Line> = []
      for (const [name, port, hinted] of targets) {
        const plain = name === "nginx_tls" ? undefined : await measure(port, {})
        const hint = await measure(port, hinted)
        const how = Object.entries(hinted).map(([k, v]) => `${k}=${String(v)}`)
        if (plain !== undefined) lines.push({ name: `fingerprint.${name}.unknown_ms`, value: plain.ms, digits: 1 }, { name: `fingerprint.${name}.unknown_connections`, value: `${plain.connections} (${plain.engine})` })
        lines.push({ name: `fingerprint.${name}.hinted_ms`, value: hint.ms, digits: 1, note: `hinted with ${how.join(", ")}` }, { name: `fingerprint.${name}.hinted_connections`, value: `${hint.connections} (${hint.engine})` })
      }
      return lines
    } finally {
      await Promise.all(stops.map((stop) => stop()))
      rmSync(dir, { recursive: true, force: true })
    }
  },
}
