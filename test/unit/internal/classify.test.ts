import { describe, expect, it } from "vitest"
import { Http, Target } from "shiftup"
import { classify, classifyMember, mostProtected } from "../../../src/internal/classify.ts"

const of = (options: Target.TargetOptions, id = "t") => {
  const t = Target.make(id, options)
  return classifyMember(t, { ...options.facts, id })
}

describe("environment resolution: every signal from every source, the most restrictive wins", () => {
  it("an explicit environment is one signal among the others: it never loosens evidence", () => {
    const c = of({ environment: "lab", labels: { env: "production" }, facts: { name: "orders-prod-1", env: { NODE_ENV: "production" } } })
    expect(c.environment).toBe("production")
    expect(c.environmentSignals.map((s) => `${s.source}:${s.means}`)).toEqual(["label:production", "name:production", "env-var:production", "explicit:lab"])
    expect(c.conflict).toContain("signals disagree (lab, production)")
  })

  it("an explicit environment decides alone where nothing else is known (a bare URL)", () => {
    const c = classify(Http.target("api", { url: "http://127.0.0.1:8080", environment: "lab" }), [{ id: "x", hostnames: ["127.0.0.1"], ports: [8080] }])
    expect(c).toMatchObject({ environment: "lab", environmentSignals: [{ source: "explicit", means: "lab" }] })
    expect(c.conflict).toBeUndefined()
  })

  it("a label does not outrank a more restrictive name, and a sandbox name does not outrank NODE_ENV=production", () => {
    expect(of({ labels: { "shiftup.env": "staging" }, facts: { name: "orders-prod", hostnames: ["api.prod.internal"] } }).environment).toBe("production")
    expect(of({ labels: { env: "staging" }, facts: { env: { NODE_ENV: "production" } } }).environment).toBe("production")
    expect(of({ facts: { name: "sandbox-orders", env: { NODE_ENV: "production" } } }).environment).toBe("production")
    expect(of({ facts: { name: "lab-api", labels: { ENV: "production" }, env: { ENV: "production" } } }).environment).toBe("production")
  })

  it.each([
    ["shiftup.env", "lab", "lab"],
    ["environment", "Production", "production"],
    ["env", "dev", "development"],
    ["stage", "stg", "staging"],
    ["tier", "prd", "production"],
  ] as const)("label %s=%s means %s", (key, value, env) => {
    expect(of({ labels: { [key]: value } }).environment).toBe(env)
  })

  it("labels given as facts (an inventory) count like the target's own", () => {
    expect(of({ facts: { labels: { environment: "development" } } }).environment).toBe("development")
  })

  it("a label key that holds no environment word is not a signal", () => {
    const c = of({ labels: { env: "blue", team: "prod" }, facts: { name: "svc-dev" } })
    expect(c.environment).toBe("development")
    expect(c.environmentSignals.map((s) => s.source)).toEqual(["name"])
  })

  it("a name's tokens are matched (camelCase and trailing digits too)", () => {
    const c = of({ facts: { name: "orders-dev-1", env: { NODE_ENV: "development" } } })
    expect(c.environment).toBe("development")
    expect(c.environmentSignals[0]).toEqual({ source: "name", key: "name", value: "orders-dev-1", means: "development" })
    expect(of({ facts: { name: "ordersProd2" } }).environment).toBe("production")
    expect(of({ facts: { name: "productivity-dashboard" } }).environment).toBe("unknown")
  })

  it("host names are name signals (an Http.target's host)", () => {
    const api = Http.target("api", { url: "http://api.stg.example.internal:8080" })
    const c = classify(api, [{ id: "x", hostnames: ["api.stg.example.internal"], ports: [8080] }])
    expect(c.environment).toBe("staging")
    expect(c.environmentSignals[0]).toMatchObject({ source: "hostname", value: "api.stg.example.internal", means: "staging" })
  })

  it("env vars are the last tier", () => {
    for (const key of ["NODE_ENV", "APP_ENV", "ENVIRONMENT", "RAILS_ENV", "RACK_ENV", "SPRING_PROFILES_ACTIVE", "ASPNETCORE_ENVIRONMENT"]) {
      const c = of({ facts: { env: { [key]: "Production", HOME: "/root" } } })
      expect(c.environment, key).toBe("production")
      expect(c.environmentSignals).toEqual([{ source: "env-var", key, value: "Production", means: "production" }])
    }
    expect(of({ facts: { env: { SPRING_PROFILES_ACTIVE: "cloud,staging" } } }).environment).toBe("staging")
  })

  it("no signal at all is unknown, which the floor treats as production", () => {
    const c = of({ labels: { team: "payments" }, facts: { name: "orders", hostnames: ["orders.internal"], env: { HOME: "/" } } })
    expect(c.environment).toBe("unknown")
    expect(c.effective).toBe("production")
    expect(c.environmentSignals).toEqual([{ source: "default", key: "none", value: "no signal", means: "unknown" }])
  })

  it("conflicting signals in a tier resolve to the most protected", () => {
    expect(of({ labels: { env: "dev", tier: "production" } }).environment).toBe("production")
    expect(of({ labels: { env: "lab", stage: "staging" } }).environment).toBe("staging")
    expect(of({ facts: { name: "lab-prod-mirror" } }).environment).toBe("production")
    expect(of({ facts: { name: "api-dev", hostnames: ["api.stg.internal"] } }).environment).toBe("staging")
    expect(of({ facts: { env: { NODE_ENV: "development", APP_ENV: "live" } } }).environment).toBe("production")
    const c = of({ labels: { env: "dev", tier: "production" } })
    expect(c.environmentSignals.map((s) => s.means).sort()).toEqual(["development", "production"])
  })

  it("mostProtected: production ≥ unknown > staging > development > lab", () => {
    expect(mostProtected(["lab", "staging", "development"])).toBe("staging")
    expect(mostProtected(["lab", "development"])).toBe("development")
    expect(mostProtected(["lab", "unknown"])).toBe("unknown")
    expect(mostProtected(["unknown", "production"])).toBe("production")
    expect(mostProtected(["production", "unknown"])).toBe("production")
    expect(mostProtected([])).toBe("unknown")
  })

  it("a target with several members takes the most protected member's environment", () => {
    const t = Target.make("pool")
    const c = classify(t, [
      { id: "a", name: "web-lab-1" },
      { id: "b", name: "web-stg-2" },
    ])
    expect(c.environment).toBe("staging")
    expect(c.environmentSignals.map((s) => `${s.member}:${s.value}`)).toEqual(["b:web-stg-2", "a:web-lab-1"])
    expect(c.conflict).toContain("members disagree (lab, staging)")
    expect(classify(t, [{ id: "a", name: "web-lab-1" }, { id: "b", name: "web" }]).effective).toBe("production")
    expect(classify(t, []).environment).toBe("unknown")
  })
})

