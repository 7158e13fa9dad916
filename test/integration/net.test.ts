/**
 * The TCP fault proxy inside real runs: toxics are faults (ledgered as ephemeral compensations,
 * released on rollback), a proxy is classified as the upstream it fronts (a production data
 * store behind a proxy is refused and never contacted), and TLS passes through as opaque bytes.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as tls from "node:tls"
import { Expect, Experiment, Probe, run, Target } from "shiftup"
import * as Net from "shiftup/net"
import { startLab } from "shiftup/testing"
import { afterEach, describe, expect, it } from "vitest"
import { connect, echoServer, roundTrip } from "../unit/net/servers.ts"
import { connectResp, echoBytes, type RespClient } from "../fixtures/http/resp.ts"
import { startRedis } from "../support/servers.ts"

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const stateDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "shiftup-net-"))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A probe: one 4-byte round trip through the proxy, in ms (opens its own connection). */
const rttThrough = (proxy: Net.Proxy) =>
  Probe.make({
    id: `round trip through ${proxy.id}`,
    target: proxy,
    observe: async () => {
      const { port } = await proxy.listen()
      const s = await connect(port)
      try {
        return await roundTrip(s, Buffer.from("ping"))
      } finally {
        s.destroy()
      }
    },
  })

describe("Net toxics as faults in a run", () => {
  it("injects a latency toxic, observes it through the proxy, and removes it on rollback", async () => {
    const echo = await echoServer()
    cleanups.push(echo.close)
    const upstream = Target.make("echo", { environment: "lab", facts: { hostnames: ["127.0.0.1"] } })
    const proxy = Net.proxy({ upstream, port: echo.port })
    cleanups.push(proxy.close)
    const e = Experiment.make({
      id: "net.latency.observed",
      title: "a latency toxic is seen by clients and rolled back",
      targets: { proxy },
      hypothesis: [Expect.that(rttThrough(proxy), Expect.range(0, 40))],
      method: [Net.latency(proxy, { ms: 150, jitter: 10 }), Expect.during(rttThrough(proxy), Expect.range(135, 250), { samples: 2 })],
    })
    const j = await run(e, { journal: false, stateDir: stateDir() })
    expect(j.status, j.summary).toBe("passed")
    expect(j.rollbacks).toMatchObject([{ fault: "echo-proxy: latency-downstream", outcome: "restored" }])
    expect(j.rollbacks[0]?.compensation).toContain('remove toxic "latency-downstream" (latency 150±10 ms downstream)')
    expect(proxy.toxics()).toEqual([])
    const ledger = readFileSync(j.ledger as string, "utf8")
    expect(ledger).toContain('"kind":"ephemeral"')
  })

  it("a proxy in front of a production data store is refused like the store, and nothing is contacted", async () => {
    let contacted = 0
    const store = net.createServer((s) => {
      contacted++
      s.destroy()
    })
    await new Promise<void>((r) => store.listen(0, "127.0.0.1", r))
    cleanups.push(() => new Promise<void>((r) => store.close(() => r())))
    const port = (store.address() as net.AddressInfo).port
    const orders = Target.make("orders-db", { environment: "production", dataStore: "postgres" })
    const proxy = Net.proxy({ upstream: orders, port })
    cleanups.push(proxy.close)
    const e = Experiment.make({ id: "net.refused.prod-store", title: "t", targets: { proxy }, method: [Net.resetPeer(proxy)] })
    const j = await run(e, { journal: false, stateDir: stateDir() })
    expect(j.status).toBe("refused")
    expect(j.refusal?.rule).toMatch(/^floor\./)
    expect(j.plan?.targets.find((t) => t.id === "orders-db-proxy")?.effective).toBe("production")
    expect(proxy.address()).toBeUndefined()
    expect(contacted).toBe(0)
  })

  it("a proxy fronting a data store port is classified a data store, even under an innocent name", async () => {
    const proxy = Net.proxy({ upstream: "127.0.0.1:6379", id: "cache", target: { environment: "unknown" } })
    const j = await run(Experiment.make({ id: "net.refused.redis", title: "t", targets: { proxy }, method: [Net.latency(proxy, { ms: 5 })] }), { journal: false, stateDir: stateDir() })
    expect(j.status).toBe("refused")
    expect(j.plan?.targets.find((t) => t.id === "cache")).toMatchObject({ effective: "production" })
    expect(JSON.stringify(j.plan)).toContain("redis")
    expect(proxy.address()).toBeUndefined()
  })
})

