/**
 * Installed packages read out of an image without running it, through the engine's archive API:
 * a container is created from the image (never started), the known database paths are fetched
 * with `getArchive` (a tar of just that file or folder; a missing path is a 404 and simply
 * absent), and the container is removed — on success, failure and interruption alike.
 *
 * Why not `docker save` (`image.get()`)? It streams every layer of the image, the whole file
 * system and every file a later layer replaced, and needs whiteout handling to know what is
 * really there — its cost grows with the image (~25 ms per MB here, before parsing). The archive
 * API hands over only the files asked for, already merged: a path the image lacks answers in
 * ~10 ms, one it has in ~300 ms on this loaded 2-core machine (the engine runs a tar process per
 * read), all at once — so its cost depends on what is installed, not on the image's size.
 *
 * Read: `/etc/os-release` (the distribution and release), `/var/lib/dpkg/status` and the
 * distroless `/var/lib/dpkg/status.d/*`, `/lib/apk/db/installed`, at each app path
 * `package-lock.json` and `node_modules/**\/package.json`, the global `node_modules` folders,
 * and `*.dist-info/METADATA` under the usual Python `site-packages`/`dist-packages` folders.
 */
import { posix } from "node:path"
import { Effect } from "effect"
import type { DockerEngine } from "../../docker/model.ts"
import type { EngineCallError } from "../../docker/internal/call-error.ts"
import { engineError } from "../../docker/internal/errors.ts"
import { unpack } from "../../internal/tar.ts"
import { InvalidInventoryFile, type ShiftupError, TargetUnresolved } from "../../ShiftupError.ts"
import type { Location, Package } from "../Package.ts"
import { readApkInstalled } from "./apk.ts"
import { readDpkgStatus } from "./dpkg.ts"
import { isInstalledPackageJson, readInstalledPackageJson, readPackageLock } from "./npm.ts"
import { type OsRelease, parseOsRelease } from "./os-release.ts"
import { isDistInfoMetadata, readMetadata } from "./python.ts"

/** Where applications are usually installed in images. */
export const defaultAppPaths: ReadonlyArray<string> = ["/app", "/usr/src/app", "/srv", "/opt/app"]

/** Python minor versions whose `site-packages` folders are looked for. */
const pythonMinors = [6, 7, 8, 9, 10, 11, 12, 13, 14]

/** Where Python packages are usually installed: Debian's `dist-packages`, the official images' `/usr/local`, venvs at the app paths. */
export const defaultPythonPaths = (appPaths: ReadonlyArray<string>): ReadonlyArray<string> => [
  "/usr/lib/python3/dist-packages",
  ...["/usr/local/lib", "/usr/lib", "/opt/venv/lib", ...appPaths.map((a) => `${a}/.venv/lib`)].flatMap((prefix) => pythonMinors.map((m) => `${prefix}/python3.${m}/site-packages`)),
]

export interface ImageOptions {
  /** Application folders holding `package-lock.json` and `node_modules`; default `defaultAppPaths`. */
  readonly appPaths?: ReadonlyArray<string>
  /** Global `node_modules` folders; default `/usr/lib/node_modules` and `/usr/local/lib/node_modules`. */
  readonly globalNodeModules?: ReadonlyArray<string>
  /** Folders holding `*.dist-info`; default `defaultPythonPaths(appPaths)`. */
  readonly pythonPaths?: ReadonlyArray<string>
  /** Labels of the temporary container (e.g. `{ "shiftup.run": runId }`, so a reaper finds it if the process dies). */
  readonly labels?: Readonly<Record<string, string>>
  /** Archive reads at once; default 16 (a path the image lacks answers in ~10 ms, one it has costs the engine a tar process, ~300 ms on a loaded machine). */
  readonly concurrency?: number
}

export interface ImagePackages {
  readonly image: string
  /** From `/etc/os-release`, when the image has one. */
  readonly os?: OsRelease
  /** Every package found, once per ecosystem, name and version (the first place it was found). */
  readonly packages: ReadonlyArray<Package>
  /** The database files that were read (absolute paths in the image). */
  readonly files: ReadonlyArray<string>
}

interface File {
  readonly path: string
  readonly content: Buffer
}

