/**
 * Every `docker.*` compensation kind is a full compensator spec (schema, verify, settle time),
 * and its schema refuses records a damaged or hand-written ledger could carry: a record that
 * does not decode is never replayed by `recover`. Pure: no engine.
 */
import { Exit, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { specOf, type Compensation } from "../../../src/Compensation.ts"
import * as Docker from "../../../src/docker/index.ts"
import { pack } from "../../../src/internal/tar.ts"

const id = (c: string) => c.repeat(64)
const base = { description: "undo it", engine: "unix:///var/run/docker.sock", target: "auth", containers: [id("a")] }
const archive = (entries: ReadonlyArray<{ readonly path: string }>) => pack(entries.map((e) => ({ path: e.path, type: "file" as const, content: Buffer.from("x") }))).toString("base64")

/** One well-formed record of every kind, shaped as the faults ledger them. */
const valid: ReadonlyArray<Compensation> = [
  { kind: "docker.unpause", ...base },
  { kind: "docker.start", ...base, paused: [], capturedAt: 1_700_000_000_000, settleMs: 12_000 },
  { kind: "docker.update", ...base, saved: [{ id: id("a"), name: "auth", original: { memory: 0, memorySwap: 0 }, restore: [{ memory: 9_223_372_036_854_771_712, memorySwap: 9_223_372_036_854_771_712 }] }] },
  { kind: "docker.archive-restore", ...base, path: "/etc/app.conf", dir: "/etc", files: [{ id: id("a"), name: "auth", size: 1, mode: 0o644, archive: archive([{ path: "app.conf" }]) }] },
  { kind: "docker.remove-labelled", ...base, containers: [], labels: { "shiftup.run": "20261207T120000-abcdef", "shiftup.fault": "rogue listener 4444 next to auth" } },
  {
    kind: "docker.reconnect",
    ...base,
    endpoints: [{ container: id("a"), name: "auth", network: "shop", networkId: id("b"), aliases: ["auth"], links: [], ipamIpv4: "", ipamIpv6: "", driverOpts: {} }],
  },
  {
    kind: "docker.iptables-remove",
    ...base,
    tag: "shiftup:20261207T120000-abcdef:partition_auth",
    tools: ["iptables"],
    backend: "nf_tables",
    rules: [["iptables", "INPUT", "!", "-i", "lo", "-j", "DROP"]],
    namespaces: [{ container: id("a"), name: "auth", pid: 4242, netns: 4026532180 }],
  },
  {
    kind: "docker.tc-restore",
    ...base,
    handle: "1a2b:",
    rateBits: 1_000_000,
    burst: 4096,
    latencyMs: 50,
    originals: [{ container: id("a"), name: "auth", dev: "eth0", kind: "noqueue", handle: "0:" }],
    namespaces: [{ container: id("a"), name: "auth", pid: 4242, netns: 4026532180 }],
  },
]

const spec = (kind: string) => specOf(Docker.compensators[kind as keyof typeof Docker.compensators]!)
const decodes = (c: unknown, kind = (c as Compensation).kind) => Exit.isSuccess(Schema.decodeUnknownExit(spec(kind).schema as Schema.Codec<unknown>)(c, { onExcessProperty: "error" }))

describe("docker compensation kinds", () => {
  it("each has a schema, a check of the world (verify) and a settle time", () => {
    const kinds = Object.keys(Docker.compensators).sort()
    expect(kinds).toEqual(valid.map((c) => c.kind).sort())
    for (const kind of kinds) {
      const s = spec(kind)
      expect(s.schema, kind).toBeDefined()
      expect(typeof s.verify, kind).toBe("function")
      expect(s.settleMs, kind).toBeGreaterThan(0)
    }
  })

  it("well-formed records decode", () => {
    for (const c of valid) expect(decodes(c), c.kind).toBe(true)
  })

  const forged: ReadonlyArray<readonly [string, Compensation]> = [
    ["a container that is not a full id", { ...valid[0]!, containers: ["auth"] }],
    ["an engine that is not a docker address", { ...valid[0]!, engine: "http://203.0.113.9:2375" }],
    ["another kind's record under this kind", { ...valid[0]!, kind: "docker.start" }],
    ["a settle time over ten minutes", { ...valid[1]!, settleMs: 3_600_000 }],
    ["an update of a setting no squeeze touches", { ...valid[2]!, saved: [{ id: id("a"), name: "auth", original: {}, restore: [{ privileged: 1 }] }] }],
    ["an archive holding another file than the path", { ...valid[3]!, files: [{ id: id("a"), name: "auth", size: 1, mode: 0o644, archive: archive([{ path: "passwd" }]) }] }],
    ["an archive holding two files", { ...valid[3]!, files: [{ id: id("a"), name: "auth", size: 1, mode: 0o644, archive: archive([{ path: "app.conf" }, { path: "other" }]) }] }],
    ["a folder that is not the path's", { ...valid[3]!, dir: "/" }],
    ["a relative path", { ...valid[3]!, path: "etc/app.conf", dir: "etc" }],
    ["labels naming anyone's containers", { ...valid[4]!, labels: { app: "billing" } }],
    ["no labels at all", { ...valid[4]!, labels: {} }],
    ["an iptables record without the namespaces it entered", Object.fromEntries(Object.entries(valid[6]!).filter(([k]) => k !== "namespaces")) as Compensation],
    ["a rule tag that is not shiftup's", { ...valid[6]!, tag: "DOCKER-USER" }],
    ["another program than iptables", { ...valid[6]!, tools: ["sh"] }],
    ["a namespace without an identity", { ...valid[7]!, namespaces: [{ container: id("a"), name: "auth", pid: 4242 }] }],
    ["a qdisc handle that is not one", { ...valid[7]!, handle: "root" }],
  ]
  it.each(forged)("refuses %s", (_, c) => {
    expect(decodes(c)).toBe(false)
  })
})
