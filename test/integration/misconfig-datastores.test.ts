/**
 * The data-store rules on real servers found by the inventory's fingerprint (the handshake only,
 * no login): a redis-server without `requirepass` fires `datastore.redis-no-auth`, one with it
 * does not; a PostgreSQL 15 without TLS (`ssl=off`, the test server's default) fires
 * `datastore.postgres-no-tls` under `healthcare` and `payments` (they require TLS) and not under
 * `web`. Servers on 127.0.0.1 free ports, started here and stopped after.
 */
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Inventory from "../../src/inventory/index.ts"
import { type RealServer, startPostgres, startRedis } from "../support/servers.ts"

const { Misconfig } = Inventory
const servers: Array<RealServer> = []
let snap: Inventory.Snapshot
let ports = { open: 0, locked: 0, pg: 0 }

beforeAll(async () => {
  const [open, locked, pg] = await Promise.all([startRedis([]), startRedis(["--requirepass", `pw-${Math.random().toString(36).slice(2)}`]), startPostgres({})])
  servers.push(open, locked, pg)
  ports = { open: open.port, locked: locked.port, pg: pg.port }
  const endpoints = Object.values(ports).map((p) => ({ target: `127.0.0.1:${p}`, environment: "lab" as const }))
  snap = await Effect.runPromise(Inventory.snapshot({ endpoints: { endpoints } }))
}, 30_000)

afterAll(() => Promise.all(servers.map((s) => s.stop())))

const fired = (port: number, profile: string) =>
  Misconfig.evaluate(
    snap.assets.filter((a) => a.id === `tcp:127.0.0.1:${port}`),
    { profile, rules: Misconfig.endpointRules },
  ).findings.map((f) => `${f.rule} ${f.severity}${f.blocking ? "!" : ""}`)

describe("data-store rules on real servers", () => {
  it("Redis without requirepass: fires, critical; with it: quiet", () => {
    expect(fired(ports.open, "web")).toEqual(["datastore.redis-no-auth critical!"])
    expect(fired(ports.open, "healthcare")).toEqual(["datastore.redis-no-auth critical!"])
    expect(fired(ports.locked, "healthcare")).toEqual([])
  })

  it("PostgreSQL with ssl=off: fires where the profile requires TLS", () => {
    expect([fired(ports.pg, "healthcare"), fired(ports.pg, "payments"), fired(ports.pg, "web")]).toEqual([["datastore.postgres-no-tls critical!"], ["datastore.postgres-no-tls critical!"], []])
  })
})
