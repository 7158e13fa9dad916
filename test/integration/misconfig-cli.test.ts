/**
 * `shiftup misconfig` and `shiftup profiles` as a user runs them (the real bin): one snapshot file
 * with a container running as root — non-blocking under `web` (exit 0), blocking under
 * `healthcare` (exit 1); the profile chosen by the config's environment, and said why; a config
 * profile that loosens the floor exits 4 naming the field; `profiles` lists the config's own.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import type { Snapshot } from "../../src/inventory/index.ts"
import { runCli, tempDir, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

const lab = { environment: "lab", effective: "lab", signals: [], dataStore: false } as const
const snapshot: Snapshot = {
  schema: "shiftup.inventory/v1",
  shiftup: "test",
  takenAt: "2026-06-01T00:00:00.000Z",
  sources: [],
  assets: [
    {
      id: "docker:local/app",
      kind: "container",
      engine: "local",
      name: "app",
      containerId: "c1",
      created: "2026-05-30T00:00:00.000Z",
      image: { ref: "app:1", id: "sha256:1", tags: [], digests: [], created: "2026-05-20T00:00:00.000Z" },
      labels: {},
      owner: null,
      classification: lab,
      state: { status: "running", startedAt: "", finishedAt: "", restartCount: 0, health: "healthy" },
      ports: { exposed: [], published: [] },
      networkMode: "bridge",
      networks: [],
      mounts: [],
      privileges: { user: "", privileged: false, capAdd: [], capDrop: ["ALL"], hostNetwork: false, hostPid: false, hostIpc: false, hostUts: false, readonlyRootfs: true, securityOpt: ["no-new-privileges"] },
      restartPolicy: "no",
      healthcheck: ["CMD", "true"],
      limits: { memory: 1 << 26, nanoCpus: 5e8, cpuQuota: 0, cpuShares: 0, pidsLimit: 64 },
      env: [],
    },
  ],
}

describe("shiftup misconfig", () => {
  it("the same snapshot: passes under web, blocks under healthcare; the config's environment choice, and why", async () => {
    const dir = tempDir("misconfig-cli-")
    const file = join(dir, "snapshot.json")
    writeFileSync(file, JSON.stringify(snapshot))
    const web = await runCli(["misconfig", "--snapshot", file, "--profile", "web"])
    expect(web.code, web.output).toBe(0)
    expect(web.stdout).toContain("MEDIUM   container.root-user: Container process runs as root — docker:local/app")
    expect(web.stdout).toContain("refs: CIS 4.1, CWE-250")
    const healthcare = await runCli(["misconfig", "--snapshot", file, "--profile", "healthcare"])
    expect(healthcare.code, healthcare.output).toBe(1)
    expect(healthcare.stdout).toContain("HIGH     container.root-user [blocking]")
    const config = join(dir, "shiftup.config.ts")
    writeFileSync(config, `export default { misconfig: { environments: { lab: "clinic" }, profiles: { clinic: { extends: "healthcare", severities: { "container.root-user": "critical" } } } } }\n`)
    const chosen = await runCli(["misconfig", "--snapshot", file, "--config", config, "--format", "json"])
    expect(chosen.code, chosen.output).toBe(1)
    const json = JSON.parse(chosen.stdout)
    expect(json.profiles["docker:local/app"]).toEqual({ profile: "clinic", why: "misconfig.environments.lab (the asset classifies as lab)" })
    expect(json.findings[0]).toMatchObject({ rule: "container.root-user", severity: "critical", blocking: true, profile: "clinic" })
    const profiles = await runCli(["profiles", "--config", config])
    expect(profiles.code).toBe(0)
    expect(profiles.stdout).toMatch(/^clinic \(extends healthcare, from the config\)/m)
    for (const name of ["web", "healthcare", "payments", "internal"]) expect(profiles.stdout).toMatch(new RegExp(`^${name}: `, "m"))
  })

  it("a config profile that loosens the floor: exit 4, the field named", async () => {
    const dir = tempDir("misconfig-cli-")
    const config = join(dir, "shiftup.config.ts")
    writeFileSync(config, `export default { misconfig: { profiles: { lax: { extends: "payments", maxProbeRate: 1000 } } } }\n`)
    const r = await runCli(["misconfig", "--snapshot", join(dir, "none.json"), "--config", config])
    expect(r.code, r.output).toBe(4)
    expect(r.stderr).toContain("misconfig.profiles.lax.maxProbeRate: must be in (0, 50] requests per second (the floor's)")
  })
})
