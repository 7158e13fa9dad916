/**
 * The feedback loop's pure parts: the config's `feedback` section (validated with the rest, a
 * mapping never into production), the mapping by URL origin, host:port and container selector
 * (unmapped: `UnmappedTarget`), which check a finding's rule regenerates, `--new-since`, and the
 * store's links (a file of schema version 2 migrates forward, keeping its findings).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterAll, describe, expect, it } from "vitest"
import { defineConfig, Target } from "shiftup"
import * as Http from "shiftup/http"
import * as Docker from "shiftup/docker"
import { allJobs, fingerprint, migrate, openSqlite, type StoredFinding } from "shiftup/watch"
import { sinceOf } from "../../../src/watch/feedback/command.ts"
import { mapTarget, sideOfAsset, sideOfTarget } from "../../../src/watch/feedback/mapping.ts"
import { recipeOf } from "../../../src/watch/feedback/recipe.ts"
import { describeLoop, loops } from "../../../src/watch/feedback/loop.ts"
import { regressionId, renderExperiment } from "../../../src/watch/feedback/render.ts"
import type { FeedbackSettings } from "../../../src/watch/feedback/settings.ts"

const issues = (feedback: unknown): string => {
  try {
    defineConfig({ feedback } as never)
    return ""
  } catch (e) {
    return (e as Error).message
  }
}

const finding = (rule: string, asset = "api"): StoredFinding => ({
  fingerprint: fingerprint({ rule, asset, location: "before" }),
  rule,
  asset,
  location: "before",
  severity: "medium",
  title: "t",
  detail: "",
  scope: "job",
  state: "new",
  firstSeen: "2026-12-07T10:00:00.000Z",
  lastSeen: "2026-12-07T10:00:00.000Z",
  occurrences: 1,
  openedAt: "2026-12-07T10:00:00.000Z",
})

describe("the feedback section", () => {
  it("accepts URL, host:port and container mappings", () => {
    expect(
      issues({
        dir: "experiments/regressions",
        map: [
          { production: "https://api.example", to: "http://127.0.0.1:8081" },
          { production: "db.example:5432", to: "127.0.0.1:15432", environment: "lab" },
          { production: { container: "auth" }, to: { labels: { app: "auth", env: "staging" } }, environment: "development" },
        ],
      }),
    ).toBe("")
  })

  it("names every problem at once; a mapping never points into production", () => {
    const m = issues({
      map: [
        { production: "https://api.example", to: { container: "api-staging" } },
        { production: "ftp://files.example", to: "http://127.0.0.1:1" },
        { production: "https://api.example", to: "http://127.0.0.1:1", environment: "production" },
        { production: {}, to: { container: "x" } },
      ],
    })
    expect(m).toContain("feedback.map[0]: production is a URL but to is a container selector: map a target to one of the same kind")
    expect(m).toContain('production: "ftp://files.example" is not an http(s) URL')
    expect(m).toContain("feedback.map[2].environment")
    expect(m).toContain("a container selector needs `container` (a name) or `labels`")
  })

  it("a stand-in is never a production target: the entry's own, or another entry's", () => {
    expect(issues({ map: [{ production: "https://api.example/v1", to: "https://api.example/v2" }] })).toContain("map[0]: `to` is the production target itself")
    expect(issues({ map: [{ production: { container: "web" }, to: { container: "web" } }] })).toContain("map[0]: `to` is the production target itself")
    expect(issues({ map: [{ production: "https://a.example", to: "https://b.example" }, { production: "https://b.example", to: "http://127.0.0.1:1" }] })).toContain("map[0]: `to` is the production side of map[1]")
  })
})

describe("the mapping", () => {
  const settings: FeedbackSettings = {
    map: [
      { production: "https://api.example/v1", to: "http://127.0.0.1:8081" },
      { production: "db.example:5432", to: "127.0.0.1:15432", environment: "lab" },
      { production: { labels: { app: "auth" } }, to: { container: "auth-staging" } },
      { production: { container: "web" }, to: { container: "web-staging" } },
    ],
  }

  it("matches a URL by its origin, an address by host and port, a container by name or labels", () => {
    const api = Http.target("api", { url: "https://api.example/shop?x=1", environment: "production" })
    expect(mapTarget("f", { id: api.id, side: sideOfTarget(api) ?? sideOfAsset("") }, settings)).toMatchObject({ index: 0, environment: "staging", to: { _tag: "Url", url: "http://127.0.0.1:8081/" } })
    const db = Target.tcp("db.example:5432", { environment: "production" })
    expect(mapTarget("f", { id: db.id, side: sideOfTarget(db) ?? sideOfAsset("") }, settings)).toMatchObject({ index: 1, environment: "lab", to: { _tag: "Address", host: "127.0.0.1", port: 15432 } })
    const auth = Docker.containers("auth", { select: { labels: { app: "auth", tier: "web" } }, environment: "production" })
    expect(mapTarget("f", { id: auth.id, side: sideOfTarget(auth) ?? sideOfAsset("") }, settings)).toMatchObject({ index: 2 })
    expect(mapTarget("f", { id: "web", side: sideOfAsset("docker:local/web") }, settings)).toMatchObject({ index: 3, to: { _tag: "Container", name: "web-staging" } })
  })

  it("an unmapped target is UnmappedTarget naming it and the config key, with an entry to add", () => {
    const other = Http.target("api", { url: "https://api.other.example", environment: "production" })
    let error: unknown
    try {
      mapTarget("3f2a", { id: "api", side: sideOfTarget(other) ?? sideOfAsset("") }, settings)
    } catch (e) {
      error = e
    }
    expect(error).toMatchObject({ _tag: "UnmappedTarget", finding: "3f2a", target: "api (https://api.other.example)" })
    expect((error as Error).message).toContain('add one to `feedback.map` in shiftup.config.ts, e.g. { production: "https://api.other.example", to: "http://127.0.0.1:8081" }')
    // A port is part of the origin: the same host on another port is another target.
    expect(() => mapTarget("f", { id: "api", side: sideOfAsset("https://api.example:8443") }, settings)).toThrow(/not mapped/)
    expect(() => mapTarget("f", { id: "api", side: sideOfAsset("https://api.example") }, undefined)).toThrow(/not mapped/)
  })
})

describe("the recipe of a finding", () => {
  it("rebuilds shiftup/http probes from their check ids, and container misconfiguration rules", () => {
    expect(recipeOf(finding("prod.api/api headers /login: headers.csp-missing"))).toEqual({
      _tag: "Http",
      rule: "headers.csp-missing",
      probe: "Headers",
      path: "/login",
      probeId: "api headers /login",
      checkId: "api headers /login: headers.csp-missing",
      experimentId: "prod.api",
    })
    expect(recipeOf(finding("prod.api/api cors /: cors.reflected-origin"))).toMatchObject({ probe: "Cors", path: "/" })
    expect(recipeOf(finding("prod.api/shop api leakage: leak.version-banner"))).toMatchObject({ probe: "Leakage", probeId: "shop api leakage" })
    expect(recipeOf(finding("prod.api/api tls: tls.legacy-protocol"))).toMatchObject({ probe: "Tls" })
    expect(recipeOf(finding("misconfig/container.privileged", "docker:local/web"))).toEqual({ _tag: "Misconfig", rule: "container.privileged", checkId: "misconfig: container.privileged", experimentId: "misconfig" })
    expect(regressionId(recipeOf(finding("misconfig/container.privileged")), "docker:local/Web App")).toBe("regression.container.privileged.docker-local-web-app")
  })

  it("refuses a custom check, saying why and what to do", () => {
    expect(() => recipeOf(finding("watch.gateway-denies-anonymous/anonymous-denied"))).toThrow(/cannot rebuild against another target.*write this regression experiment by hand/)
    expect(() => recipeOf(finding("prod.api/api headers /: not.a-rule"))).toThrow(/cannot rebuild/)
  })
})

it("--new-since takes an ISO date or a duration back from now", () => {
  const now = new Date("2026-12-07T12:00:00.000Z")
  expect(sinceOf("24h", now).toISOString()).toBe("2026-12-06T12:00:00.000Z")
  expect(sinceOf("30m", now).toISOString()).toBe("2026-12-07T11:30:00.000Z")
  expect(sinceOf("2026-12-01", now).toISOString()).toBe("2026-12-01T00:00:00.000Z")
  expect(() => sinceOf("yesterday", now)).toThrow(/--new-since takes an ISO date/)
})

describe("the store's links", () => {
  const dir = mkdtempSync(join(tmpdir(), "shiftup-feedback-store-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("records finding ↔ file, refuses an unknown finding, and migrates a version 2 file keeping its findings", async () => {
    const file = join(dir, "old.sqlite")
    const old = new DatabaseSync(file)
    migrate(old, file, 2)
    old.close()
    const store = openSqlite(file)
    const [t] = await store.record("job", [{ rule: "r/c", asset: "api", location: "before", severity: "high", title: "t" }], new Date("2026-12-07T10:00:00Z"))
    const fp = t?.fingerprint ?? ""
    await store.link(fp, "experiments/a.ts", new Date("2026-12-07T11:00:00Z"))
    await store.link(fp, "experiments/a.ts", new Date("2026-12-07T12:00:00Z"))
    await store.link(fp, "experiments/b.ts", new Date("2026-12-07T11:30:00Z"))
    expect(await store.links(fp)).toEqual([
      { fingerprint: fp, experiment: "experiments/b.ts", createdAt: "2026-12-07T11:30:00.000Z" },
      { fingerprint: fp, experiment: "experiments/a.ts", createdAt: "2026-12-07T12:00:00.000Z" },
    ])
    expect((await store.links()).length).toBe(2)
    await expect(store.link("0".repeat(32), "x.ts", new Date())).rejects.toThrow(/no finding 0{32}/)
    await store.close()
  })
})

describe("the loop", () => {
  const dir = mkdtempSync(join(tmpdir(), "shiftup-feedback-loop-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("one file for two findings tags both; their runs' journals show each reproduced, then fixed; plans and untagged runs do not count", async () => {
    const store = openSqlite(join(dir, "watch.sqlite"))
    const seen = ["before", "after"].map((location) => ({ rule: "prod.api/api headers /: headers.csp-missing", asset: "api", location, severity: "medium" as const, title: "t" }))
    const [a, b] = (await store.record("job", seen, new Date("2026-12-07T10:00:00Z"))).map((t) => t.finding)
    if (a === undefined || b === undefined) throw new Error("two findings")
    const source = renderExperiment({
      finding: a,
      also: [b],
      recipe: recipeOf(a),
      id: "regression.x",
      mapped: { production: { id: "api", side: { _tag: "Url", origin: "https://api.example", url: "https://api.example/" } }, to: { _tag: "Url", origin: "http://127.0.0.1:1", url: "http://127.0.0.1:1/" }, environment: "staging", index: 0 },
    })
    expect(source).toContain(`tags: ["regression", "shiftup.finding:${a.fingerprint}", "shiftup.finding:${b.fingerprint}"]`)
    for (const f of [a, b]) await store.link(f.fingerprint, "experiments/regression.x.ts", new Date("2026-12-07T11:00:00Z"))
    const journals = join(dir, "journals")
    mkdirSync(journals)
    const journal = (runId: string, status: string, startedAt: string, tags: ReadonlyArray<string>, dryRun = false) =>
      writeFileSync(join(journals, `${runId}.json`), JSON.stringify({ runId, status, startedAt, dryRun, experiment: { tags }, plan: { targets: [{ effective: "staging" }] } }))
    const both = [`shiftup.finding:${a.fingerprint}`, `shiftup.finding:${b.fingerprint}`]
    journal("r0", "passed", "2026-12-07T11:01:00.000Z", both, true)
    journal("r1", "failed", "2026-12-07T11:02:00.000Z", both)
    journal("r2", "passed", "2026-12-07T11:03:00.000Z", ["other"])
    journal("r3", "failed", "2026-12-07T11:04:00.000Z", both)
    journal("r4", "passed", "2026-12-07T11:05:00.000Z", both)
    writeFileSync(join(journals, "torn.json"), "{")
    const got = await loops(store, journals)
    for (const f of [a, b]) {
      const loop = got.get(f.fingerprint)
      expect(loop?.runs.map((r) => r.runId)).toEqual(["r1", "r3", "r4"])
      expect(loop?.reproduced).toEqual({ runId: "r1", status: "failed", at: "2026-12-07T11:02:00.000Z", environment: "staging" })
      expect(loop?.fixed?.runId).toBe("r4")
      expect(describeLoop(f.firstSeen, loop ?? { experiments: [], runs: [] })).toBe(
        "found in production on 2026-12-07T10:00:00.000Z; regression experiments/regression.x.ts; reproduced in staging on 2026-12-07T11:02:00.000Z (run r1); fixed on 2026-12-07T11:05:00.000Z (run r4)",
      )
    }
    await store.close()
  })
})

describe("the watch's jobs file", () => {
  const dir = mkdtempSync(join(tmpdir(), "shiftup-feedback-jobs-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const config = { module: join(dir, "shiftup.config.ts"), watch: { jobs: [{ name: "a", experiment: "a.ts", every: 1000 }] } }
  const write = (doc: unknown) => writeFileSync(join(dir, "shiftup.watch-jobs.json"), typeof doc === "string" ? doc : JSON.stringify(doc))

  it("is read beside the config with its jobs; a name in both, a malformed job or a file that is not JSON is InvalidConfig naming the file", () => {
    expect(allJobs(config).map((j) => j.name)).toEqual(["a"])
    write({ schema: "shiftup.watch-jobs/v1", jobs: [{ name: "b", experiment: "b.ts", cron: "*/5 * * * *" }] })
    expect(allJobs(config).map((j) => j.name)).toEqual(["a", "b"])
    write({ schema: "shiftup.watch-jobs/v1", jobs: [{ name: "a", experiment: "b.ts", every: 1000 }] })
    expect(() => allJobs(config)).toThrow(/shiftup\.watch-jobs\.json:\n {2}- jobs\[0\]\.name: "a" is also a job of the config's watch\.jobs/)
    write({ schema: "shiftup.watch-jobs/v1", jobs: [{ name: "c", experiment: "c.ts" }] })
    expect(() => allJobs(config)).toThrow(/give exactly one of `every`/)
    write("{")
    expect(() => allJobs(config)).toThrow(/shiftup\.watch-jobs\.json:\n {2}- \(root\): not JSON/)
  })
})
