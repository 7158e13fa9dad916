/**
 * Misconfiguration rules, profiles and leakage patterns on facts written here: one system under
 * `web` and `healthcare` gives the findings and severities the profiles say (table-driven); a
 * profile that loosens the floor is rejected at config load with a typed error naming each
 * field; the profile in force and why; the data-store, TLS and header rules on both sides; card
 * numbers only when their Luhn checksum holds.
 */
import { describe, expect, it } from "vitest"
import { defineConfig } from "../../src/Config.ts"
import * as Inventory from "../../src/inventory/index.ts"
import { isShiftupError } from "../../src/ShiftupError.ts"

const { Misconfig } = Inventory
const at = new Date("2026-06-01T00:00:00.000Z")
const inDays = (d: number) => new Date(at.getTime() + d * 86_400_000).toISOString()
const production = { environment: "production", effective: "production", signals: [], dataStore: false } as const

const container = (name: string, over: Partial<Inventory.ContainerAsset> = {}): Inventory.ContainerAsset => ({
  id: `docker:local/${name}`,
  kind: "container",
  engine: "local",
  name,
  containerId: `${name}-id`,
  created: inDays(-1),
  image: { ref: "app:1", id: "sha256:aaaa", tags: ["app:1"], digests: [], created: inDays(-10) },
  labels: {},
  owner: null,
  classification: production,
  state: { status: "running", startedAt: inDays(-1), finishedAt: "", restartCount: 0, health: "healthy" },
  ports: { exposed: [8080], published: [] },
  networkMode: "bridge",
  networks: [],
  mounts: [],
  privileges: { user: "1000", privileged: false, capAdd: [], capDrop: ["ALL"], hostNetwork: false, hostPid: false, hostIpc: false, hostUts: false, readonlyRootfs: true, securityOpt: ["no-new-privileges"] },
  restartPolicy: "no",
  healthcheck: ["CMD", "true"],
  limits: { memory: 1 << 26, nanoCpus: 5e8, cpuQuota: 0, cpuShares: 0, pidsLimit: 64 },
  env: [],
  ...over,
})

const cert = (over: Partial<Inventory.Certificate> = {}): Inventory.Certificate => ({ subject: "CN=api.example.com", altNames: ["DNS:api.example.com"], issuer: "CN=Example CA", notBefore: inDays(-30), notAfter: inDays(300), keyType: "ec", keyBits: 256, selfSigned: false, sha256: "00", ...over })

const endpoint = (host: string, port: number, over: Partial<Inventory.EndpointAsset> = {}): Inventory.EndpointAsset => ({
  id: `tcp:${host}:${port}`,
  kind: "endpoint",
  host,
  address: "127.0.0.1",
  port,
  fingerprint: { engine: null, evidence: "" },
  classification: production,
  owner: null,
  tls: null,
  http: null,
  ...over,
})

/** One system: a container with hygiene gaps and a secret, a PostgreSQL without TLS, an HTTPS API with a self-signed certificate near expiry. */
const system: ReadonlyArray<Inventory.Asset> = [
  container("app", { privileges: { ...container("app").privileges, user: "", readonlyRootfs: false }, limits: { ...container("app").limits!, memory: 0 }, env: [{ name: "DB_PASSWORD", secretName: true, highEntropy: false, empty: false }] }),
  endpoint("db.internal", 5432, { fingerprint: { engine: "postgres", evidence: "answered SSLRequest with 'N'" } }),
  endpoint("api.example.com", 443, {
    tls: { protocol: "TLSv1.2", cipher: "ECDHE-ECDSA-AES128-GCM-SHA256", certificate: cert({ selfSigned: true, notAfter: inDays(20) }) },
    http: { status: 200, server: "", redirect: null, securityHeaders: { "strict-transport-security": "max-age=63072000", "content-security-policy": "default-src 'self'", "x-content-type-options": "nosniff" }, missing: [] },
  }),
]

const table = (profile: string) =>
  Misconfig.evaluate(system, { profile, now: at }).findings.map((f) => `${f.severity}${f.blocking ? "!" : ""} ${f.rule} ${f.asset}`).sort()

