/**
 * `Inventory.diff` on snapshots written here: package versions, a staging container that now
 * looks production, both sides of each age limit and of the certificate window, and rules
 * narrowed by asset pattern, environment and predicate. And endpoint entries as users write them.
 */
import { describe, expect, it } from "vitest"
import * as Inventory from "../../src/inventory/index.ts"

const at = "2026-06-01T00:00:00.000Z"
const daysBefore = (d: number) => new Date(Date.parse(at) - d * 86_400_000).toISOString()

const container = (name: string, over: Partial<Inventory.ContainerAsset> = {}): Inventory.ContainerAsset => ({
  id: `docker:local/${name}`,
  kind: "container",
  engine: "local",
  name,
  containerId: `${name}-id`,
  created: daysBefore(1),
  image: { ref: "app:1", id: "sha256:aaaaaaaaaaaaaaaaaaaa", tags: ["app:1"], digests: [], created: daysBefore(10) },
  labels: { env: "staging" },
  owner: { value: "team", source: "label owner" },
  classification: { environment: "staging", effective: "staging", signals: ["label env=staging → staging"], dataStore: false },
  state: { status: "running", startedAt: daysBefore(1), finishedAt: "", restartCount: 0, health: "none" },
  ports: { exposed: [], published: [] },
  networkMode: "bridge",
  networks: [{ name: "bridge", ipv4: "172.17.0.2", aliases: [] }],
  mounts: [],
  privileges: { user: "", privileged: false, capAdd: [], capDrop: [], hostNetwork: false, hostPid: false, hostIpc: false, hostUts: false, readonlyRootfs: false, securityOpt: [] },
  restartPolicy: "no",
  healthcheck: null,
  ...over,
})

const snapshot = (assets: ReadonlyArray<Inventory.Asset>, takenAt = at): Inventory.Snapshot => ({ schema: "shiftup.inventory/v1", shiftup: "test", takenAt, sources: [], assets })
const kinds = (d: Inventory.Drift) => d.changes.map((c) => `${c.kind}: ${c.detail}`)

describe("Inventory.diff", () => {
  it("package versions: changed, added, removed — one change each", () => {
    const pkg = (name: string, version: string) => ({ ecosystem: "npm", name, version, path: "app/package-lock.json" })
    const a = container("web", { packages: [pkg("lodash", "4.17.20"), pkg("left-pad", "1.0.0")] })
    const b = container("web", { packages: [pkg("lodash", "4.17.21"), pkg("express", "4.19.2")] })
    expect(kinds(Inventory.diff(snapshot([a]), snapshot([b])))).toEqual([
      "package-changed: npm express (app/package-lock.json) 4.19.2 added",
      "package-changed: npm left-pad (app/package-lock.json) 1.0.0 removed",
      "package-changed: npm lodash (app/package-lock.json) 4.17.20 → 4.17.21",
    ])
  })

  it("an upgrade that reads hostUserns is no drift by itself; --userns host later is", () => {
    const old = container("web")
    const now = container("web", { privileges: { ...old.privileges, hostUserns: false } })
    expect(kinds(Inventory.diff(snapshot([old]), snapshot([now])))).toEqual([])
    const shared = container("web", { privileges: { ...old.privileges, hostUserns: true } })
    expect(kinds(Inventory.diff(snapshot([now]), snapshot([shared])))).toEqual(["privileges-changed: user (image default); cap-add none; cap-drop none → user (image default); cap-add none; cap-drop none; host userns"])
  })

  it("a staging container that now looks production: a classification change, caught by a rule on production", () => {
    const b = container("web", { classification: { environment: "production", effective: "production", signals: ["env-var NODE_ENV=production → production"], dataStore: false } })
    const d = Inventory.diff(snapshot([container("web")]), snapshot([b]), { rules: [{ name: "no drift into production", kinds: ["classification-changed"], environments: ["production"] }] })
    expect(kinds(d)).toEqual(["classification-changed: staging → production (env-var NODE_ENV=production → production)"])
    expect(d.violations.map((v) => v.rule)).toEqual(["no drift into production"])
    expect(Inventory.diff(snapshot([container("web")]), snapshot([b]), { rules: [{ name: "staging only", kinds: ["classification-changed"], environments: ["staging"] }] }).violations).toEqual([])
  })

  it("ages: both sides of the image and restart limits", () => {
    const aging = (imageDays: number, startedDays: number) =>
      Inventory.diff(snapshot([]), snapshot([container("web", { image: { ...container("web").image, created: daysBefore(imageDays) }, state: { ...container("web").state, startedAt: daysBefore(startedDays) } })]), {
        imageMaxAgeDays: 90,
        restartMaxAgeDays: 30,
      }).findings.map((f) => f.kind)
    expect(aging(89, 29)).toEqual([])
    expect(aging(91, 31)).toEqual(["image-aging", "not-restarted"])
  })

  it("rules by asset pattern and by predicate", () => {
    const d = Inventory.diff(snapshot([]), snapshot([container("prod-web"), container("dev-web", { owner: null })]), {
      rules: [
        { name: "nothing new in prod", kinds: ["asset-added"], assets: ["docker:local/prod-*"] },
        { name: "no orphans", kinds: ["orphan"], where: (i) => i.asset.includes("dev") },
      ],
    })
    expect(d.violations.map((v) => `${v.rule} ${v.item.asset}`)).toEqual(["nothing new in prod docker:local/prod-web", "no orphans docker:local/dev-web"])
  })

  it("the same snapshot twice: no change at all", () => {
    const s = snapshot([container("a"), container("b")])
    expect(Inventory.diff(s, s).changes).toEqual([])
  })
})

describe("endpoint entries", () => {
  it("host:port, IPv6, bare hosts and CIDRs", () => {
    expect(Inventory.parseTarget("127.0.0.1:6379")).toEqual({ host: "127.0.0.1", port: 6379 })
    expect(Inventory.parseTarget("[::1]:443")).toEqual({ host: "::1", port: 443 })
    expect(Inventory.parseTarget("::1")).toEqual({ host: "::1" })
    expect(Inventory.parseTarget("db.internal")).toEqual({ host: "db.internal" })
    expect(Inventory.parseTarget("10.0.3.0/28")).toEqual({ host: "10.0.3.0/28", cidr: { base: "10.0.3.0", bits: 28 } })
    expect(Inventory.endpointId("::1", 443)).toBe("tcp:[::1]:443")
    expect(() => Inventory.parseTarget("127.0.0.1:70000")).toThrow(/port must be 1–65535/)
    expect(() => Inventory.parseTarget("fe80::/64")).toThrow(/IPv4/)
  })
})
