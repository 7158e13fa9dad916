/**
 * Facts the watch job tests give their jobs: an inventory snapshot with one container (privileged
 * or not, with one npm package at a chosen version) and an OSV advisory for that package.
 */
const at = "2026-12-01T00:00:00.000Z"
export const snapshotOf = (privileged: boolean, lodash: string) => ({
  schema: "shiftup.inventory/v1",
  shiftup: "test",
  takenAt: at,
  sources: [{ kind: "docker", name: "local", assets: 1, ms: 1 }],
  assets: [
    {
      id: "docker:local/app",
      kind: "container",
      engine: "local",
      name: "app",
      containerId: "app-id",
      created: at,
      image: { ref: "app:1", id: "sha256:aaaa", tags: ["app:1"], digests: [], created: at },
      labels: {},
      owner: { value: "team-a", source: "label owner" },
      classification: { environment: "staging", effective: "staging", signals: [], dataStore: false },
      state: { status: "running", startedAt: at, finishedAt: "", restartCount: 0, health: "healthy" },
      ports: { exposed: [8080], published: [] },
      networkMode: "bridge",
      networks: [],
      mounts: [],
      privileges: { user: "1000", privileged, capAdd: [], capDrop: ["ALL"], hostNetwork: false, hostPid: false, hostIpc: false, hostUts: false, readonlyRootfs: true, securityOpt: ["no-new-privileges"] },
      restartPolicy: "no",
      healthcheck: ["CMD", "true"],
      limits: { memory: 1 << 26, nanoCpus: 5e8, cpuQuota: 0, cpuShares: 0, pidsLimit: 64 },
      env: [],
      packages: [{ ecosystem: "npm", name: "lodash", version: lodash, path: "/app/package-lock.json" }],
    },
  ],
})

export const advisory = {
  id: "GHSA-test-lodash",
  modified: "2024-01-01T00:00:00Z",
  summary: "Prototype pollution in lodash",
  aliases: ["CVE-2021-23337"],
  affected: [{ package: { ecosystem: "npm", name: "lodash" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "4.17.21" }] }] }],
  database_specific: { severity: "HIGH" },
}
