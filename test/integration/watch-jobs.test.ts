/**
 * The `misconfig` and `vulns` watch jobs in a real `shiftup watch`: the misconfiguration rules
 * over the local Docker engine (a privileged container the test created) and over a snapshot
 * file; OSV matching (a local directory of advisories, nothing fetched) of the packages of the
 * test's labelled containers' images (read without running them), of a snapshot and of an SBOM. Findings land in the store under stable fingerprints: a package moved to
 * another affected version stays one finding (occurrences grow, no new transition); fixed, it
 * resolves. And what the watcher refuses at start, every issue at once: an unknown profile or
 * rule, OSV data that is not there, an inventory source with a production data store.
 */
import { randomBytes } from "node:crypto"
import { execFileSync } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { fingerprint, openSqlite } from "shiftup/watch"
import { pack } from "../../src/internal/tar.ts"
import { docker, removeRun } from "../support/inventory-docker.ts"
import { advisory, snapshotOf } from "../support/watch-facts.ts"
import { finish, runCli, spawnCli, tempDir, useProcessCleanup, waitFor, type Proc } from "../support/proc-cli.ts"
import { events } from "../support/watch-cli.ts"

useProcessCleanup()

const runId = `watchjobs-${randomBytes(4).toString("hex")}`
afterAll(() => removeRun(runId))

const sbom = { bomFormat: "CycloneDX", specVersion: "1.5", components: [{ type: "library", name: "lodash", version: "4.17.15", purl: "pkg:npm/lodash@4.17.15" }] }

const finished = (p: Proc, job: string) => events(p).filter((e) => e.event === "job.finished" && e["job"] === job).length

