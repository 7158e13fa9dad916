/**
 * The classification corpus (issue 10): bare endpoints, TCP proxies and HTTP targets in front of
 * REAL data stores on non-standard loopback ports, look-alike traps, and targets with mixed and
 * conflicting signals. The expected decision of every case was written down before the code
 * (docs/safety.md lists the over-refusals and why). Each case is planned for real; a counting
 * forwarder in front of every server proves how many connections planning opened — zero when
 * passive signals decided.
 */
import * as http from "node:http"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Compensation, defineConfig, Experiment, Fault, Http, plan, Probe, Target, type Config } from "shiftup"
import * as Net from "shiftup/net"
import { startMariadb, startMemcached, startPostgres, startRedis, type RealServer } from "../support/servers.ts"
import { elasticsearchStandIn } from "../support/standins.ts"
import { tempDir } from "../support/proc-cli.ts"

type Safety = "observe" | "disrupt" | "destroy"

/** A loopback forwarder that counts the connections it accepts (the planner's contacts). */
interface Counted {
  readonly port: number
  readonly connections: () => number
  readonly close: () => Promise<void>
}

const listen = (server: net.Server | http.Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)))

const closing = (server: net.Server | http.Server, sockets: Set<net.Socket>) => () =>
  new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy()
    server.close(() => resolve())
  })

const forwarder = async (upstreamPort: number): Promise<Counted> => {
  let n = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    n++
    sockets.add(client)
    const up = net.connect(upstreamPort, "127.0.0.1")
    sockets.add(up)
    client.pipe(up).pipe(client)
    const end = () => {
      client.destroy()
      up.destroy()
    }
    client.on("error", end).on("close", end)
    up.on("error", end).on("close", end)
  })
  const port = await listen(server)
  return { port, connections: () => n, close: closing(server, sockets) }
}

