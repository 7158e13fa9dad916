/**
 * The inventory's Docker source against a real engine: a corpus of containers made by the test
 * (users, capabilities, privileged and host namespaces, a volume and a read-only bind mount, a
 * port published on 127.0.0.1, owner and environment labels and variables, restart policies, a
 * health check, an exited one, an image whose metadata dates it to 2020) → the snapshot lists
 * each fact; then a stop, an addition and a label changed by recreating a container → the
 * second snapshot (incremental) equals a full one, and the diff names each change and nothing
 * else. Everything carries `shiftup.run=<id>` and is removed after.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Engine from "../../src/docker/engine.ts"
import * as Inventory from "../../src/inventory/index.ts"
import { ensureImageMap } from "../../src/testing/docker/images.ts"
import { freePort } from "../support/servers.ts"
import { docker, loadDatedImage, removeRun } from "../support/inventory-docker.ts"

const runId = `inv-${randomBytes(4).toString("hex")}`
const engine = Engine.make()
const label = `shiftup.run=${runId}`
const bind = mkdtempSync(join(tmpdir(), "shiftup-inv-bind-"))
let busybox = ""
let old = ""
let webPort = 0
let first: Inventory.Snapshot

const run = (name: string, ...args: ReadonlyArray<string>) => docker("run", "-d", "--name", `${runId}-${name}`, "--label", label, ...args)
// Created, not started: this engine runs inside a container that may not grant every capability.
const create = (name: string, ...args: ReadonlyArray<string>) => docker("create", "--name", `${runId}-${name}`, "--label", label, ...args)
/** A package reader stand-in (the real ones read the image's files): which images it was asked about. */
const reads: Array<string> = []
const packages: Inventory.PackageReader = ({ imageRef }) =>
  Effect.sync(() => {
    reads.push(imageRef)
    return [{ ecosystem: "Alpine", name: "busybox", version: imageRef === old ? "1.31.0-r0" : "1.36.1-r2", path: "lib/apk/db/installed" }]
  })
const take = (previous?: Inventory.Snapshot) => Effect.runPromise(Inventory.snapshot({ docker: { client: engine, labels: [label] }, packages, ...(previous === undefined ? {} : { previous }) }))
const asset = (s: Inventory.Snapshot, name: string) => {
  const a = s.assets.find((x) => x.id === `docker:local/${runId}-${name}`)
  if (a === undefined || a.kind !== "container") throw new Error(`no container ${name} in ${s.assets.map((x) => x.id).join(", ")}`)
  return a
}

beforeAll(async () => {
  busybox = (await Effect.runPromise(ensureImageMap(engine, { only: ["busybox"] }))).busybox ?? ""
  old = loadDatedImage(`shiftup-inv-old-${runId}`, "1", "2020-01-02T03:04:05Z", { "shiftup.run": runId, maintainer: "data-team@example.com" })
  webPort = await freePort()
  docker("volume", "create", "--label", label, `${runId}-vol`)
  run("web", "--user", "1000:1000", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "-p", `127.0.0.1:${webPort}:8080`, "--label", "owner=team-web", "--label", "env=staging", "--restart", "unless-stopped", busybox, "sleep", "3600")
  run("db", "-e", "NODE_ENV=production", "--label", "tier=database", "--mount", `type=volume,src=${runId}-vol,dst=/data`, "-v", `${bind}:/config:ro`, "--restart", "always", "--health-cmd", "true", "--health-interval", "1h", old)
  create("priv", "--privileged", "--pid", "host", "--ipc", "host", "--label", "version=1", "--restart", "on-failure:3", busybox, "sleep", "3600")
  run("done", busybox, "true")
  docker("wait", `${runId}-done`)
  first = await take()
}, 60_000)

afterAll(() => {
  removeRun(runId)
  rmSync(bind, { recursive: true, force: true })
  engine.close()
})