describe("the demo lab routes the gateway's auth calls through a proxy, and back", () => {
  it("authPort on the control port: through a latency proxy the gateway times out (and fails open); null routes straight again", async () => {
    const lab = await startLab({ base: 0 })
    cleanups.push(lab.close)
    const proxy = Net.proxy({ upstream: lab.urls.auth.replace("http://", ""), target: { environment: "staging" } })
    const { port } = await proxy.listen()
    cleanups.push(proxy.close)
    const post = (body: unknown) => fetch(`${lab.urls.control}/faults`, { method: "POST", body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as unknown }))
    const admin = () => fetch(`${lab.urls.gateway}/admin`).then((r) => r.status)
    expect(await post({ authPort: port })).toMatchObject({ status: 200, body: { auth: "ok", authPort: port } })
    const before = proxy.stats().accepted
    expect(await admin()).toBe(401)
    expect(proxy.stats().accepted).toBeGreaterThan(before)
    proxy.add(Net.Toxic.make({ kind: "latency", ms: 600, jitter: 0 }))
    expect(await admin()).toBe(200)
    expect(await post({ authPort: null })).toMatchObject({ status: 200, body: { auth: "ok", authPort: lab.ports.auth } })
    expect(await admin()).toBe(401)
    expect((await post({ authPort: "x" })).status).toBe(400)
  })
})

describe("Net toxics check the run's egress allowlist", () => {
  it("an upstream outside the allowlist is refused at plan time; the proxy never listens", async () => {
    const proxy = Net.proxy({ upstream: "192.0.2.10:8080", id: "far", target: { environment: "lab" } })
    cleanups.push(proxy.close)
    const j = await run(Experiment.make({ id: "net.egress", title: "t", targets: { proxy }, resources: { proxy }, method: [Net.latency(proxy, { ms: 5 })] }), { journal: false, stateDir: stateDir() })
    expect(j).toMatchObject({ status: "refused", refusal: { rule: "egress.not-allowed" } })
    expect(j.refusal?.reason).toContain("192.0.2.10")
    expect(j.steps).toEqual([])
    expect(proxy.address()).toBeUndefined()
  })

  it("as a resource, a proxy is started after the plan and closed at the end; a refused plan never starts it", async () => {
    const upstream = net.createServer((s) => s.pipe(s))
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()))
    cleanups.push(() => new Promise<void>((r) => upstream.close(() => r())))
    const at = `127.0.0.1:${(upstream.address() as AddressInfo).port}`
    const seen: Array<number | undefined> = []
    const look = (proxy: Net.Proxy) => Probe.make({ id: "listening", target: proxy, observe: () => (seen.push(proxy.address()?.port), true) })
    const staging = Net.proxy({ upstream: at, target: { environment: "staging" } })
    const j = await run(Experiment.make({ id: "net.resource", title: "t", targets: { staging }, resources: { staging }, method: [look(staging)] }), { journal: false, stateDir: stateDir() })
    expect(j.status, j.summary).toBe("passed")
    expect(seen[0]).toBeGreaterThan(0)
    expect(j.steps[0]).toMatchObject({ kind: "resource", outcome: "ok" })
    expect(staging.address()).toBeUndefined()
    // The same proxy in front of a production upstream: refused at plan time, never listening.
    const prod = Net.proxy({ upstream: at, target: { environment: "production" } })
    const refused = await run(Experiment.make({ id: "net.resource.prod", title: "t", targets: { prod }, resources: { prod }, method: [Net.latency(prod, { ms: 5 })] }), { journal: false, stateDir: stateDir() })
    expect(refused.status).toBe("refused")
    expect(prod.address()).toBeUndefined()
  })
})

describe("Net.proxy carries TLS as opaque bytes", () => {
  it("a TLS handshake and an exchange work through the proxy, and a latency toxic slows them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shiftup-net-tls-"))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"], { stdio: "ignore" })
    const cert = readFileSync(join(dir, "cert.pem"))
    const server = tls.createServer({ key: readFileSync(join(dir, "key.pem")), cert }, (s) => {
      s.on("error", () => undefined)
      s.on("data", (c: Buffer) => s.write(Buffer.concat([Buffer.from("tls:"), c])))
    })
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())))
    const proxy = Net.proxy({ upstream: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, target: { environment: "lab" } })
    const { port } = await proxy.listen()
    cleanups.push(proxy.close)
    const exchange = () =>
      new Promise<{ readonly answer: string; readonly ms: number; readonly authorized: boolean }>((resolve, reject) => {
        const t0 = performance.now()
        const s = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: cert }, () => s.write("hello"))
        s.on("data", (c: Buffer) => {
          resolve({ answer: c.toString(), ms: performance.now() - t0, authorized: s.authorized })
          s.destroy()
        })
        s.on("error", reject)
      })
    const fast = await exchange()
    expect(fast).toMatchObject({ answer: "tls:hello", authorized: true })
    proxy.add(Net.Toxic.make({ kind: "latency", ms: 100, jitter: 0 }))
    const slow = await exchange()
    expect(slow.answer).toBe("tls:hello")
    // TLS 1.3: server hello, then the answer — at least two delayed flights downstream.
    expect(slow.ms).toBeGreaterThanOrEqual(200)
    expect(fast.ms).toBeLessThan(150)
  })
})

