/**
 * The inventory's endpoint source against real servers on loopback: redis-server and PostgreSQL
 * (recognised by their handshakes; a production Redis found only by its handshake gets no
 * further contact), Debian's nginx with a certificate expiring in 5 days and one expired in
 * 2020 (TLS facts, HTTP facts, the redirect of its plain port, the expiry findings of a diff),
 * and an echo server on a data-store port (the fingerprint sees the echo). Then the plan before any packet: a CIDR with
 * one address outside the allowlist, an unknown environment without the observe opt-in and a
 * production data store port are each refused with nothing arriving at listeners that count
 * every connection — and the same listeners do count the scan once it is allowed.
 */
import { mkdtempSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Cause, Effect, Exit } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeEgress } from "../../src/internal/egress.ts"
import * as Inventory from "../../src/inventory/index.ts"
import { makeCerts, type Certs } from "../fixtures/http/certs.ts"
import { startNginx, type Nginx } from "../fixtures/http/nginx.ts"
import { freePort, startPostgres, startRedis, type RealServer } from "../support/servers.ts"

const dirs: Array<string> = []
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "shiftup-inv-"))
  dirs.push(d)
  return d
}

interface Listener {
  readonly host: string
  readonly port: number
  readonly count: () => number
  readonly close: () => Promise<void>
}

/** Accepts and counts connections; `echo` sends back what arrives, `pong` answers every read as Redis answers PING. */
const listen = (host: string, port: number, echo: boolean | "pong" = false): Promise<Listener> =>
  new Promise((resolve, reject) => {
    let n = 0
    const sockets = new Set<net.Socket>()
    const server = net.createServer((s) => {
      n++
      sockets.add(s)
      s.on("close", () => sockets.delete(s))
      s.on("error", () => s.destroy())
      if (echo === "pong") s.on("data", () => s.write("+PONG\r\n"))
      else if (echo) s.pipe(s)
    })
    server.on("error", reject)
    server.listen(port, host, () =>
      resolve({
        host,
        port: (server.address() as net.AddressInfo).port,
        count: () => n,
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy()
            server.close(() => r())
          }),
      }),
    )
  })

/** A loopback address of its own, so a fixed data-store port is free whatever else runs here. */
const ownLoopback = () => `127.${20 + Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`

let certs: Certs
let redis: RealServer
let postgres: RealServer
let expiring: Nginx
let expired: Nginx
let echo: Listener
let snap: Inventory.Snapshot
const port = (url: string) => Number(new URL(url).port)

beforeAll(async () => {
  certs = makeCerts(temp())
  ;[redis, postgres, expiring, expired, echo] = await Promise.all([startRedis(), startPostgres(), startNginx(temp(), "good", certs.expiring), startNginx(temp(), "good", certs.expired), listen(ownLoopback(), 5432, true)])
  snap = await Effect.runPromise(
    Inventory.snapshot({
      endpoints: {
        endpoints: [
          { target: `127.0.0.1:${redis.port}`, environment: "lab", owner: "cache-team" },
          { target: `127.0.0.1:${postgres.port}`, environment: "staging" },
          { target: "127.0.0.1", ports: [port(expiring.https), port(expiring.http), port(expired.https)], environment: "lab" },
          { target: `${echo.host}:5432`, environment: "lab" },
        ],
      },
    }),
  )
}, 60_000)