/** Reads packages from parsed files (absolute paths in the image): the pure half of `fromImage`, usable on an unpacked root file system too. */
export const packagesFromFiles = (image: string | undefined, files: ReadonlyArray<File>): Omit<ImagePackages, "image"> => {
  const at = (path: string): Location => (image === undefined ? { path } : { image, path })
  const byPath = new Map(files.map((f) => [f.path, f.content.toString("utf8")]))
  const osPath = ["/etc/os-release", "/usr/lib/os-release"].find((p) => byPath.has(p))
  const os = osPath === undefined ? undefined : parseOsRelease(byPath.get(osPath) ?? "")
  const found: Array<Package> = []
  const read: Array<string> = osPath === undefined ? [] : [osPath]
  for (const [path, text] of byPath) {
    let got: ReadonlyArray<Package> | undefined
    if (path === "/var/lib/dpkg/status" || path.startsWith("/var/lib/dpkg/status.d/")) got = readDpkgStatus(text, os, at(path))
    else if (path === "/lib/apk/db/installed") got = readApkInstalled(text, os, at(path))
    else if (posix.basename(path) === "package-lock.json") got = readPackageLock(text, at(path))
    else if (isInstalledPackageJson(path)) got = [readInstalledPackageJson(text, at(path))].filter((p): p is Package => p !== undefined)
    else if (isDistInfoMetadata(path)) got = [readMetadata(text, at(path))].filter((p): p is Package => p !== undefined)
    if (got === undefined) continue
    read.push(path)
    found.push(...got)
  }
  const seen = new Set<string>()
  const packages = found.filter((p) => {
    const key = `${p.ecosystem}\u0000${p.name}\u0000${p.version}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  return { ...(os === undefined ? {} : { os }), packages, files: read.sort() }
}

/** Whether a fetched file is one a reader wants (the archive of a folder holds much else). */
const wanted = (path: string) =>
  path.endsWith("os-release") || path === "/var/lib/dpkg/status" || path.startsWith("/var/lib/dpkg/status.d/") || path === "/lib/apk/db/installed" || path.endsWith("/package-lock.json") || isInstalledPackageJson(path) || isDistInfoMetadata(path)

/**
 * Reads the packages installed in an image, without starting it.
 *
 * @example
 * const found = await Effect.runPromise(Packages.fromImage(Docker.Engine.make(), "registry.local/app:1.4", { labels: { "shiftup.run": runId } }))
 */
export const fromImage = (engine: DockerEngine, image: string, options: ImageOptions = {}): Effect.Effect<ImagePackages, ShiftupError> => {
  const appPaths = options.appPaths ?? defaultAppPaths
  const paths = [
    "/etc/os-release",
    "/usr/lib/os-release",
    "/var/lib/dpkg/status",
    "/var/lib/dpkg/status.d",
    "/lib/apk/db/installed",
    ...appPaths.flatMap((a) => [`${a}/package-lock.json`, `${a}/node_modules`]),
    ...(options.globalNodeModules ?? ["/usr/lib/node_modules", "/usr/local/lib/node_modules"]),
    ...(options.pythonPaths ?? defaultPythonPaths(appPaths)),
  ]
  const failed = (e: EngineCallError) => engineError(engine.address, e, (detail, cause) => new TargetUnresolved({ target: image, detail: `cannot read the image's files: ${detail}`, cause }))
  const fetch = (id: string, path: string): Effect.Effect<ReadonlyArray<File>, ShiftupError> =>
    engine.getArchive(id, path).pipe(
      Effect.map((tar) => unpack(tar).flatMap((e) => (e.type === "file" ? [{ path: posix.join(posix.dirname(path), e.path), content: e.content }] : [])).filter((f) => wanted(f.path))),
      // A path the image does not have is an answer, not a failure.
      Effect.catchIf((e) => e.status === 404, () => Effect.succeed([])),
      Effect.mapError(failed),
    )
  return Effect.acquireUseRelease(
    engine.create({ image, command: ["/shiftup-inventory-never-started"], labels: { "shiftup.inventory": "read", ...options.labels } }).pipe(Effect.mapError(failed)),
    (id) =>
      Effect.forEach(paths, (p) => fetch(id, p), { concurrency: options.concurrency ?? 16 }).pipe(
        Effect.flatMap((lists) =>
          Effect.suspend(() => {
            try {
              return Effect.succeed({ image, ...packagesFromFiles(image, lists.flat()) })
            } catch (e) {
              if (e instanceof InvalidInventoryFile) return Effect.fail(e)
              throw e
            }
          }),
        ),
      ),
    // A container that cannot be removed is reported, not forgotten: it carries the caller's labels for a reaper.
    (id) => engine.remove(id).pipe(Effect.mapError(failed)),
  )
}
