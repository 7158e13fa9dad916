/**
 * The config's `watch` section is validated with the rest (every issue at once), and the log's
 * two formats carry the same fields.
 */
import { describe, expect, it } from "vitest"
import { defineConfig } from "shiftup"
import { logger } from "shiftup/watch"

const issues = (watch: unknown): string => {
  try {
    defineConfig({ watch } as never)
    return ""
  } catch (e) {
    return (e as Error).message
  }
}

describe("the watch section", () => {
  it("accepts interval and cron jobs", () => {
    expect(issues({ jobs: [{ name: "a", experiment: "e.ts", every: "5 minutes", jitter: 2000 }, { name: "inv", inventory: true, cron: "*/5 * * * *" }], port: 0, shutdownTimeout: "5 seconds" })).toBe("")
  })

  it("accepts misconfig and vulns jobs and a shared probe budget; refuses a job of two kinds and a bad source", () => {
    expect(
      issues({
        jobs: [
          { name: "m", misconfig: { from: "docker", profile: "healthcare", rules: ["container.privileged"] }, every: "1 hour" },
          { name: "v", vulns: { osv: "osv/", from: { sbom: "bom.json" } }, cron: "0 * * * *" },
          { name: "s", misconfig: { from: { snapshot: "snap.json" } }, every: 1000 },
          { name: "l", vulns: { osv: "osv.json", from: { docker: { labels: ["team=payments"] } } }, every: 1000 },
        ],
        probes: { maxRate: 20, burst: 5, perTargetInterval: "200 millis" },
        listen: "0.0.0.0",
      }),
    ).toBe("")
    expect(issues({ jobs: [], listen: "localhost" })).toContain('watch.listen: an IP address to listen on, e.g. "127.0.0.1" or "0.0.0.0", got "localhost"')
    const m = issues({ jobs: [{ name: "x", misconfig: { from: "docker" }, vulns: { osv: "o", from: "docker" }, every: 1000 }, { name: "y", misconfig: { from: "s3" }, every: 1000 }], probes: { maxRate: 0, burst: 0 } })
    expect(m).toContain('job "x": give exactly one of')
    expect(m).toContain("watch.jobs[1].misconfig.from")
    expect(m).toContain("watch.probes.maxRate")
    expect(m).toContain("watch.probes.burst")
  })

  it("names every problem at once", () => {
    const m = issues({
      jobs: [
        { name: "a", experiment: "e.ts", every: "5 minutes", cron: "* * * * *" },
        { name: "a", every: 1000 },
        { name: "Bad Name", inventory: true, experiment: "x.ts", every: -1 },
      ],
      port: 70_000,
    })
    expect(m).toContain("give exactly one of `every` (an interval) and `cron`")
    expect(m).toContain('job "a": give exactly one of `experiment` (a file), `inventory: true`, `misconfig: { from }` and `vulns: { osv, from }`')
    expect(m).toContain('watch.jobs[2].name: a job name is lowercase letters, digits, dots and dashes (it labels metrics), got "Bad Name"')
    expect(m).toContain("watch.jobs[2].every")
    expect(m).toContain("watch.port")
  })
})

it("webhooks: an http(s) URL, the secret by environment variable, bounded attempts", () => {
  expect(issues({ jobs: [], webhooks: [{ url: "https://hooks.example/shiftup", secretEnv: "HOOK_KEY", events: ["regressed"], attempts: 3, backoffMs: 100 }] })).toBe("")
  const m = issues({ jobs: [], webhooks: [{ url: "ftp://x", attempts: 0, events: ["gone"] }] })
  expect(m).toContain('must be an http(s) URL, got "ftp://x"')
  expect(m).toContain("watch.webhooks[0].attempts")
  expect(m).toContain("watch.webhooks[0].events[0]")
})

it("job names are unique", () => {
  expect(issues({ jobs: [{ name: "a", experiment: "e.ts", every: 1000 }, { name: "a", inventory: true, every: 1000 }] })).toContain("job names must be unique: a appear more than once")
})

describe("the log", () => {
  const at = () => new Date("2026-12-07T19:00:00.000Z")
  it("json: one object a line", () => {
    const lines: Array<string> = []
    logger("json", (l) => lines.push(l), at)("warn", "finding.changed", { job: "gateway", to: "new", from: null })
    expect(lines).toEqual([`{"time":"2026-12-07T19:00:00.000Z","level":"warn","event":"finding.changed","job":"gateway","to":"new","from":null}\n`])
  })
  it("human: time, level, event, key=value (quoted when needed)", () => {
    const lines: Array<string> = []
    logger("human", (l) => lines.push(l), at)("info", "job.finished", { job: "gateway", ms: 412, summary: "watch.x passed", runs: ["r1"] })
    expect(lines).toEqual([`2026-12-07T19:00:00.000Z info  job.finished job=gateway ms=412 summary="watch.x passed" runs=["r1"]\n`])
  })
})

it("store: a file, or PostgreSQL by URL or host, the password only by variable — a URL holding one is refused without repeating it", () => {
  expect(issues({ jobs: [], store: "/var/lib/shiftup/watch.sqlite", leaseTtl: "20 seconds" })).toBe("")
  expect(issues({ jobs: [], leaseTtl: "200 millis" })).toContain("must be at least 1 second")
  expect(issues({ jobs: [], store: { kind: "postgres", url: "postgres://watch@db.internal:5432/shiftup", passwordEnv: "WATCH_DB_PASSWORD", schema: "shiftup" } })).toBe("")
  expect(issues({ jobs: [], store: { kind: "postgres", host: "db.internal", port: 5432, database: "shiftup", user: "watch", passwordEnv: "WATCH_DB_PASSWORD" } })).toBe("")
  const m = issues({ jobs: [], store: { kind: "postgres", url: "postgres://watch:hunter2-secret@db.internal/shiftup" } })
  expect(m).toContain("the URL holds a password: put it in an environment variable and name that variable in `passwordEnv`")
  expect(m).not.toContain("hunter2-secret")
  expect(issues({ jobs: [], store: { kind: "postgres", url: "postgres://w@h/d", host: "h" } })).toContain("give exactly one of `url` and `host`")
  expect(issues({ jobs: [], store: { kind: "postgres", host: "h", passwordEnv: "not a name" } })).toContain("must be an environment variable name")
})