describe("Net.blackhole in front of a real redis-server, with a pipelining client", () => {
  const redisBehindProxy = async () => {
    const redis = await startRedis()
    cleanups.push(redis.stop)
    const proxy = Net.proxy({ upstream: `127.0.0.1:${redis.port}`, id: "redis-proxy", target: { environment: "lab", dataStore: "redis" } })
    const { port } = await proxy.listen()
    cleanups.push(proxy.close)
    const client = async () => {
      const c = await connectResp(port)
      cleanups.push(c.destroy)
      return c
    }
    return { proxy, client }
  }
  const words = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)
  const bytes = (ws: ReadonlyArray<string>, side: "command" | "reply") => ws.reduce((sum, w) => sum + echoBytes(w)[side], 0)

  for (const direction of ["upstream", "downstream"] as const) {
    it(`default (close), ${direction}: removal closes the connection that lost bytes, so no later reply is matched to a lost command; a new connection works`, async () => {
      const { proxy, client } = await redisBehindProxy()
      const c = await client()
      expect(await c.echo("warm")).toEqual(["warm"])
      const hole = Net.Toxic.make({ kind: "timeout", ms: 0 }, { name: "blackhole", direction })
      proxy.add(hole)
      const lost = words("lost", 5)
      void c.echo(...lost)
      // Wait until the blackhole has swallowed them (the commands, or redis' replies).
      await expect.poll(() => proxy.stats().dropped, { timeout: 5000 }).toBeGreaterThanOrEqual(bytes(lost, direction === "upstream" ? "command" : "reply"))
      proxy.remove(hole.name)
      // The old behaviour kept this connection open: the replies to these would then be read as
      // the replies to the lost commands.
      const outcome = await Promise.race([c.closed.then(() => "closed"), c.mismatched.then((m) => `mismatch: asked ${m.asked}, got ${m.got}`), c.echo("after0", "after1").then(() => "answered")])
      expect(outcome).toBe("closed")
      expect(c.mismatches()).toEqual([])
      const fresh = await client()
      expect(await fresh.echo(...words("fresh", 20))).toEqual(words("fresh", 20))
      expect(fresh.mismatches()).toEqual([])
    })

    it(`hold, ${direction}: nothing arrives while it holds; on removal every reply arrives, in order, on the same connection`, async () => {
      const { proxy, client } = await redisBehindProxy()
      const c = await client()
      expect(await c.echo("warm")).toEqual(["warm"])
      proxy.add(Net.Toxic.make({ kind: "hold" }, { name: "blackhole", direction }))
      const held = words("held", 50)
      const replies = c.echo(...held)
      await expect.poll(() => proxy.stats().waiting, { timeout: 5000 }).toBeGreaterThanOrEqual(bytes(held, direction === "upstream" ? "command" : "reply"))
      expect(c.replies()).toBe(1)
      proxy.remove("blackhole")
      expect(await replies).toEqual(held)
      expect(await c.echo(...words("next", 10))).toEqual(words("next", 10))
      expect(c.mismatches()).toEqual([])
      expect(proxy.stats().dropped).toBe(0)
    })
  }

  it("Net.blackhole as a fault in a run: the rollback closes the swallowed connection (default), and the recovery check on a new connection passes", async () => {
    const { proxy, client } = await redisBehindProxy()
    let c: RespClient | undefined
    const swallowed = Probe.make({
      id: "pipelined ECHOs go unanswered",
      target: proxy,
      observe: async () => {
        c = await client()
        void c.echo(...words("lost", 3))
        await expect.poll(() => proxy.stats().dropped, { timeout: 5000 }).toBeGreaterThanOrEqual(bytes(words("lost", 3), "reply"))
        return c.replies()
      },
    })
    const recovered = Probe.make({
      id: "a new connection answers",
      target: proxy,
      observe: async () => {
        const fresh = await client()
        const got = await fresh.echo(...words("ok", 5))
        return got.join(",") === words("ok", 5).join(",") && fresh.mismatches().length === 0
      },
    })
    const e = Experiment.make({
      id: "net.blackhole.redis",
      title: "a blackhole in front of redis is rolled back without desynchronising its clients",
      targets: { proxy },
      method: [Net.blackhole(proxy), Expect.that(swallowed, 0)],
      recovery: [Expect.that(recovered, true)],
    })
    const j = await run(e, { journal: false, stateDir: stateDir() })
    expect(j.status, j.summary).toBe("passed")
    expect(j.rollbacks).toMatchObject([{ fault: "redis-proxy: blackhole", outcome: "restored" }])
    const swallowedClient = c as RespClient
    const outcome = await Promise.race([swallowedClient.closed.then(() => "closed"), swallowedClient.mismatched.then((m) => `mismatch: asked ${m.asked}, got ${m.got}`), swallowedClient.echo("after").then(() => "answered")])
    expect(outcome).toBe("closed")
  })

  it("refuses a mode it does not know, naming both it offers", () => {
    const proxy = Net.proxy({ upstream: "127.0.0.1:6379", target: { environment: "lab" } })
    expect(() => Net.blackhole(proxy, { mode: "drop" as never })).toThrow(/"close" .*"hold"/)
  })
})
