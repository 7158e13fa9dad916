/**
 * The data-store rules on real servers found by the inventory's fingerprint (the handshake only,
 * no login, no credential ever sent): a redis-server without `requirepass` fires
 * `datastore.redis-no-auth`, one with it does not; of the ones without, only the one with
 * protected mode off and a non-loopback address in its `bind` fires
 * `datastore.redis-protected-mode-off` (its `-198.51.100.7` is optional, so Redis skips the
 * address this host does not have: nothing listens beyond loopback, the configuration says it
 * would); one whose CONFIG command is renamed away leaves the rule "not evaluated". A
 * PostgreSQL 15 without TLS (`ssl=off`, the test server's default) fires
 * `datastore.postgres-no-tls`, a MariaDB without a certificate `datastore.mysql-no-tls` (its
 * greeting lacks CLIENT_SSL), under `healthcare` and `payments` (they require TLS) and not under
 * `web`; a MariaDB given a certificate made here by openssl offers TLS and passes. Servers on
 * 127.0.0.1 free ports, started here and stopped after.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Inventory from "../../src/inventory/index.ts"
import { type RealServer, startMariadb, startPostgres, startRedis } from "../support/servers.ts"

const { Misconfig } = Inventory
const servers: Array<RealServer> = []
const certs = mkdtempSync(join(tmpdir(), "shiftup-mysql-tls-"))
let snap: Inventory.Snapshot
let ports = { open: 0, locked: 0, exposed: 0, unprotectedLoopback: 0, noConfig: 0, pg: 0, maria: 0, mariaTls: 0 }

beforeAll(async () => {
  // A self-signed P-256 certificate for the TLS-offering MariaDB (~50 ms).
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", join(certs, "key.pem"), "-out", join(certs, "cert.pem")], { stdio: "ignore" })
  const started = await Promise.all([
    startRedis([]),
    startRedis(["--requirepass", `pw-${Math.random().toString(36).slice(2)}`]),
    startRedis(["--protected-mode", "no", "--bind", "127.0.0.1 -198.51.100.7"]),
    startRedis(["--protected-mode", "no"]),
    startRedis(["--protected-mode", "no", "--bind", "127.0.0.1 -198.51.100.7", "--rename-command", "CONFIG", ""]),
    startPostgres({}),
    startMariadb(),
    startMariadb({ args: [`--ssl-cert=${join(certs, "cert.pem")}`, `--ssl-key=${join(certs, "key.pem")}`] }),
  ])
  servers.push(...started)
  const [open, locked, exposed, unprotectedLoopback, noConfig, pg, maria, mariaTls] = started.map((s) => s.port) as [number, number, number, number, number, number, number, number]
  ports = { open, locked, exposed, unprotectedLoopback, noConfig, pg, maria, mariaTls }
  const endpoints = Object.values(ports).map((p) => ({ target: `127.0.0.1:${p}`, environment: "lab" as const }))
  snap = await Effect.runPromise(Inventory.snapshot({ endpoints: { endpoints } }))
}, 60_000)

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()))
  rmSync(certs, { recursive: true, force: true })
})

const asset = (port: number) => {
  const a = snap.assets.find((x) => x.id === `tcp:127.0.0.1:${port}`)
  if (a?.kind !== "endpoint") throw new Error(`no endpoint on ${port}`)
  return a
}
const fired = (port: number, profile: string) => Misconfig.evaluate([asset(port)], { profile, rules: Misconfig.endpointRules }).findings.map((f) => `${f.rule} ${f.severity}${f.blocking ? "!" : ""}`)

describe("data-store rules on real servers", () => {
  it("Redis without requirepass: fires, critical; with it: quiet", () => {
    expect(fired(ports.open, "web")).toEqual(["datastore.redis-no-auth critical!"])
    expect(fired(ports.open, "healthcare")).toEqual(["datastore.redis-no-auth critical!"])
    expect(fired(ports.locked, "healthcare")).toEqual([])
  })

  it("Redis protected mode: read with CONFIG GET only from a server that needs no password; fires off + beyond loopback only", () => {
    expect([asset(ports.open).redis, asset(ports.unprotectedLoopback).redis, asset(ports.exposed).redis]).toEqual([
      { protectedMode: "yes", bind: "127.0.0.1" },
      { protectedMode: "no", bind: "127.0.0.1" },
      { protectedMode: "no", bind: "127.0.0.1 -198.51.100.7" },
    ])
    expect(asset(ports.locked).redis).toBeUndefined()
    expect(fired(ports.exposed, "web")).toEqual(["datastore.redis-no-auth critical!", "datastore.redis-protected-mode-off critical!"])
    expect(fired(ports.unprotectedLoopback, "web")).toEqual(["datastore.redis-no-auth critical!"])
    // CONFIG renamed away: the fact says why it is missing, and the rule is not evaluated (never "passed").
    expect(asset(ports.noConfig).redis).toEqual({ error: expect.stringMatching(/^CONFIG GET protected-mode: ERR unknown command 'CONFIG'/) })
    const e = Misconfig.evaluate([asset(ports.noConfig)], { rules: Misconfig.endpointRules })
    expect([e.findings.map((f) => f.rule), e.notEvaluated.map((n) => n.rule)]).toEqual([["datastore.redis-no-auth"], ["datastore.redis-protected-mode-off"]])
    const f = Misconfig.evaluate([asset(ports.exposed)], { rules: ["datastore.redis-protected-mode-off"] }).findings[0]
    expect(f?.evidence).toEqual(['protected-mode no, bind "127.0.0.1 -198.51.100.7": 198.51.100.7 without authentication'])
  })

  it("PostgreSQL with ssl=off: fires where the profile requires TLS", () => {
    expect([fired(ports.pg, "healthcare"), fired(ports.pg, "payments"), fired(ports.pg, "web")]).toEqual([["datastore.postgres-no-tls critical!"], ["datastore.postgres-no-tls critical!"], []])
  })

  it("MariaDB: the greeting's CLIENT_SSL flag, read and the connection closed; no certificate fires where the profile requires TLS, a certificate passes", () => {
    expect(asset(ports.maria).fingerprint).toMatchObject({ engine: "mysql", evidence: expect.stringMatching(/, TLS not offered\)$/) })
    expect(asset(ports.mariaTls).fingerprint).toMatchObject({ engine: "mysql", evidence: expect.stringMatching(/, TLS offered\)$/) })
    expect([fired(ports.maria, "healthcare"), fired(ports.maria, "payments"), fired(ports.maria, "web")]).toEqual([["datastore.mysql-no-tls critical!"], ["datastore.mysql-no-tls critical!"], []])
    expect([fired(ports.mariaTls, "healthcare"), fired(ports.mariaTls, "payments")]).toEqual([[], []])
  })
})
