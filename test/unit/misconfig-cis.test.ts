/**
 * The edges of the CIS v1.6.0 container rules and the data-store exposure rules, on facts written
 * here (the integration tests prove each on a real container or server): restart policies
 * either side of CIS 5.15's five retries, SELinux options the engine adds itself, Redis binds
 * inside and outside loopback, and a snapshot older than a fact is "not evaluated", never passed.
 */
import { describe, expect, it } from "vitest"
import * as Inventory from "../../src/inventory/index.ts"

const { Misconfig } = Inventory
const lab = { environment: "lab", effective: "lab", signals: [], dataStore: false } as const

const container = (over: Partial<Inventory.ContainerAsset> = {}): Inventory.ContainerAsset => ({
  id: "docker:local/app",
  kind: "container",
  engine: "local",
  name: "app",
  containerId: "app-id",
  created: "2026-01-01T00:00:00Z",
  image: { ref: "app:1", id: "sha256:aaaa", tags: [], digests: [], created: "2026-01-01T00:00:00Z" },
  labels: {},
  owner: null,
  classification: lab,
  state: { status: "running", startedAt: "", finishedAt: "", restartCount: 0, health: "healthy" },
  ports: { exposed: [], published: [] },
  networkMode: "app",
  networks: [{ name: "app", ipv4: "172.20.0.2", aliases: [] }],
  mounts: [],
  privileges: { user: "1000", privileged: false, capAdd: [], capDrop: ["ALL"], hostNetwork: false, hostPid: false, hostIpc: false, hostUts: false, hostUserns: false, readonlyRootfs: true, securityOpt: ["no-new-privileges"] },
  restartPolicy: "no",
  restartMaxRetries: 0,
  healthcheck: ["CMD", "true"],
  program: "node",
  devices: [],
  ulimits: [],
  cgroupParent: "",
  ...over,
})

const redis = (exposure: Inventory.EndpointAsset["redis"], evidence = 'answered with the RESP line "+PONG"'): Inventory.EndpointAsset => ({
  id: "tcp:127.0.0.1:6379",
  kind: "endpoint",
  host: "127.0.0.1",
  address: "127.0.0.1",
  port: 6379,
  fingerprint: { engine: "redis", evidence },
  classification: lab,
  owner: null,
  tls: null,
  http: null,
  ...(exposure === undefined ? {} : { redis: exposure }),
})

const run = (asset: Inventory.Asset, rule: string) => {
  const e = Misconfig.evaluate([asset], { rules: [rule] })
  return e.notEvaluated.length > 0 ? "not evaluated" : e.findings.map((f) => f.evidence.join("; ")).join(" | ")
}

describe("CIS 5.15 restart policy", () => {
  it.each([
    ["no", 0, ""],
    ["on-failure", 5, ""],
    ["on-failure", 1, ""],
    ["on-failure", 6, "RestartPolicy is on-failure with a maximum of 6 retries (at most 5)"],
    ["on-failure", 0, "RestartPolicy is on-failure with no maximum retries (at most 5)"],
    ["always", 0, "RestartPolicy is always"],
    ["unless-stopped", 0, "RestartPolicy is unless-stopped"],
  ] as const)("%s:%d → %j", (policy, retries, evidence) => {
    expect(run(container({ restartPolicy: policy, restartMaxRetries: retries }), "container.restart-policy")).toBe(evidence)
  })
})

describe("a snapshot older than the fact: not evaluated", () => {
  const { restartMaxRetries: _r, program: _p, devices: _d, ulimits: _u, cgroupParent: _c, ...old } = container({ restartPolicy: "on-failure" })
  const { hostUserns: _h, ...oldPrivileges } = old.privileges
  it.each(["container.restart-policy", "container.sshd", "container.host-devices", "container.ulimit-override", "container.cgroup-parent", "container.host-userns"])("%s", (rule) => {
    expect(run({ ...old, privileges: oldPrivileges }, rule)).toBe("not evaluated")
  })
})

describe("CIS 5.3 SELinux", () => {
  it.each([
    [["label=disable"], {}, "SecurityOpt has label=disable"],
    [["label:type:unconfined_t"], {}, "SecurityOpt has label:type:unconfined_t"],
    [["label=type:container_t", "label=level:s0:c1,c2"], {}, ""],
    // The engine adds label=disable itself to these; their own rules report them.
    [["label=disable"], { privileged: true }, ""],
    [["label=disable"], { hostPid: true }, ""],
  ] as const)("%j %j → %j", (securityOpt, extra, evidence) => {
    const c = container()
    expect(run(container({ privileges: { ...c.privileges, ...extra, securityOpt } }), "container.selinux-disabled")).toBe(evidence)
  })
})

describe("CIS 5.7 sshd, 5.30 default bridge", () => {
  it.each([
    ["sshd", "the container starts sshd"],
    ["dropbear", "the container starts dropbear"],
    ["sshd-wrapper.sh", ""],
    ["sh", ""],
  ])("program %s → %j", (program, evidence) => expect(run(container({ program }), "container.sshd")).toBe(evidence))

  it("only the network named bridge is the default bridge", () => {
    expect(run(container({ networkMode: "default", networks: [{ name: "bridge", ipv4: "172.17.0.2", aliases: [] }] }), "container.default-bridge")).toBe("attached to the default bridge network")
    expect(run(container({ networkMode: "host", networks: [{ name: "host", ipv4: "", aliases: [] }] }), "container.default-bridge")).toBe("")
  })
})

describe("Redis protected mode", () => {
  it.each([
    [{ protectedMode: "no", bind: "" }, 'protected-mode no, bind "": every interface without authentication'],
    [{ protectedMode: "no", bind: "* -::*" }, 'protected-mode no, bind "* -::*": *, ::* without authentication'],
    [{ protectedMode: "no", bind: "0.0.0.0" }, 'protected-mode no, bind "0.0.0.0": 0.0.0.0 without authentication'],
    [{ protectedMode: "no", bind: "127.0.0.1 -::1" }, ""],
    [{ protectedMode: "no", bind: "127.0.0.2 localhost" }, ""],
    [{ protectedMode: "yes", bind: "0.0.0.0" }, ""],
    [{ error: "CONFIG GET protected-mode: ERR unknown command 'CONFIG'" }, "not evaluated"],
    [undefined, "not evaluated"],
  ] as const)("%j → %j", (exposure, evidence) => expect(run(redis(exposure), "datastore.redis-protected-mode-off")).toBe(evidence))

  it("a Redis that needs a password is not asked and passes: protected mode does not act there", () => {
    expect(run(redis(undefined, 'answered with the RESP line "-NOAUTH Authentication required."'), "datastore.redis-protected-mode-off")).toBe("")
  })
})
