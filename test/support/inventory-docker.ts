/**
 * Docker objects for the inventory's tests and benchmark, made with the `docker` CLI (the options
 * the corpus needs — users, capabilities, mounts, host namespaces — are the CLI's own words):
 * every object labelled `shiftup.run=<id>` and removed by that label. An image "built" years ago
 * is loaded from an archive written here (a busybox layer and an image config with an old
 * `created`): nothing is pulled.
 */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { pack, type TarEntry } from "../../src/internal/tar.ts"

export const docker = (...args: ReadonlyArray<string>): string => execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim()

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex")

/** Loads `<repo>:<tag>` whose metadata says it was built at `created`, labelled with the run. */
export const loadDatedImage = (repo: string, tag: string, created: string, labels: Readonly<Record<string, string>>): string => {
  const busybox = readFileSync("/bin/busybox")
  const layer = pack([
    { path: "bin", type: "dir", mode: 0o755 },
    { path: "bin/busybox", type: "file", mode: 0o755, content: busybox },
    ...["sh", "sleep", "true", "nc"].map((a): TarEntry => ({ path: `bin/${a}`, type: "symlink", linkTo: "busybox" })),
    { path: "tmp", type: "dir", mode: 0o1777 },
    { path: "data", type: "dir", mode: 0o755 },
  ])
  const diffId = sha(layer)
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", created, config: { Cmd: ["sleep", "3600"], Labels: labels }, rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] }, history: [{ created }] }),
  )
  const configName = `${sha(config)}.json`
  const manifest = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [`${repo}:${tag}`], Layers: [`${diffId}/layer.tar`] }]))
  const archive = pack([
    { path: configName, type: "file", mode: 0o644, content: config },
    { path: diffId, type: "dir", mode: 0o755 },
    { path: `${diffId}/layer.tar`, type: "file", mode: 0o644, content: layer },
    { path: "manifest.json", type: "file", mode: 0o644, content: manifest },
  ])
  execFileSync("docker", ["load"], { input: archive, stdio: ["pipe", "pipe", "pipe"] })
  return `${repo}:${tag}`
}

/** Removes every container, volume, network and image labelled `shiftup.run=<runId>`. */
export const removeRun = (runId: string): void => {
  const filter = `label=shiftup.run=${runId}`
  const containers = docker("ps", "-aq", "--filter", filter).split("\n").filter((x) => x !== "")
  for (let i = 0; i < containers.length; i += 100) docker("rm", "-fv", ...containers.slice(i, i + 100))
  const volumes = docker("volume", "ls", "-q", "--filter", filter).split("\n").filter((x) => x !== "")
  if (volumes.length > 0) docker("volume", "rm", "-f", ...volumes)
  const networks = docker("network", "ls", "-q", "--filter", filter).split("\n").filter((x) => x !== "")
  if (networks.length > 0) docker("network", "rm", ...networks)
  const images = docker("images", "-q", "--filter", filter).split("\n").filter((x) => x !== "")
  if (images.length > 0) docker("rmi", "-f", ...new Set(images))
}