describe("misconfig and vulns jobs", () => {
  it("record the rules' and OSV's findings under stable fingerprints, from Docker, a snapshot file and an SBOM", async () => {
    const dir = tempDir("shiftup-watch-jobs-")
    const name = `${runId}-priv`
    // Created, not started (this engine cannot start privileged containers); the docker source lists it.
    docker("create", "--name", name, "--label", `shiftup.run=${runId}`, "--privileged", "shiftup-lab/busybox:latest", "sleep", "3600")
    // An image whose /app/package-lock.json has an affected lodash, and a container made from it.
    const lock = { name: "app", lockfileVersion: 3, packages: { "": { name: "app" }, "node_modules/lodash": { version: "4.17.20" } } }
    const image = `shiftup-test/app:${runId}`
    execFileSync("docker", ["import", "--change", `LABEL shiftup.run=${runId}`, "-", image], {
      input: pack([
        { path: "bin", type: "dir", mode: 0o755 },
        { path: "bin/busybox", type: "file", mode: 0o755, content: readFileSync("/bin/busybox") },
        { path: "bin/sleep", type: "symlink", linkTo: "busybox" },
        { path: "app", type: "dir", mode: 0o755 },
        { path: "app/package-lock.json", type: "file", mode: 0o644, content: Buffer.from(JSON.stringify(lock)) },
      ]),
      stdio: ["pipe", "pipe", "pipe"],
    })
    docker("create", "--name", `${runId}-app`, "--label", `shiftup.run=${runId}`, image, "sleep", "3600")
    const snapshot = join(dir, "snapshot.json")
    writeFileSync(snapshot, JSON.stringify(snapshotOf(true, "4.17.20")))
    mkdirSync(join(dir, "osv", "npm"), { recursive: true })
    writeFileSync(join(dir, "osv", "npm", "GHSA-test-lodash.json"), JSON.stringify(advisory))
    writeFileSync(join(dir, "bom.json"), JSON.stringify(sbom))
    writeFileSync(
      join(dir, "shiftup.config.ts"),
      `import { defineConfig } from "shiftup"
export default defineConfig({
  misconfig: { environments: { staging: "internal" } },
  watch: {
    port: 0,
    shutdownTimeout: "5 seconds",
    jobs: [
      { name: "misconfig-docker", misconfig: { from: "docker", rules: ["container.privileged"] }, every: "1 second" },
      { name: "misconfig-snapshot", misconfig: { from: { snapshot: "snapshot.json" } }, every: "1 second" },
      { name: "vulns-snapshot", vulns: { osv: "osv", from: { snapshot: "snapshot.json" } }, every: "1 second" },
      { name: "vulns-sbom", vulns: { osv: "osv/npm/GHSA-test-lodash.json", from: { sbom: "bom.json" } }, every: "1 second" },
      { name: "vulns-docker", vulns: { osv: "osv", from: { docker: { labels: ["shiftup.run=${runId}"] } } }, every: "1 second" },
    ],
  },
})
`,
    )
    const state = join(dir, "state")
    const watch = spawnCli(["watch", "--state-dir", state, "--log", "json"], { cwd: dir })
    await waitFor("a scan of every job", () => ["misconfig-docker", "misconfig-snapshot", "vulns-snapshot", "vulns-sbom", "vulns-docker"].every((j) => finished(watch, j) >= 1), { proc: watch, timeoutMs: 30_000 })
    const firstVulnScans = finished(watch, "vulns-snapshot")
    // Another affected version: the same finding (the version is no part of the fingerprint).
    writeFileSync(snapshot, JSON.stringify(snapshotOf(true, "4.17.19")))
    await waitFor("two scans of the changed snapshot", () => finished(watch, "vulns-snapshot") >= firstVulnScans + 2, { proc: watch, timeoutMs: 15_000 })
    // Fixed: unprivileged, lodash at the fixed version.
    writeFileSync(snapshot, JSON.stringify(snapshotOf(false, "4.17.21")))
    const resolvedIn = (job: string) => events(watch).some((e) => e.event === "finding.changed" && e["job"] === job && e["to"] === "resolved")
    await waitFor("the snapshot's findings resolved", () => resolvedIn("vulns-snapshot") && resolvedIn("misconfig-snapshot"), { proc: watch, timeoutMs: 15_000 })
    watch.child.kill("SIGTERM")
    expect((await finish(watch, 10_000)).code).toBe(0)

    const store = openSqlite(join(state, "watch.sqlite"))
    const all = await store.open()
    const byRule = (rule: string, asset: string) => all.find((f) => f.rule === rule && f.asset === asset)
    // Docker: the privileged container the test made, by its asset id, at the rule's severity under the profile.
    const priv = byRule("misconfig/container.privileged", `docker:local/${name}`)
    expect(priv).toMatchObject({ scope: "misconfig-docker", location: "", title: expect.stringContaining("privileged") })
    expect(["critical", "high"]).toContain(priv?.severity)
    // No other rule ran in that job.
    expect(all.filter((f) => f.scope === "misconfig-docker" && f.rule !== "misconfig/container.privileged")).toEqual([])
    // The SBOM's lodash: one finding per package and advisory, the advisory's severity.
    expect(all.filter((f) => f.scope === "vulns-sbom")).toEqual([
      expect.objectContaining({ rule: "osv/GHSA-test-lodash", asset: `sbom:bom.json`, location: "npm/lodash bom.json", severity: "high", state: "open", detail: expect.stringContaining("fixed in 4.17.21") }),
    ])
    // The image's packages, read without running it: the finding is on the container made from it.
    expect(all.filter((f) => f.scope === "vulns-docker")).toEqual([expect.objectContaining({ rule: "osv/GHSA-test-lodash", asset: `docker:local/${runId}-app`, location: "npm/lodash /app/package-lock.json", severity: "high" })])
    // The snapshot's findings are resolved (not open); their history stayed one finding each.
    expect(all.filter((f) => f.scope === "vulns-snapshot" || f.scope === "misconfig-snapshot")).toEqual([])
    const vuln = await store.get(fingerprint({ rule: "osv/GHSA-test-lodash", asset: "docker:local/app", location: "npm/lodash /app/package-lock.json" }))
    expect(vuln).toMatchObject({ state: "resolved", scope: "vulns-snapshot" })
    expect(vuln?.occurrences).toBeGreaterThanOrEqual(firstVulnScans + 2)
    const transitions = events(watch).filter((e) => e.event === "finding.changed" && e["job"] === "vulns-snapshot").map((e) => e["to"])
    expect(transitions).toEqual(["new", "open", "resolved"])
    await store.close()
  }, 90_000)

  it("refuses at start, every issue at once: an unknown profile and rule, missing OSV data, a production data store in an inventory source", async () => {
    const dir = tempDir("shiftup-watch-jobs-refused-")
    writeFileSync(
      join(dir, "shiftup.config.ts"),
      `import { defineConfig } from "shiftup"
export default defineConfig({
  inventory: { endpoints: [{ target: "127.0.0.1:5432", environment: "production", dataStore: "postgres" }], observeProduction: true },
  watch: {
    port: 0,
    jobs: [
      { name: "profile", misconfig: { from: "docker", profile: "no-such-profile", rules: ["container.nope"] }, every: "1 minute" },
      { name: "osv", vulns: { osv: "missing-osv-dir", from: "docker" }, every: "1 minute" },
      { name: "prod-store", misconfig: { from: "inventory" }, every: "1 minute" },
      { name: "prod-store-vulns", vulns: { osv: "missing-osv-dir", from: "inventory" }, every: "1 minute" },
    ],
  },
})
`,
    )
    const r = await runCli(["watch", "--state-dir", join(dir, "state")], { cwd: dir })
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('watch.jobs[0] (profile).misconfig.profile: no profile "no-such-profile"')
    expect(r.stderr).toContain('watch.jobs[0] (profile).misconfig.rules: no misconfiguration rule "container.nope"')
    expect(r.stderr).toContain('watch.jobs[1] (osv).vulns.osv: the OSV data "missing-osv-dir"')
    expect(r.stderr).toMatch(/watch\.jobs\[2\] \(prod-store\)\.misconfig\.from: .*floor\.production-data-store/)
    expect(r.stderr).toMatch(/watch\.jobs\[3\] \(prod-store-vulns\)\.vulns\.from: .*floor\.production-data-store/)
    // Nothing started: no store, no state.
    expect(r.stdout).not.toContain("watch.started")
  }, 60_000)
})
