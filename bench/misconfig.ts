/**
 * Every misconfiguration rule over a synthetic snapshot of 10,000 assets (8,000 containers with
 * varied privileges, mounts, limits, devices, restart policies and environments; 2,000 endpoints with data-store
 * fingerprints, TLS and HTTP facts), under the `healthcare` profile (aim < 500 ms).
 */
import type { Asset } from "../src/inventory/index.ts"
import { Misconfig } from "../src/inventory/index.ts"
import { median, spread, type Section } from "./lib.ts"

const production = { environment: "production", effective: "production", signals: [], dataStore: false } as const
const takenAt = new Date("2026-06-01T00:00:00Z")

export const assets = (n: number): ReadonlyArray<Asset> =>
  Array.from({ length: n }, (_, i): Asset => {
    const odd = i % 2 === 1
    if (i % 5 === 4)
      return {
        id: `tcp:10.0.${i >> 8}.${i & 255}:${odd ? 443 : 6379}`,
        kind: "endpoint",
        host: `svc-${i}.example.com`,
        address: `10.0.${i >> 8}.${i & 255}`,
        port: odd ? 443 : 6379,
        fingerprint: odd ? { engine: null, evidence: "answered in HTTP" } : { engine: "redis", evidence: i % 3 === 0 ? '"+PONG"' : '"-NOAUTH Authentication required."' },
        classification: production,
        owner: null,
        tls: odd ? { protocol: i % 3 === 0 ? "TLSv1.2" : "TLSv1.3", cipher: "x", certificate: { subject: `CN=svc-${i}.example.com`, altNames: [`DNS:svc-${i}.example.com`], issuer: "CN=CA", notBefore: "2026-01-01T00:00:00Z", notAfter: i % 7 === 0 ? "2026-06-10T00:00:00Z" : "2027-01-01T00:00:00Z", keyType: "rsa", keyBits: i % 11 === 0 ? 1024 : 2048, selfSigned: i % 13 === 0, sha256: "00" } } : null,
        http: odd ? { status: 200, server: "", redirect: null, securityHeaders: i % 3 === 0 ? {} : { "strict-transport-security": "max-age=1" }, missing: [] } : null,
        ...(!odd && i % 3 === 0 ? { redis: { protectedMode: i % 2 === 0 ? "no" : "yes", bind: "127.0.0.1 10.0.0.1" } } : {}),
      }
    return {
      id: `docker:local/c-${i}`,
      kind: "container",
      engine: "local",
      name: `c-${i}`,
      containerId: `${i}`,
      created: "2026-05-01T00:00:00Z",
      image: { ref: "app:1", id: "sha256:1", tags: [], digests: [], created: i % 4 === 0 ? "2024-01-01T00:00:00Z" : "2026-05-01T00:00:00Z" },
      labels: {},
      owner: null,
      classification: production,
      state: { status: "running", startedAt: "", finishedAt: "", restartCount: 0, health: "none" },
      ports: { exposed: [80], published: odd ? [{ containerPort: 80, protocol: "tcp", hostIp: i % 3 === 0 ? "0.0.0.0" : "127.0.0.1", hostPort: 8000 + (i % 1000) }] : [] },
      networkMode: "bridge",
      networks: i % 10 === 0 ? [{ name: "bridge", ipv4: "172.17.0.2", aliases: [] }] : [{ name: "app", ipv4: "172.20.0.2", aliases: [] }],
      mounts: i % 9 === 0 ? [{ type: "bind", source: "/var/run/docker.sock", destination: "/var/run/docker.sock", readWrite: true }] : [{ type: "volume", source: "/var/lib/docker/volumes/x", destination: "/data", readWrite: true }],
      privileges: { user: odd ? "1000" : "", privileged: i % 17 === 0, capAdd: i % 6 === 0 ? ["NET_ADMIN"] : [], capDrop: [], hostNetwork: false, hostPid: i % 19 === 0, hostIpc: false, hostUts: false, hostUserns: i % 23 === 0, readonlyRootfs: odd, securityOpt: odd ? ["no-new-privileges"] : i % 21 === 0 ? ["label=disable"] : [] },
      restartPolicy: i % 3 === 0 ? "always" : "on-failure",
      restartMaxRetries: i % 3 === 1 ? 10 : 5,
      program: i % 29 === 0 ? "sshd" : "node",
      devices: i % 31 === 0 ? [{ host: "/dev/sda", container: "/dev/sda", permissions: "rwm" }] : [],
      ulimits: i % 12 === 0 ? [{ name: "nofile", soft: 65536, hard: 65536 }] : [],
      cgroupParent: i % 37 === 0 ? "/custom" : "",
      healthcheck: odd ? ["CMD", "true"] : null,
      limits: { memory: odd ? 1 << 26 : 0, nanoCpus: 0, cpuQuota: 0, cpuShares: 0, pidsLimit: odd ? 64 : 0 },
      env: [{ name: "LOG_LEVEL", secretName: false, highEntropy: false, empty: false }, ...(i % 8 === 0 ? [{ name: "API_TOKEN", secretName: true, highEntropy: true, empty: false }] : [])],
    }
  })

export const misconfigSection: Section = {
  name: "misconfig",
  title: "misconfiguration: every rule over a synthetic snapshot of 10,000 assets",
  run: async () => {
    const list = assets(10_000)
    const times: Array<number> = []
    let findings = 0
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now()
      findings = Misconfig.evaluate(list, { profile: "healthcare", now: takenAt }).findings.length
      times.push(performance.now() - t0)
    }
    return [
      { name: "misconfig.rules_10k_assets_ms", value: median(times), digits: 0, note: `${Misconfig.rules.length} rules over 8,000 containers and 2,000 endpoints under healthcare; median of 7 (aim < 500)` },
      { name: "misconfig.rules_10k_assets_spread_ms", value: spread(times, 0) },
      { name: "misconfig.rules_10k_findings", value: findings, digits: 0, note: "findings (a sanity figure: the same corpus every run)" },
    ]
  },
}
