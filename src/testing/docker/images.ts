/**
 * The Docker lab's images, built without a registry: a busybox root filesystem packed in-process
 * (the host's static `/bin/busybox` plus applet links) and imported with the engine's image
 * import, one image per lab service. Builds are idempotent: every image carries the sha256 of its
 * inputs as the label `shiftup.image-hash`, and an image with that label is never built again.
 *
 * Images are shared by every run, so they carry `shiftup.lab=1` but never `shiftup.run`: the
 * reaper, which removes what a run left behind, leaves them alone.
 */
import { createHash } from "node:crypto"
import { existsSync, readFileSync, realpathSync } from "node:fs"
import { execFileSync } from "node:child_process"
import { Effect } from "effect"
import type { DockerEngine, EngineCallError } from "../../docker/model.ts"
import { pack, type TarEntry } from "../../internal/tar.ts"
import * as S from "./scripts.ts"

/** The lab's images; `session-helper` only where the host has `/usr/bin/redis-server`. */
export type LabImageName = "busybox" | "auth" | "gateway" | "detector" | "rogue" | "session-helper"

export interface DockerLabError {
  readonly _tag: "DockerLabError"
  readonly message: string
}

export const labError = (message: string): DockerLabError => ({ _tag: "DockerLabError", message })

export const busyboxPath = "/bin/busybox"
export const redisServerPath = "/usr/bin/redis-server"

/** Bump to rebuild every image (the hash covers it). */
const formatVersion = "shiftup-lab-image/1"

/** busybox applets linked into every image. */
export const applets: ReadonlyArray<string> = [
  "sh", "ash", "sleep", "usleep", "nc", "httpd", "cat", "echo", "printf", "ls", "kill", "ps", "grep", "sed", "awk", "date", "wc",
  "true", "false", "env", "hostname", "ip", "ping", "head", "tail", "cut", "tr", "sort", "uniq", "mkdir", "rm", "mv", "cp", "touch",
  "chmod", "ln", "id", "test", "[", "expr", "seq", "timeout", "base64", "which", "netstat", "nslookup", "uname", "pidof", "tee",
  "xargs", "find", "top", "free", "stat", "readlink", "basename", "dirname", "yes", "mktemp",
]

export interface ImageSpec {
  readonly name: LabImageName
  /** `shiftup-lab/<name>` (`session-helper` is the innocent name of a Redis server). */
  readonly repo: string
  /** sha256 (hex) of everything the image is made of. */
  readonly hash: string
  /** `repo:<first 12 hex of hash>`: the exact image a lab runs. */
  readonly ref: string
  readonly changes: ReadonlyArray<string>
  /** Builds the root filesystem archive (only when the image is missing). */
  readonly tar: () => Buffer
}

const file = (path: string, content: string | Buffer, mode = 0o644): TarEntry => ({ path, type: "file", mode, content: typeof content === "string" ? Buffer.from(content) : content })
const dir = (path: string, mode = 0o755): TarEntry => ({ path, type: "dir", mode })
const exe = (path: string, content: string) => file(path, content, 0o755)

