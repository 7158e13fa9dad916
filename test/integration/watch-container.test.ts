/**
 * The repository's deployment files, used as docs/continuous.md says. The Dockerfile
 * (deploy/watch/Dockerfile) is built by the real engine from a LOCAL base — nothing can be
 * pulled here: busybox and the Node 24 binary the tests run on, with its shared libraries,
 * imported as an image — around a project holding this checkout as `node_modules/shiftup`; the
 * container runs `shiftup watch` (a misconfiguration job over a snapshot file) as an
 * unprivileged user, answers /healthz and /metrics through a port published on 127.0.0.1, and
 * stops cleanly on `docker stop`. The systemd unit passes `systemd-analyze verify`, and the docs
 * show exactly the files in deploy/watch/.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { pack, type TarEntry } from "../../src/internal/tar.ts"
import { docker, removeRun } from "../support/inventory-docker.ts"
import { repoRoot, tempDir, useProcessCleanup } from "../support/proc-cli.ts"
import { freePort } from "../support/servers.ts"
import { snapshotOf } from "../support/watch-facts.ts"

useProcessCleanup()

const runId = `watchbox-${randomBytes(4).toString("hex")}`
afterAll(() => removeRun(runId))

/** An image with busybox and the Node binary running these tests (its libraries at their paths), labelled with the run. */
const importNodeBase = (): string => {
  const node = realpathSync(process.execPath)
  const libs = execFileSync("ldd", [node], { encoding: "utf8" })
    .split("\n")
    .flatMap((l) => {
      const m = /(\/\S+) \(0x/.exec(l)
      return m === null ? [] : [m[1] as string]
    })
  const dirs = new Set<string>(["bin", "tmp", "etc", "usr", "usr/local", "usr/local/bin", "var", "var/lib"])
  for (const lib of libs) for (let d = dirname(lib).slice(1); d !== "" && d !== "."; d = dirname(d)) dirs.add(d)
  const entries: Array<TarEntry> = [
    ...[...dirs].sort().map((d): TarEntry => ({ path: d, type: "dir", mode: d === "tmp" ? 0o1777 : 0o755 })),
    { path: "bin/busybox", type: "file", mode: 0o755, content: readFileSync("/bin/busybox") },
    ...["sh", "mkdir", "chown", "ls", "cat"].map((a): TarEntry => ({ path: `bin/${a}`, type: "symlink", linkTo: "busybox" })),
    { path: "etc/passwd", type: "file", mode: 0o644, content: Buffer.from("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n") },
    { path: "usr/local/bin/node", type: "file", mode: 0o755, content: readFileSync(node) },
    ...libs.map((lib): TarEntry => ({ path: lib.slice(1), type: "file", mode: 0o755, content: readFileSync(realpathSync(lib)) })),
  ]
  const ref = `shiftup-test/node-base:${runId}`
  execFileSync("docker", ["import", "--change", `LABEL shiftup.run=${runId}`, "--change", "ENV PATH=/usr/local/bin:/bin", "-", ref], { input: pack(entries), stdio: ["pipe", "pipe", "pipe"], maxBuffer: 1 << 30 })
  return ref
}

/** Every package `names` needs at run time, from this checkout's node_modules (a flat install). */
const closure = (names: ReadonlyArray<string>): ReadonlySet<string> => {
  const seen = new Set<string>()
  const visit = (name: string) => {
    if (seen.has(name)) return
    const manifest = join(repoRoot, "node_modules", name, "package.json")
    if (!existsSync(manifest)) return // an optional dependency of another platform
    seen.add(name)
    const p = JSON.parse(readFileSync(manifest, "utf8")) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }
    for (const d of Object.keys({ ...p.dependencies, ...p.optionalDependencies })) visit(d)
  }
  names.forEach(visit)
  return seen
}

/**
 * A user's project: the config, a snapshot to judge, and `node_modules` — shiftup (this checkout,
 * run from source: linked from outside node_modules, where Node strips types) and what it needs.
 */