/** A server of our own that counts connections: an echo, a banner, a plain HTTP app. */
const trap = async (kind: "echo" | "banner" | "http"): Promise<Counted> => {
  let n = 0
  const sockets = new Set<net.Socket>()
  const server =
    kind === "http"
      ? http.createServer((_req, res) => res.end("<html>shop</html>"))
      : net.createServer((s) => {
          if (kind === "banner") s.write("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
          else s.pipe(s)
          s.on("error", () => s.destroy())
        })
  server.on("connection", (s: net.Socket) => {
    n++
    sockets.add(s)
  })
  const port = await listen(server)
  return { port, connections: () => n, close: closing(server, sockets) }
}

const servers: Array<RealServer> = []
const counted: Record<string, Counted> = {}
let redisAuth: RealServer | undefined

beforeAll(async () => {
  const [redis, redisPw, pg, maria, memcached] = await Promise.all([startRedis(), startRedis(["--requirepass", "corpus-secret"]), startPostgres(), startMariadb(), startMemcached()])
  servers.push(redis, redisPw, pg, maria, memcached)
  redisAuth = redisPw
  const es = elasticsearchStandIn()
  const esPort = await listen(es)
  for (const [name, port] of [["redis", redis.port], ["redis-auth", redisPw.port], ["postgres", pg.port], ["mariadb", maria.port], ["memcached", memcached.port], ["elasticsearch", esPort]] as const) counted[name] = await forwarder(port)
  counted["echo"] = await trap("echo")
  counted["banner"] = await trap("banner")
  counted["http"] = await trap("http")
  counted["es-server"] = { port: esPort, connections: () => 0, close: () => new Promise((r) => es.close(() => r())) }
}, 120_000)

afterAll(async () => {
  await Promise.all(Object.values(counted).map((c) => c.close()))
  await Promise.all(servers.map((s) => s.stop()))
})

const at = (name: string) => `127.0.0.1:${counted[name]?.port ?? 0}`

/** The step of a case: a probe, or a fault living in this process (nothing to undo elsewhere). */
const stepOn = (target: Target.Target, safety: Safety, id = "step") =>
  safety === "observe"
    ? Probe.make({ id, target, observe: () => 1 })
    : Fault.make({ id, target, safety, compensation: Compensation.ephemeral({ target: target.id, description: "nothing" }), inject: () => {}, release: () => {} })

interface Case {
  readonly name: string
  readonly target: () => Target.Target
  readonly safety: Safety
  readonly observeProduction?: boolean
  readonly policy?: { readonly denyDataStores?: boolean }
  readonly config?: Config
  /** `allowed`, or the refusing rule. */
  readonly expect: string
  /** The forwarder or trap whose connections planning may open: exactly 0, or at least 1. */
  readonly contacts?: { readonly on: string; readonly count: "none" | "some" }
  readonly engine?: string
}

const deny = { denyDataStores: true } as const

// Written down before the code: the decision each case must get.
const cases: ReadonlyArray<Case> = [
  // ── bare endpoints in front of real data stores on non-standard ports ──
  { name: "Redis, no environment, observed with the opt-in", target: () => Target.tcp(at("redis")), safety: "observe", observeProduction: true, expect: "floor.production-data-store", contacts: { on: "redis", count: "some" }, engine: "redis" },
  { name: "Redis, no environment, observed without the opt-in: refused passively", target: () => Target.tcp(at("redis")), safety: "observe", expect: "floor.production-observe-opt-in", contacts: { on: "redis", count: "none" } },
  { name: "Redis, declared staging, disrupted: no decision depends on it", target: () => Target.tcp(at("redis"), { environment: "staging" }), safety: "disrupt", expect: "allowed", contacts: { on: "redis", count: "none" } },
  { name: "Redis, staging, experiment denies data stores", target: () => Target.tcp(at("redis"), { environment: "staging" }), safety: "disrupt", policy: deny, expect: "experiment.deny-data-stores", contacts: { on: "redis", count: "some" }, engine: "redis" },
  { name: "Redis with a password, staging, config denies data stores", target: () => Target.tcp(at("redis-auth"), { environment: "staging" }), safety: "disrupt", config: { policy: deny }, expect: "config.deny-data-stores", contacts: { on: "redis-auth", count: "some" }, engine: "redis" },
  { name: "Redis, labelled production, observed with opt-in", target: () => Target.tcp(at("redis"), { labels: { env: "production" } }), safety: "observe", observeProduction: true, expect: "floor.production-data-store", engine: "redis" },
  { name: "PostgreSQL, production, observed with opt-in", target: () => Target.tcp(at("postgres"), { environment: "production" }), safety: "observe", observeProduction: true, expect: "floor.production-data-store", contacts: { on: "postgres", count: "some" }, engine: "postgres" },
  { name: "PostgreSQL, staging, denied data stores", target: () => Target.tcp(at("postgres"), { environment: "staging" }), safety: "disrupt", policy: deny, expect: "experiment.deny-data-stores", engine: "postgres" },
  { name: "MariaDB, staging, denied data stores: one connection only", target: () => Target.tcp(at("mariadb"), { environment: "staging" }), safety: "disrupt", policy: deny, expect: "experiment.deny-data-stores", contacts: { on: "mariadb", count: "some" }, engine: "mysql" },
  { name: "MariaDB, production, disrupted: refused with zero connections", target: () => Target.tcp(at("mariadb"), { environment: "production" }), safety: "disrupt", expect: "floor.production-observe-only", contacts: { on: "mariadb", count: "none" } },
  { name: "memcached, staging, denied data stores", target: () => Target.tcp(at("memcached"), { environment: "staging" }), safety: "disrupt", policy: deny, expect: "experiment.deny-data-stores", engine: "memcached" },
  { name: "PostgreSQL, lab, destroy (lab data stores may be destroyed)", target: () => Target.tcp(at("postgres"), { environment: "lab" }), safety: "destroy", expect: "allowed", contacts: { on: "postgres", count: "none" } },
  // ── look-alike traps: fingerprinted, and not flagged ──
  { name: "an echo server, staging, denied data stores", target: () => Target.tcp(at("echo"), { environment: "staging" }), safety: "disrupt", policy: deny, expect: "allowed", contacts: { on: "echo", count: "some" } },
  { name: "an SSH banner service, staging, denied data stores", target: () => Target.tcp(at("banner"), { environment: "staging" }), safety: "disrupt", policy: deny, expect: "allowed", contacts: { on: "banner", count: "some" } },
  { name: "a plain HTTP app, production, observed with opt-in", target: () => Http.target("shop", { url: `http://${at("http")}/` , labels: { env: "production" } }), safety: "observe", observeProduction: true, expect: "allowed", contacts: { on: "http", count: "some" } },
  { name: "a plain HTTP app as a bare endpoint, staging, denied data stores", target: () => Target.tcp(at("http"), { environment: "staging" }), safety: "disrupt", policy: deny, expect: "allowed", contacts: { on: "http", count: "some" } },
  // ── HTTP targets that are data stores ──
  { name: "an HTTP target pointed at a real Redis, production, observed", target: () => Http.target("odd", { url: `http://${at("redis")}/`, environment: "production" }), safety: "observe", observeProduction: true, expect: "floor.production-data-store", engine: "redis" },
  { name: "Elasticsearch (stand-in) as an HTTP target, production, observed", target: () => Http.target("search", { url: `http://${at("elasticsearch")}/`, environment: "production" }), safety: "observe", observeProduction: true, expect: "floor.production-data-store", contacts: { on: "elasticsearch", count: "some" }, engine: "elasticsearch" },
  // ── TCP fault proxies: the proxy is its upstream ──
  { name: "a proxy in front of a real Redis, staging, denied data stores", target: () => Net.proxy({ upstream: at("redis"), target: { environment: "staging" } }), safety: "disrupt", policy: deny, expect: "experiment.deny-data-stores", engine: "redis" },
  { name: "a proxy in front of PostgreSQL, staging, config denies data stores", target: () => Net.proxy({ upstream: at("postgres"), target: { environment: "staging" } }), safety: "disrupt", config: { policy: deny }, expect: "config.deny-data-stores", engine: "postgres" },
  { name: "a proxy in front of MariaDB, no environment: refused with zero connections", target: () => Net.proxy({ upstream: at("mariadb") }), safety: "disrupt", expect: "floor.unknown-is-production", contacts: { on: "mariadb", count: "none" } },
  { name: "a proxy in front of an HTTP app, staging, denied data stores", target: () => Net.proxy({ upstream: at("http"), target: { environment: "staging" } }), safety: "disrupt", policy: deny, expect: "allowed" },
  { name: "a proxy in front of a real Redis fronted by an Http.target upstream, production, observed", target: () => Net.proxy({ upstream: Http.target("cache-http", { url: `http://${at("redis")}/`, environment: "production" }) }), safety: "observe", observeProduction: true, expect: "floor.production-data-store" },
  // ── conflicting environment signals: the most restrictive wins ──
  { name: "declared lab, labelled env=production", target: () => Target.make("c1", { environment: "lab", labels: { env: "production" } }), safety: "disrupt", expect: "floor.production-observe-only" },
  { name: "declared lab, named orders-prod-1", target: () => Target.make("c2", { environment: "lab", facts: { name: "orders-prod-1" } }), safety: "disrupt", expect: "floor.production-observe-only" },
  { name: "declared lab, NODE_ENV=production", target: () => Target.make("c3", { environment: "lab", facts: { env: { NODE_ENV: "production" } } }), safety: "destroy", expect: "floor.production-observe-only" },
  { name: "labelled env=staging, NODE_ENV=production", target: () => Target.make("c4", { labels: { env: "staging" }, facts: { env: { NODE_ENV: "production" } } }), safety: "disrupt", expect: "floor.production-observe-only" },
  { name: "named sandbox-api, NODE_ENV=production", target: () => Target.make("c5", { facts: { name: "sandbox-api", env: { NODE_ENV: "production" } } }), safety: "disrupt", expect: "floor.production-observe-only" },
  { name: "named lab-api, label ENV=production (upper-case key)", target: () => Target.make("c6", { facts: { name: "lab-api", labels: { ENV: "production" } } }), safety: "disrupt", expect: "floor.production-observe-only" },
  { name: "declared staging, nothing else known", target: () => Target.make("c7", { environment: "staging" }), safety: "disrupt", expect: "allowed" },
  { name: "declared staging, labelled development: staging, no destroy", target: () => Target.make("c8", { environment: "staging", labels: { env: "development" } }), safety: "destroy", expect: "floor.destroy-lab-only" },
  { name: "labelled lab, named chaos-lab: destroy allowed", target: () => Target.make("c9", { labels: { env: "lab" }, facts: { name: "chaos-lab" } }), safety: "destroy", expect: "allowed" },
  { name: "labelled lab, SPRING_PROFILES_ACTIVE=cloud,prod", target: () => Target.make("c10", { labels: { env: "lab" }, facts: { env: { SPRING_PROFILES_ACTIVE: "cloud,prod" } } }), safety: "destroy", expect: "floor.production-observe-only" },
  { name: "no signal at all, observed without opt-in", target: () => Target.make("c11"), safety: "observe", expect: "floor.production-observe-opt-in" },
  { name: "no signal at all, observed with opt-in", target: () => Target.make("c12"), safety: "observe", observeProduction: true, expect: "allowed" },
  {
    name: "two members, lab and staging: destroy refused (staging wins)",
    target: () => Target.make("c13", { resolve: Effect.succeed({ members: [{ id: "m1", name: "web-lab-1" }, { id: "m2", name: "web-stg-2" }], population: 2 }) }),
    safety: "destroy",
    expect: "floor.destroy-lab-only",
  },
  // ── config exceptions ──
  { name: "exception: orders-prod-1 moved one step to staging", target: () => Target.make("c14", { facts: { name: "orders-prod-1" } }), safety: "disrupt", config: { exceptions: [{ name: "OPS-42 mislabelled", member: "orders-prod-1", from: "production", to: "staging" }] }, expect: "allowed" },
  { name: "exception never moves a production data store", target: () => Target.make("c15", { facts: { name: "orders-prod-1", image: "redis:7" } }), safety: "disrupt", config: { exceptions: [{ name: "OPS-43", member: "orders-prod-1", from: "production", to: "staging" }] }, expect: "floor.production-data-store" },
  // ── data-store words and labels (staging, data stores denied) ──
  ...(
    [
      ["dbt-docs", { name: "dbt-docs" }, "allowed"],
      ["restore-api", { name: "restore-api" }, "allowed"],
      ["storefront", { name: "storefront" }, "allowed"],
      ["userdb", { name: "userdb" }, "experiment.deny-data-stores"],
      ["orders-db-1", { name: "orders-db-1" }, "experiment.deny-data-stores"],
      ["ordersDb (camelCase)", { name: "ordersDb" }, "experiment.deny-data-stores"],
      ["session-cache", { name: "session-cache" }, "experiment.deny-data-stores"],
      ["label app.kubernetes.io/component=database", { labels: { "app.kubernetes.io/component": "database" } }, "experiment.deny-data-stores"],
      ["label tier=datastore", { labels: { tier: "datastore" } }, "experiment.deny-data-stores"],
      ["label role=cache", { labels: { role: "cache" } }, "experiment.deny-data-stores"],
      ["image bitnami/postgresql:15", { image: "bitnami/postgresql:15" }, "experiment.deny-data-stores"],
      ["process mongod", { process: "mongod" }, "experiment.deny-data-stores"],
      ["well-known port 5432, no handshake needed", { ports: [5432] }, "experiment.deny-data-stores"],
    ] as const
  ).map(([name, facts, expected]): Case => ({ name: `a member with ${name}`, target: () => Target.make(`w-${name}`, { environment: "staging", facts }), safety: "disrupt", policy: deny, expect: expected })),
]

describe("classification corpus: real data stores, traps, conflicts", () => {
  it("has at least 40 cases", () => expect(cases.length).toBeGreaterThanOrEqual(40))

  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const before = c.contacts === undefined ? 0 : (counted[c.contacts.on]?.connections() ?? 0)
    const target = c.target()
    const experiment = Experiment.make({
      id: "corpus",
      title: c.name,
      targets: { t: target },
      observeProduction: c.observeProduction === true,
      ...(c.policy === undefined ? {} : { policy: c.policy }),
      budget: { maxDestroySteps: 1 },
      method: [stepOn(target, c.safety)],
    })
    const j = await plan(experiment, { stateDir: tempDir(), ...(c.config === undefined ? {} : { config: defineConfig(c.config) }) })
    const decision = j.plan?.decisions.find((d) => d.step === "step")
    expect(decision, j.summary).toBeDefined()
    expect(decision?.allowed ? "allowed" : decision?.rule, `${decision?.reason} — ${JSON.stringify(j.plan?.targets[0])}`).toBe(c.expect)
    expect(j.status).toBe(c.expect === "allowed" ? "passed" : "refused")
    if (c.engine !== undefined) expect(j.plan?.targets[0]?.dataStore).toMatchObject({ is: true, engine: c.engine })
    if (c.contacts !== undefined) {
      const made = (counted[c.contacts.on]?.connections() ?? 0) - before
      if (c.contacts.count === "none") expect(made, "planning contacted a target passive signals decided").toBe(0)
      else {
        expect(made).toBeGreaterThan(0)
        // Every connection is in the journal, with what was sent and received.
        expect(j.plan?.contacts?.length).toBe(made)
        expect(j.plan?.contacts?.[0]).toMatchObject({ address: `127.0.0.1:${counted[c.contacts.on]?.port}`, target: target.id })
      }
    }
  })

  it("a MySQL-family server sees exactly one connection, even from a target whose plan needs it twice", async () => {
    const before = counted["mariadb"]?.connections() ?? 0
    const a = Target.tcp(at("mariadb"), { id: "a", environment: "staging" })
    const b = Net.proxy({ id: "b", upstream: at("mariadb"), target: { environment: "staging" } })
    const j = await plan(Experiment.make({ id: "twice", title: "twice", targets: { a, b }, policy: deny, budget: { maxConcurrentFaults: 2, maxTargets: 2 }, method: [stepOn(a, "disrupt", "on-a"), stepOn(b, "disrupt", "on-b")] }), { stateDir: tempDir() })
    expect(j.status).toBe("refused")
    expect((counted["mariadb"]?.connections() ?? 0) - before).toBe(1)
    expect(j.plan?.targets.map((t) => t.dataStore.engine)).toEqual(["mysql", "mysql"])
  })

  it("an exception that moves a member two steps is invalid config", () => {
    expect(() => defineConfig({ exceptions: [{ name: "x", member: "m", from: "production", to: "lab" as "staging" }] })).toThrow(/one step only/)
  })

  it("shiftup plan names the fingerprint that refused a data store: engine, address, what was sent and received", async () => {
    expect(redisAuth).toBeDefined()
    const t = Target.tcp(at("redis-auth"), { environment: "staging" })
    const j = await plan(Experiment.make({ id: "shown", title: "shown", targets: { t }, policy: deny, method: [stepOn(t, "disrupt")] }), { stateDir: tempDir() })
    const contact = j.plan?.contacts?.[0]
    expect(contact).toMatchObject({ address: at("redis-auth"), engine: "redis" })
    expect(contact?.sent).toMatch(/PING/)
    expect(contact?.received).toMatch(/NOAUTH|AUTH/)
    expect(j.plan?.targets[0]?.dataStore.checkedBy).toMatch(/protocol fingerprint/)
  })
})