describe("profiles: one system, different findings", () => {
  it.each([
    [
      "web",
      ["high! container.secret-in-env docker:local/app", "low container.writable-rootfs docker:local/app", "medium container.no-memory-limit docker:local/app", "medium container.root-user docker:local/app", "medium tls.self-signed tcp:api.example.com:443"],
    ],
    [
      "healthcare",
      [
        "critical! container.secret-in-env docker:local/app",
        "critical! datastore.postgres-no-tls tcp:db.internal:5432",
        "high! container.no-memory-limit docker:local/app",
        "high! container.root-user docker:local/app",
        "high! tls.min-version tcp:api.example.com:443",
        "high! tls.self-signed tcp:api.example.com:443",
        "medium! container.writable-rootfs docker:local/app",
        "medium! http.required-header tcp:api.example.com:443",
        "medium! tls.cert-expiring tcp:api.example.com:443",
      ],
    ],
    ["internal", ["high container.secret-in-env docker:local/app", "info container.writable-rootfs docker:local/app", "low container.root-user docker:local/app", "medium container.no-memory-limit docker:local/app"]],
  ])("%s", (profile, expected) => {
    expect(table(profile)).toEqual(expected)
  })

  it("the profile in force, and why: target over environment over the config's default over web", () => {
    const settings: Inventory.Misconfig.MisconfigSettings = { profile: "internal", environments: { production: "payments" }, targets: { app: "healthcare" } }
    const why = (a: Inventory.Asset, s: Inventory.Misconfig.MisconfigSettings, o?: string) => {
      const p = Misconfig.profileFor(a, s, o)
      return `${p.profile.name} ${p.why}`
    }
    expect(why(system[0]!, settings)).toBe('healthcare misconfig.targets["app"]')
    expect(why(system[1]!, settings)).toBe("payments misconfig.environments.production (the asset classifies as production)")
    expect(why(system[1]!, { profile: "internal" })).toBe("internal misconfig.profile")
    expect(why(system[1]!, {})).toMatch(/^web the default profile/)
    expect(why(system[0]!, settings, "web")).toBe("web --profile web")
  })
})

const rejected = (config: Parameters<typeof defineConfig>[0]): ReadonlyArray<string> => {
  try {
    defineConfig(config)
  } catch (e) {
    if (isShiftupError(e) && e._tag === "InvalidConfig") return e.issues.map((i) => `${i.path}: ${i.message}`)
    throw e
  }
  return []
}

describe("a profile may only tighten the floor", () => {
  it("an override that loosens it is rejected at config load, every field named", () => {
    const issues = rejected({ misconfig: { profiles: { lax: { extends: "web", mandatory: [], severities: { "container.privileged": "off" }, certExpiryDays: 1, maxImageAgeDays: 1000, maxProbeRate: 500 } } } })
    expect(issues).toEqual([
      "misconfig.profiles.lax.mandatory: must keep the floor's mandatory rule container.privileged",
      "misconfig.profiles.lax.severities.container.privileged: container.privileged is mandatory on the floor and cannot be off",
      "misconfig.profiles.lax.mandatory: must keep the floor's mandatory rule container.docker-socket",
      "misconfig.profiles.lax.mandatory: must keep the floor's mandatory rule tls.cert-expired",
      "misconfig.profiles.lax.certExpiryDays: cannot be below the floor's 7 days",
      "misconfig.profiles.lax.maxImageAgeDays: must be in 1..365 days (the floor's)",
      "misconfig.profiles.lax.maxProbeRate: must be in (0, 50] requests per second (the floor's)",
    ])
  })

  it("an override that tightens it loads, and is what evaluation uses", () => {
    const config = defineConfig({ misconfig: { targets: { app: "clinic" }, profiles: { clinic: { extends: "healthcare", certExpiryDays: 60, severities: { "container.writable-rootfs": "critical" } } } } })
    const f = Misconfig.evaluate([system[0]!], { settings: config.misconfig!, now: at }).findings.find((x) => x.rule === "container.writable-rootfs")
    expect(f).toMatchObject({ severity: "critical", blocking: true, profile: "clinic" })
  })

  it("a name that is no profile is rejected, with the names there are", () => {
    expect(rejected({ misconfig: { environments: { production: "hospital" } } })).toEqual(['misconfig.profile: no profile "hospital": the built-in ones are web, healthcare, payments, internal'])
  })

  it("the built-in profiles themselves tighten the floor", () => {
    for (const p of Object.values(Misconfig.profiles)) expect([p.name, Misconfig.loosenings(p)]).toEqual([p.name, []])
  })
})