describe("data store classification: any match counts, and the signals are recorded", () => {
  it.each([
    ["image", { image: "docker.io/library/postgres:16" }, "postgres"],
    ["process", { process: "redis-server" }, "redis"],
    ["name", { name: "orders-mysql-0" }, "mysql"],
    ["hostname", { hostnames: ["mongodb.internal"] }, "mongo"],
    ["port", { ports: [8080, 5432] }, "postgres"],
    ["fingerprint", { fingerprint: "redis" }, "redis"],
  ] as const)("by %s", (source, facts, engine) => {
    const c = of({ environment: "staging", facts })
    expect(c.dataStore.is).toBe(true)
    expect(c.dataStore.engine).toBe(engine)
    expect(c.dataStore.signals.map((s) => s.source)).toContain(source)
    expect(c.dataStore.signals.find((s) => s.source === source)?.means).toBe(engine)
  })

  it("by explicit declaration, with or without an engine", () => {
    expect(of({ dataStore: true }).dataStore).toEqual({ is: true, signals: [{ source: "explicit", key: "dataStore", value: "true", means: "data store" }] })
    expect(of({ dataStore: "postgresql" }).dataStore).toMatchObject({ is: true, engine: "postgres" })
  })

  it("records every signal that matched", () => {
    const c = of({ facts: { image: "valkey/valkey:8", ports: [6379], fingerprint: "redis" } })
    expect(c.dataStore.signals.map((s) => `${s.source}:${s.means}`)).toEqual(["image:valkey", "port:redis", "fingerprint:redis"])
  })

  it("an innocent name is still a data store when the handshake says so", () => {
    const c = of({ facts: { name: "cache", image: "acme/cache:1", ports: [7000], fingerprint: "redis" } })
    expect(c.dataStore).toMatchObject({ is: true, engine: "redis" })
  })

  it("matches whole tokens only: 'redistribute' is not redis", () => {
    expect(of({ facts: { name: "redistribute", image: "acme/postgresql-client-tools-ui" } }).dataStore.signals.map((s) => s.source)).toEqual(["image"])
    expect(of({ facts: { name: "redistribute", ports: [8080] } }).dataStore.is).toBe(false)
  })

  it("an explicit `dataStore: false` does not hide the evidence (any match counts)", () => {
    const c = of({ dataStore: false, facts: { image: "postgres:16", ports: [5432] } })
    expect(c.dataStore.is).toBe(true)
    expect(c.dataStore.engine).toBe("postgres")
  })

  it("a target is a data store if any of its members is", () => {
    const c = classify(Target.make("pool", { environment: "staging" }), [{ id: "a", name: "web" }, { id: "b", image: "mariadb:11" }])
    expect(c.dataStore).toMatchObject({ is: true, engine: "mariadb" })
  })
})
