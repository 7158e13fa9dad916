/**
 * The PostgreSQL finding store over TLS, on a real PostgreSQL 15 that accepts role `app` only
 * over TLS (pg_hba: hostssl, and hostnossl reject) with a certificate for 127.0.0.1 made here by
 * openssl: `tls: "verify-full"` with the CA file records and reads findings; without the CA the
 * self-signed chain is refused; `require` encrypts without checking the chain; `disable` — and
 * the loopback default — are refused by the server, with an error that never holds the password.
 * The URL's sslmode is read; `prefer` (may fall back to plain text) is refused at config load.
 */
import { execFileSync } from "node:child_process"
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { FindingStoreError, openPostgres, type PostgresStoreOptions } from "shiftup/watch"
import { WatchSettingsSchema } from "../../src/watch/settings.ts"
import { Schema } from "effect"
import { connectAdmin } from "../support/postgres.ts"
import { type RealServer, startPostgres } from "../support/servers.ts"
import { anon, at } from "../support/store-contract.ts"

const passwordEnv = "SHIFTUP_TEST_TLS_STORE_PASSWORD"
const password = `pw-${Math.random().toString(36).slice(2)}-Tls9`
const certs = mkdtempSync(join(tmpdir(), "shiftup-pg-tls-"))
const cert = join(certs, "server.crt")
const key = join(certs, "server.key")
let server: RealServer
let admin: pg.Client

beforeAll(async () => {
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "pipe" })
  // As root the server runs as `postgres` (src/demo/servers.ts): its key must be its own, 0600.
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim())
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim())
    for (const f of [certs, cert, key]) chownSync(f, uid, gid)
  }
  chmodSync(key, 0o600)
  const hba = ["local all all trust", "host all postgres 127.0.0.1/32 trust", "hostssl all app 127.0.0.1/32 scram-sha-256", "hostnossl all app 127.0.0.1/32 reject", ""].join("\n")
  server = await startPostgres({ args: ["-c", "ssl=on", "-c", `ssl_cert_file=${cert}`, "-c", `ssl_key_file=${key}`], hba })
  admin = await connectAdmin(server.port)
  await admin.query(`CREATE ROLE app LOGIN PASSWORD '${password}'`)
  await admin.query("GRANT CREATE ON DATABASE postgres TO app")
  process.env[passwordEnv] = password
}, 60_000)
afterAll(async () => {
  await admin?.end()
  await server?.stop()
  rmSync(certs, { recursive: true, force: true })
})

let n = 0
const options = (more: Partial<PostgresStoreOptions> = {}): PostgresStoreOptions => ({ kind: "postgres", url: `postgres://app@127.0.0.1:${server.port}/postgres`, passwordEnv, schema: `tls_${process.pid}_${n++}`, ...more })

const refused = async (o: PostgresStoreOptions): Promise<string> => {
  const e = await openPostgres(o).then(
    async (s) => {
      await s.close()
      return undefined
    },
    (x: unknown) => x,
  )
  expect(e).toBeInstanceOf(FindingStoreError)
  const message = (e as Error).message
  expect(message).not.toContain(password)
  return message
}

describe("the PostgreSQL store over TLS", () => {
  it("verify-full with the CA file: findings recorded and read over TLS (the server's own view says so)", async () => {
    const store = await openPostgres(options({ tls: "verify-full", caFile: cert }))
    try {
      await store.record("gateway", [anon], at(0))
      expect((await store.open()).map((f) => f.rule)).toEqual([anon.rule])
      const tls = await admin.query("SELECT count(*)::int AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'app' AND s.ssl")
      expect(tls.rows[0]?.n).toBeGreaterThan(0)
    } finally {
      await store.close()
    }
  })

  it("verify-full without the CA: the self-signed chain is refused; require encrypts without checking it", async () => {
    expect(await refused(options({ tls: "verify-full" }))).toMatch(/self[- ]signed|certificate/i)
    const store = await openPostgres(options({ tls: "require" }))
    await store.close()
    const viaUrl = await openPostgres({ kind: "postgres", url: `postgres://app@127.0.0.1:${server.port}/postgres?sslmode=require`, passwordEnv, schema: `tls_${process.pid}_${n++}` })
    await viaUrl.close()
  })

  it("disable, and the loopback default, reach a server that wants TLS in plain text: refused by the server, the password never in the error", async () => {
    expect(await refused(options({ tls: "disable" }))).toMatch(/no encryption|pg_hba|rejects/i)
    expect(await refused(options())).toMatch(/no encryption|pg_hba|rejects/i)
  })

  it("sslmode=prefer or allow (plain text as a fallback) is refused at config load", () => {
    const decode = Schema.decodeUnknownExit(WatchSettingsSchema)
    const bad = decode({ jobs: [], store: { kind: "postgres", url: "postgres://app@db.internal/shiftup?sslmode=prefer" } })
    expect(bad._tag).toBe("Failure")
    expect(String(bad)).toContain("sslmode=prefer: use require or verify-full")
    expect(decode({ jobs: [], store: { kind: "postgres", url: "postgres://app@db.internal/shiftup?sslmode=verify-full", caFile: "/etc/ssl/ca.pem" } })._tag).toBe("Success")
  })
})