const project = (): string => {
  const dir = tempDir("shiftup-watch-box-")
  const own = join(dir, "shiftup-checkout")
  for (const part of ["bin", "src", "package.json", "tsconfig.json"]) cpSync(join(repoRoot, part), join(own, part), { recursive: true })
  const manifest = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { dependencies: Record<string, string> }
  // Without declarations and source maps: a quarter of the bytes, nothing a run reads.
  const runtime = (file: string) => !/\.(d\.[cm]?ts|map)$/.test(file)
  for (const name of closure([...Object.keys(manifest.dependencies), "effect"])) cpSync(join(repoRoot, "node_modules", name), join(dir, "node_modules", name), { recursive: true, dereference: true, filter: runtime })
  symlinkSync("../shiftup-checkout", join(dir, "node_modules", "shiftup"))
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "watch-box", private: true, type: "module" }))
  writeFileSync(join(dir, "snapshot.json"), JSON.stringify(snapshotOf(true, "4.17.21")))
  writeFileSync(
    join(dir, "shiftup.config.ts"),
    `import { defineConfig } from "shiftup"
export default defineConfig({
  watch: { listen: "0.0.0.0", port: 9464, jobs: [{ name: "misconfig", misconfig: { from: { snapshot: "snapshot.json" } }, every: "1 second" }] },
})
`,
  )
  mkdirSync(join(dir, ".shiftup"))
  return dir
}

const dockerfile = join(repoRoot, "deploy", "watch", "Dockerfile")
const unit = join(repoRoot, "deploy", "watch", "shiftup-watch.service")

describe("shiftup watch deployed", () => {
  it("in a container built by the repository's Dockerfile from a local base: /healthz and /metrics answer, docker stop is a clean stop", async () => {
    const base = importNodeBase()
    const context = project()
    const image = `shiftup-test/watch:${runId}`
    execFileSync("docker", ["build", "-q", "--build-arg", `BASE=${base}`, "--label", `shiftup.run=${runId}`, "-f", dockerfile, "-t", image, context], { env: { ...process.env, DOCKER_BUILDKIT: "0" }, stdio: ["ignore", "pipe", "pipe"] })
    const port = await freePort()
    const id = docker("run", "-d", "--label", `shiftup.run=${runId}`, "-p", `127.0.0.1:${port}:9464`, image)
    const healthz = async () => {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`)
        return r.status === 200 ? ((await r.json()) as { jobs: Record<string, { lastOutcome?: string }> }) : undefined
      } catch {
        return undefined
      }
    }
    // Up to 30 s: the container's Node compiles shiftup's sources on this first start.
    let health: Awaited<ReturnType<typeof healthz>>
    for (let i = 0; i < 300 && health?.jobs["misconfig"]?.lastOutcome !== "ok"; i++) {
      health = await healthz()
      if (health?.jobs["misconfig"]?.lastOutcome !== "ok") await new Promise((r) => setTimeout(r, 100))
    }
    expect(health?.jobs["misconfig"]?.lastOutcome, docker("logs", id)).toBe("ok")
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    expect(metrics).toContain('shiftup_watch_open_findings{severity="critical",rule="misconfig/container.privileged"} 1')
    // The unprivileged user of the Dockerfile, and the state on its volume.
    expect(docker("exec", id, "node", "-e", "console.log(process.getuid())")).toBe("65534")
    docker("stop", "-t", "20", id)
    expect(docker("inspect", "-f", "{{.State.ExitCode}}", id)).toBe("0")
    const logs = docker("logs", id)
    expect(logs).toContain('"event":"watch.stopped"')
    expect(logs).toContain('"clean":true')
  }, 180_000)

  it("as a systemd service: the unit in deploy/watch verifies, and docs/continuous.md shows it and the Dockerfile as they are", () => {
    execFileSync("systemd-analyze", ["verify", unit], { stdio: ["ignore", "pipe", "pipe"] })
    const docs = readFileSync(join(repoRoot, "docs", "continuous.md"), "utf8")
    expect(docs).toContain(readFileSync(unit, "utf8").trim())
    expect(docs).toContain(readFileSync(dockerfile, "utf8").trim())
  })
})