describe("docker inventory", () => {
  it("lists exactly the corpus, under stable ids", () => {
    expect(first.schema).toBe("shiftup.inventory/v1")
    expect(first.assets.map((a) => a.id)).toEqual(["done", "db", "priv", "web"].map((n) => `docker:local/${runId}-${n}`).sort())
    expect(first.sources[0]).toMatchObject({ kind: "docker", name: "local", assets: 4, inspected: 4 })
    // The package reader plugs in per distinct image, and its packages sit on each container.
    expect([...reads].sort()).toEqual([busybox, old].sort())
    expect(asset(first, "db").packages).toEqual([{ ecosystem: "Alpine", name: "busybox", version: "1.31.0-r0", path: "lib/apk/db/installed" }])
  })

  it("a user, dropped and added capabilities, a loopback port, an owner label and a staging label", () => {
    const web = asset(first, "web")
    expect(web.privileges).toEqual({ user: "1000:1000", privileged: false, capAdd: ["NET_BIND_SERVICE"], capDrop: ["ALL"], hostNetwork: false, hostPid: false, hostIpc: false, hostUts: false, hostUserns: false, readonlyRootfs: false, securityOpt: [] })
    expect(web.ports.published).toEqual([{ containerPort: 8080, protocol: "tcp", hostIp: "127.0.0.1", hostPort: webPort }])
    expect(web.owner).toEqual({ value: "team-web", source: "label owner" })
    expect(web.classification).toMatchObject({ environment: "staging", dataStore: false })
    expect(web.restartPolicy).toBe("unless-stopped")
    expect(web.state.status).toBe("running")
    expect(web.healthcheck).toBeNull()
    expect(web.image.ref).toBe(busybox)
  })

  it("a volume and a read-only bind mount, production by its variable, a data store by its tier, its owner from the image, its 2020 image", () => {
    const db = asset(first, "db")
    expect(db.mounts).toEqual([
      { type: "bind", source: bind, destination: "/config", readWrite: false },
      { type: "volume", source: expect.stringContaining(`${runId}-vol`), destination: "/data", name: `${runId}-vol`, readWrite: true },
    ])
    expect(db.classification).toMatchObject({ environment: "production", dataStore: true })
    expect(db.classification.signals).toContain("env-var NODE_ENV=production → production")
    expect(db.owner).toEqual({ value: "data-team@example.com", source: "image label maintainer" })
    expect(db.image).toMatchObject({ ref: old, created: "2020-01-02T03:04:05Z", tags: [old] })
    expect(db.restartPolicy).toBe("always")
    expect(db.healthcheck).toEqual(["CMD-SHELL", "true"])
    expect(db.state.health).toBe("starting")
  })

  it("privileged with the host's pid and ipc namespaces, no owner, created and not started; an exited one", () => {
    const priv = asset(first, "priv")
    expect(priv.privileges).toMatchObject({ user: "", privileged: true, hostPid: true, hostIpc: true, hostNetwork: false, hostUts: false })
    expect(priv.restartPolicy).toBe("on-failure")
    expect(priv.owner).toBeNull()
    expect(priv.classification.environment).toBe("unknown")
    expect(priv.state.status).toBe("created")
    expect(asset(first, "done").state.status).toBe("exited")
  })

  it("findings of the first snapshot alone: the 2020 image is aging, the ones without an owner are orphans", () => {
    const findings = Inventory.diff(first, first).findings.map((f) => `${f.kind} ${f.asset.split("/")[1]}`)
    expect(findings.sort()).toEqual([`image-aging ${runId}-db`, `orphan ${runId}-done`, `orphan ${runId}-priv`])
    expect(Inventory.diff(first, first).changes).toEqual([])
  })

  it("after a stop, an addition and a label changed by recreation: the diff names each change and nothing else; incremental equals full", async () => {
    docker("stop", "-t", "0", `${runId}-web`)
    run("new", "--label", "owner=team-new", busybox, "sleep", "3600")
    docker("rm", "-f", `${runId}-priv`)
    create("priv", "--privileged", "--pid", "host", "--ipc", "host", "--label", "version=2", "--restart", "on-failure:3", busybox, "sleep", "3600")
    reads.length = 0
    const second = await take(first)
    // Known image ids: their packages are not read again.
    expect(reads).toEqual([])
    const full = await take()
    expect(second.assets).toEqual(full.assets)
    // Only the stopped, the added and the recreated one were inspected; db and done came from the first snapshot.
    expect([second.sources[0]?.inspected, full.sources[0]?.inspected]).toEqual([3, 5])
    const drift = Inventory.diff(first, second, { rules: [{ name: "nothing new in the corpus", kinds: ["asset-added"] }] })
    const named = drift.changes.map((c) => `${c.kind} ${c.asset.split("/")[1]}`).sort()
    expect(named).toEqual([`asset-added ${runId}-new`, `labels-changed ${runId}-priv`, `port-closed ${runId}-web`, `recreated ${runId}-priv`, `state-changed ${runId}-web`].sort())
    expect(drift.changes.find((c) => c.kind === "labels-changed")?.detail).toBe("version: 1 → 2")
    expect(drift.changes.find((c) => c.kind === "state-changed")?.detail).toBe("running → exited")
    expect(drift.changes.find((c) => c.kind === "port-closed")?.detail).toBe(`no longer published 127.0.0.1:${webPort}->8080/tcp`)
    expect(drift.violations.map((v) => `${v.rule}: ${v.item.asset.split("/")[1]}`)).toEqual([`nothing new in the corpus: ${runId}-new`])
  }, 30_000)
})