afterAll(async () => {
  await Promise.all([redis?.stop(), postgres?.stop(), expiring?.stop(), expired?.stop(), echo?.close()])
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const endpoint = (s: Inventory.Snapshot, host: string, p: number) => {
  const a = s.assets.find((x) => x.id === `tcp:${host}:${p}`)
  if (a === undefined || a.kind !== "endpoint") throw new Error(`no endpoint ${host}:${p} in ${s.assets.map((x) => x.id).join(", ")}`)
  return a
}

const failure = async (e: Effect.Effect<unknown, unknown>) => {
  const exit = await Effect.runPromiseExit(e)
  if (Exit.isSuccess(exit)) throw new Error("expected a refusal, the scan ran")
  return Cause.squash(exit.cause) as { readonly _tag: string; readonly host?: string; readonly address?: string; readonly rule?: string; readonly target?: string }
}

describe("endpoint inventory", () => {
  it("redis-server: recognised by its handshake, a data store, no TLS or HTTP facts", () => {
    const r = endpoint(snap, "127.0.0.1", redis.port)
    expect(r.fingerprint.engine).toBe("redis")
    expect(r.classification).toMatchObject({ environment: "lab", dataStore: true, engine: "redis" })
    expect(r.owner).toEqual({ value: "cache-team", source: "config" })
    expect(r.tls).toBeNull()
    expect(r.http).toBeNull()
  })

  it("PostgreSQL: recognised by its SSLRequest answer, a staging data store", () => {
    const p = endpoint(snap, "127.0.0.1", postgres.port)
    expect(p.fingerprint.engine).toBe("postgres")
    expect(p.classification).toMatchObject({ environment: "staging", dataStore: true, engine: "postgres" })
    expect(p.tls).toBeNull()
    expect(p.http).toBeNull()
  })

  it("nginx with a certificate expiring in 5 days: TLS facts, HTTP facts, and the plain port's redirect", () => {
    const t = endpoint(snap, "127.0.0.1", port(expiring.https))
    expect(t.fingerprint.engine).toBeNull()
    expect(t.tls?.protocol).toBe("TLSv1.3")
    const c = t.tls?.certificate
    expect(c).toMatchObject({ subject: "CN=localhost", issuer: "CN=shiftup test CA", keyType: "rsa", keyBits: 2048, selfSigned: false })
    expect(c?.altNames).toEqual(["DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1"])
    const days = (Date.parse(c?.notAfter ?? "") - Date.now()) / 86_400_000
    expect(days).toBeGreaterThan(4.9)
    expect(days).toBeLessThan(5.1)
    expect(t.http).toMatchObject({ status: 200, redirect: null, missing: [] })
    expect(t.http?.server).toMatch(/^nginx/)
    expect(Object.keys(t.http?.securityHeaders ?? {}).sort()).toEqual(["content-security-policy", "referrer-policy", "strict-transport-security", "x-content-type-options"])
    const plain = endpoint(snap, "127.0.0.1", port(expiring.http))
    expect(plain.tls).toBeNull()
    expect(plain.http).toMatchObject({ status: 301, redirect: `https://127.0.0.1:${port(expiring.https)}/` })
  })

  it("the expired certificate's facts; a diff warns of the one expiring within 30 days and the expired one, and only within the window", () => {
    const x = endpoint(snap, "127.0.0.1", port(expired.https))
    expect(x.tls?.certificate).toMatchObject({ subject: "CN=other.example", notAfter: "2020-02-01T00:00:00.000Z", selfSigned: true, altNames: ["DNS:other.example"] })
    const certFindings = (days: number) =>
      Inventory.diff(snap, snap, { certificateWindowDays: days })
        .findings.filter((f) => f.kind.startsWith("certificate"))
        .map((f) => `${f.kind} ${f.asset}`)
        .sort()
    expect(certFindings(30)).toEqual([`certificate-expired tcp:127.0.0.1:${port(expired.https)}`, `certificate-expiring tcp:127.0.0.1:${port(expiring.https)}`].sort())
    expect(certFindings(4)).toEqual([`certificate-expired tcp:127.0.0.1:${port(expired.https)}`])
  })

  it("an echo server on the postgres port: a data store by its port, and the fingerprint says it echoed", () => {
    const e = endpoint(snap, echo.host, 5432)
    expect(e.fingerprint.engine).toBeNull()
    expect(e.fingerprint.evidence).toMatch(/echoed/)
    expect(e.classification.dataStore).toBe(true)
  })

  it("a production Redis found only by its handshake (with the observe opt-in): one connection, no TLS or HTTP contact, the floor's rule named", async () => {
    const pong = await listen("127.0.0.1", 0, "pong")
    try {
      const s = await Effect.runPromise(Inventory.snapshot({ observeProduction: true, endpoints: { endpoints: [`127.0.0.1:${pong.port}`] } }))
      const r = endpoint(s, "127.0.0.1", pong.port)
      expect(r.fingerprint.engine).toBe("redis")
      expect(r.classification).toMatchObject({ environment: "unknown", effective: "production", dataStore: true })
      expect(r.skipped).toBe("floor.production-data-store")
      // The scan's connect and the fingerprint's one: nothing after the floor refused.
      expect(pong.count()).toBe(2)
    } finally {
      await pong.close()
    }
  })
})

describe("plan before any packet", () => {
  let inside: Listener
  let outside: Listener
  beforeAll(async () => {
    const p = await freePort()
    ;[inside, outside] = await Promise.all([listen("127.0.0.1", p), listen("127.0.0.2", p)])
  })
  afterAll(async () => {
    await Promise.all([inside?.close(), outside?.close()])
  })

  it("a CIDR with an address outside the allowlist is refused, naming it, and no listener sees a connection — not even the allowed one listed first", async () => {
    const safety = { ...Inventory.safetyOf({}), egress: makeEgress(["127.0.0.1/32"]) }
    const e = await failure(Inventory.endpointAssets({ endpoints: [{ target: `127.0.0.1:${inside.port}`, environment: "lab" }, { target: "127.0.0.0/30", ports: [inside.port], environment: "lab" }] }, safety))
    expect(e).toMatchObject({ _tag: "EgressDenied", host: "127.0.0.0/30", address: "127.0.0.0" })
    expect((e as unknown as Error).message).toBe("egress to 127.0.0.0/30 (127.0.0.0) is not allowed; allowed: 127.0.0.1/32. Add it to inventory.egress if this destination is really part of what you observe")
    expect([inside.count(), outside.count()]).toEqual([0, 0])
  })

  it("an unknown environment without the observe opt-in, and a production data store port even with it, are refused before any packet", async () => {
    const unknown = await failure(Inventory.snapshot({ endpoints: { endpoints: [`127.0.0.2:${outside.port}`] } }))
    expect(unknown).toMatchObject({ _tag: "TargetRefused", rule: "floor.production-observe-opt-in", target: `tcp:127.0.0.2:${outside.port}` })
    const store = await failure(Inventory.snapshot({ observeProduction: true, endpoints: { endpoints: [{ target: "127.0.0.1", ports: [inside.port, 6379] }] } }))
    expect(store).toMatchObject({ _tag: "TargetRefused", rule: "floor.production-data-store", target: "tcp:127.0.0.1:6379" })
    expect([inside.count(), outside.count()]).toEqual([0, 0])
  })

  it("the same listeners count the scan once it is allowed (the counters work)", async () => {
    const s = await Effect.runPromise(Inventory.snapshot({ endpoints: { endpoints: [{ target: "127.0.0.0/30", ports: [inside.port], environment: "lab" }], facts: false, fingerprintTimeoutMs: 300 } }))
    expect(s.assets.map((a) => a.id)).toEqual([`tcp:127.0.0.1:${inside.port}`, `tcp:127.0.0.2:${inside.port}`])
    expect(inside.count()).toBeGreaterThan(0)
    expect(outside.count()).toBeGreaterThan(0)
  })
})