const baseEntries = (busybox: Buffer): Array<TarEntry> => [
  dir("bin"),
  dir("etc"),
  dir("lib"),
  dir("app"),
  dir("www"),
  dir("var"),
  dir("data"),
  dir("proc"),
  dir("sys"),
  dir("dev"),
  dir("root", 0o700),
  dir("tmp", 0o1777),
  file("bin/busybox", busybox, 0o755),
  ...applets.map((a): TarEntry => ({ path: `bin/${a}`, type: "symlink", linkTo: "busybox" })),
  dir("usr"),
  { path: "usr/bin", type: "symlink", linkTo: "../bin" },
  file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"),
  file("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
  file("lib/http.sh", S.httpLib),
  exe("app/healthcheck", S.healthCheck),
]

const label = (k: string, v: string) => `LABEL ${k}=${v}`

const sha256 = (...parts: ReadonlyArray<string | Buffer>) => {
  const h = createHash("sha256")
  for (const p of parts) {
    const b = typeof p === "string" ? Buffer.from(p) : p
    h.update(`${b.length}:`)
    h.update(b)
  }
  return h.digest("hex")
}

const entryDigest = (entries: ReadonlyArray<TarEntry>) =>
  sha256(...entries.flatMap((e) => [e.path, e.type, String(e.mode ?? ""), e.linkTo ?? "", e.content ?? Buffer.alloc(0)]))

const spec = (name: LabImageName, entries: () => ReadonlyArray<TarEntry>, inputsDigest: string, changes: ReadonlyArray<string>): ImageSpec => {
  const repo = `shiftup-lab/${name}`
  const hash = sha256(formatVersion, name, inputsDigest, ...changes)
  const allChanges = [...changes, label("shiftup.lab", "1"), label("shiftup.image-hash", hash), label("shiftup.image", name)]
  return { name, repo, hash, ref: `${repo}:${hash.slice(0, 12)}`, changes: allChanges, tar: () => pack(entries()) }
}

/** The shared libraries `ldd` lists for a binary (with the loader), as absolute paths. */
const sharedLibraries = (binary: string): ReadonlyArray<string> => {
  const out = execFileSync("ldd", [binary], { encoding: "utf8" })
  const libs = new Set<string>()
  for (const line of out.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s*\(/.exec(line)
    if (m?.[1] !== undefined) libs.add(m[1])
  }
  return [...libs].sort()
}

const redisSpec = (base: ReadonlyArray<TarEntry>, baseDigest: string): ImageSpec => {
  const binary = readFileSync(realpathSync(redisServerPath))
  const libs = sharedLibraries(redisServerPath).map((path) => ({ path, content: readFileSync(realpathSync(path)) }))
  const dirs = [...new Set(libs.flatMap((l) => {
    const parts = l.path.split("/").filter((p) => p !== "")
    return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"))
  }))].filter((d) => !base.some((e) => e.path === d)).sort()
  const extra: Array<TarEntry> = [...dirs.map((d) => dir(d)), file("bin/sessiond", binary, 0o755), ...libs.map((l) => file(l.path.slice(1), l.content, 0o755))]
  return spec("session-helper", () => [...base, ...extra], sha256(baseDigest, entryDigest(extra)), [
    'CMD ["/bin/sessiond", "--bind", "0.0.0.0", "--port", "7000", "--protected-mode", "no", "--save", ""]',
    "WORKDIR /data",
    "EXPOSE 7000",
  ])
}

/** Whether the host can build the `session-helper` image (a Redis server under an innocent name). */
export const hasRedisServer = (): boolean => existsSync(redisServerPath)

/**
 * The specs of every image this host can build. Fails naming the apt package when busybox is
 * missing.
 */
export const imageSpecs: Effect.Effect<ReadonlyArray<ImageSpec>, DockerLabError> = Effect.try({
  try: () => {
    if (!existsSync(busyboxPath)) throw new Error("missing")
    const busybox = readFileSync(busyboxPath)
    const base = baseEntries(busybox)
    const baseDigest = entryDigest(base)
    const image = (name: LabImageName, files: ReadonlyArray<TarEntry>, changes: ReadonlyArray<string>) =>
      spec(name, () => [...base, ...files], sha256(baseDigest, entryDigest(files)), changes)
    const specs: Array<ImageSpec> = [
      image("busybox", [], ['CMD ["/bin/sh"]']),
      image("auth", [exe("app/start", S.authStart), file("www/check", "ok\n"), file("www/health", "ok\n")], ['CMD ["/app/start"]', "EXPOSE 80", "ENV AUTH_USER=admin AUTH_PASSWORD=demo-admin-token"]),
      image("gateway", [exe("app/start", S.gatewayStart), exe("app/handle", S.gatewayHandler)], ['CMD ["/app/start"]', "EXPOSE 80", "ENV AUTH_HOST=auth AUTH_PORT=80 AUTH_TIMEOUT=0.5 FAIL_OPEN_ON_TIMEOUT=0"]),
      image("detector", [exe("app/start", S.detectorStart), exe("app/handle", S.detectorHandler), exe("app/scan", S.detectorScan)], ['CMD ["/app/start"]', "EXPOSE 80", 'ENV WATCH_PORTS="4444 6666 31337" SCAN_INTERVAL=0.2']),
      image("rogue", [exe("app/start", S.rogueStart), exe("app/banner", S.rogueBanner)], ['CMD ["/app/start"]', "ENV PORT=4444"]),
    ]
    if (hasRedisServer()) specs.push(redisSpec(base, baseDigest))
    return specs
  },
  catch: (e) =>
    labError(
      existsSync(busyboxPath)
        ? `cannot read the lab's image inputs: ${e instanceof Error ? e.message : String(e)}`
        : `${busyboxPath} is missing: the Docker lab's images are built from a static busybox. Install it with \`apt-get install -y busybox-static\`.`,
    ),
})

export interface EnsureOptions {
  /** Only these images (default: all this host can build). */
  readonly only?: ReadonlyArray<LabImageName>
  /** Called once per image with whether it was built or already present. */
  readonly onImage?: (spec: ImageSpec, built: boolean, ms: number) => void
}

/** Builds one image unless an image with its hash label exists; makes sure `:latest` points to it. */
const ensureOne = (engine: DockerEngine, s: ImageSpec): Effect.Effect<boolean, EngineCallError> =>
  Effect.gen(function* () {
    const existing = yield* engine.images([`shiftup.image-hash=${s.hash}`])
    const found = existing.find((i) => i.tags.includes(s.ref)) ?? existing[0]
    if (found === undefined) {
      yield* engine.importImage(s.tar(), s.repo, s.hash.slice(0, 12), s.changes)
      yield* engine.tag(s.ref, s.repo, "latest")
      return true
    }
    if (!found.tags.includes(s.ref)) yield* engine.tag(found.id, s.repo, s.hash.slice(0, 12))
    if (!found.tags.includes(`${s.repo}:latest`)) yield* engine.tag(found.id, s.repo, "latest")
    return false
  })

/**
 * Makes sure every lab image exists (building the missing ones), and returns their exact
 * references (`shiftup-lab/<name>:<hash12>`), in the order of `imageSpecs`.
 *
 * @example
 * const refs = yield* ensureImages(DockerEngine.make())
 */
export const ensureImages = (engine: DockerEngine, options: EnsureOptions = {}): Effect.Effect<ReadonlyArray<string>, DockerLabError | EngineCallError> =>
  Effect.map(ensureImageMap(engine, options), (m) => Object.values(m))

/** Like `ensureImages`, keyed by image name. */
export const ensureImageMap = (engine: DockerEngine, options: EnsureOptions = {}): Effect.Effect<Partial<Record<LabImageName, string>>, DockerLabError | EngineCallError> =>
  Effect.gen(function* () {
    const specs = (yield* imageSpecs).filter((s) => options.only === undefined || options.only.includes(s.name))
    const missing = options.only?.filter((n) => !specs.some((s) => s.name === n)) ?? []
    if (missing.includes("session-helper")) return yield* Effect.fail(labError(`the session-helper image needs ${redisServerPath}: install it with \`apt-get install -y redis-server\``))
    const out: Partial<Record<LabImageName, string>> = {}
    for (const s of specs) {
      const started = performance.now()
      const built = yield* ensureOne(engine, s)
      options.onImage?.(s, built, performance.now() - started)
      out[s.name] = s.ref
    }
    return out
  })