describe("endpoint rules", () => {
  const fires = (asset: Inventory.Asset, rule: string, profile = "web") => Misconfig.evaluate([asset], { profile, rules: [rule], now: at }).findings.map((f) => f.evidence.join("; "))

  it("Redis: PONG to an unauthenticated PING fires, NOAUTH does not", () => {
    expect(fires(endpoint("cache", 6379, { fingerprint: { engine: "redis", evidence: 'answered with the RESP line "+PONG"' } }), "datastore.redis-no-auth")).toHaveLength(1)
    expect(fires(endpoint("cache", 6379, { fingerprint: { engine: "redis", evidence: 'answered with the RESP line "-NOAUTH Authentication required."' } }), "datastore.redis-no-auth")).toEqual([])
  })

  it("PostgreSQL: 'N' to SSLRequest fires where the profile requires TLS; 'S' never", () => {
    const n = endpoint("db", 5432, { fingerprint: { engine: "postgres", evidence: "answered SSLRequest with 'N'" } })
    expect([fires(n, "datastore.postgres-no-tls", "healthcare").length, fires(n, "datastore.postgres-no-tls", "payments").length, fires(n, "datastore.postgres-no-tls", "web").length]).toEqual([1, 1, 0])
    expect(fires(endpoint("db", 5432, { fingerprint: { engine: "postgres", evidence: "answered SSLRequest with 'S'" } }), "datastore.postgres-no-tls", "healthcare")).toEqual([])
  })

  it("certificates: expired, not yet valid, expiring by the profile's window, weak key, name mismatch", () => {
    const tls = (c: Partial<Inventory.Certificate>, host = "api.example.com") => endpoint(host, 443, { tls: { protocol: "TLSv1.3", cipher: "x", certificate: cert(c) } })
    expect(fires(tls({ notAfter: inDays(-1) }), "tls.cert-expired")).toEqual([`expired ${inDays(-1)}`])
    expect(fires(tls({ notBefore: inDays(2) }), "tls.cert-expired")).toEqual([`not valid before ${inDays(2)}`])
    expect(fires(tls({}), "tls.cert-expired")).toEqual([])
    expect([fires(tls({ notAfter: inDays(20) }), "tls.cert-expiring", "web").length, fires(tls({ notAfter: inDays(20) }), "tls.cert-expiring", "healthcare").length]).toEqual([0, 1])
    expect(fires(tls({ keyType: "rsa", keyBits: 1024 }), "tls.weak-key")).toEqual(["rsa key of 1024 bits (at least 2048)"])
    expect(fires(tls({ keyType: "rsa", keyBits: 2048 }), "tls.weak-key")).toEqual([])
    expect(fires(tls({}, "www.example.com"), "tls.hostname-mismatch")).toEqual(["www.example.com is not among the certificate's names (api.example.com)"])
    expect(fires(tls({ altNames: ["DNS:*.example.com"] }, "www.example.com"), "tls.hostname-mismatch")).toEqual([])
    expect(fires(tls({ altNames: ["DNS:*.example.com"] }, "a.b.example.com"), "tls.hostname-mismatch")).toHaveLength(1)
  })

  it("TLS version: 1.2 is below healthcare's minimum, not web's", () => {
    const e = endpoint("api.example.com", 443, { tls: { protocol: "TLSv1.2", cipher: "x", certificate: cert() } })
    expect([fires(e, "tls.min-version", "web"), fires(e, "tls.min-version", "healthcare")]).toEqual([[], ["negotiated TLSv1.2; profile healthcare requires TLSv1.3 or later"]])
  })

  it("a container on a privileged host port", () => {
    const c = container("edge", { ports: { exposed: [80], published: [{ containerPort: 80, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 80 }] } })
    expect(fires(c, "container.privileged-host-port")).toEqual(["80/tcp mapped to host port 80"])
  })

  it("a rule whose facts a snapshot lacks is not evaluated, not passed", () => {
    const { limits: _l, env: _e, ...old } = container("old")
    const e = Misconfig.evaluate([old], { rules: ["container.no-memory-limit", "container.secret-in-env"] })
    expect(e.notEvaluated).toEqual([{ rule: "container.no-memory-limit", asset: "docker:local/old" }, { rule: "container.secret-in-env", asset: "docker:local/old" }])
  })
})

describe("leakage patterns", () => {
  it("card numbers only when the Luhn checksum holds, masked", () => {
    expect([Misconfig.luhn("4111111111111111"), Misconfig.luhn("4111111111111112"), Misconfig.luhn("79927398713"), Misconfig.luhn("5500005555555559")]).toEqual([true, false, false, true])
    const leaks = Misconfig.findLeaks("order 4111111111111112 paid with 4242 4242 4242 4242, ref 1234-5678-9012-3456", ["card-number"])
    expect(leaks.map((l) => l.masked)).toEqual(["•••••••••••••••4242"])
  })

  it("healthcare: record numbers, dates of birth, national ids; the profiles choose which", () => {
    const text = "Patient MRN: A1234567, DOB: 1980-02-29, SSN 123-45-6789, invalid 000-12-3456"
    expect(Misconfig.findLeaks(text, Misconfig.profiles.healthcare.leakage).map((l) => `${l.pattern} ${l.masked.slice(-4)}`)).toEqual(["medical-record-number 4567", "date-of-birth 2-29", "national-id 6789"])
    expect(Misconfig.findLeaks(text, Misconfig.profiles.web.leakage)).toEqual([])
  })
})
