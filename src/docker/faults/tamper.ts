/**
 * File tamper (`destroy`, lab only): overwrite a file in a container after saving the original
 * through the archive API; rollback puts the original archive back (content, mode, owner, mtime).
 */
import { Effect, Schema } from "effect"
import { pack, unpack } from "../../internal/tar.ts"
import { fail, InjectionFailed } from "../../ShiftupError.ts"
import * as DockerFault from "../internal/fault.ts"
import type { FaultOptions } from "../internal/fault.ts"
import { ContainerId, declare } from "../internal/kind.ts"
import type { DockerEngine } from "../model.ts"
import type { ContainerTarget } from "../targets.ts"

/** Whether the file in archive `now` has the saved original's type, permission bits, owner and content. */
const sameFile = (original: Buffer, now: Buffer): boolean => {
  const [a] = unpack(original)
  const [b] = unpack(now)
  return a !== undefined && b !== undefined && a.type === b.type && (a.mode & 0o7777) === (b.mode & 0o7777) && a.content.equals(b.content) && a.uid === b.uid && a.gid === b.gid
}

/** The file at `path` in container `id` now, as an archive; `undefined` when it does not exist. */
const fileNow = (engine: DockerEngine, id: string, path: string) => engine.getArchive(id, path).pipe(Effect.catchIf((e) => e.status === 404, () => Effect.succeed(undefined)))

/** A saved original: a tar archive holding exactly one regular file, named like the path's last part. */
const holdsOneFile = (path: string, archive: string): string | undefined => {
  const entries = unpack(Buffer.from(archive, "base64"))
  const name = path.slice(path.lastIndexOf("/") + 1)
  return entries.length === 1 && entries[0]?.type === "file" && entries[0].path === name ? undefined : `the saved archive must hold exactly the regular file ${name}`
}

/** Extracts each saved original archive (content, mode, owner, mtime) back into its folder, unless the file already matches it. */
export const ArchiveRestore = declare({
  kind: "docker.archive-restore",
  fields: {
    path: Schema.String.check(Schema.isPattern(/^\/(?:[^/\0]+\/)*[^/\0]+$/, { message: "the absolute path of a file" })),
    dir: Schema.String,
    files: Schema.Array(Schema.Struct({ id: ContainerId, name: Schema.String, size: Schema.Number, mode: Schema.Number, archive: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9+/]*={0,2}$/, { message: "base64" })) })),
  },
  check: Schema.makeFilter((r: { readonly path: string; readonly dir: string; readonly files: ReadonlyArray<{ readonly archive: string }> }) => {
    const cut = r.path.lastIndexOf("/")
    if (r.dir !== (cut <= 0 ? "/" : r.path.slice(0, cut))) return { path: ["dir"], issue: `must be the folder of ${r.path}` }
    return r.files.flatMap((f, i) => {
      const bad = holdsOneFile(r.path, f.archive)
      return bad === undefined ? [] : [{ path: ["files", i, "archive"], issue: bad }]
    })
  }),
  undo: ({ dir, path, files }, engine) =>
    DockerFault.eachOf(files, (f) =>
      DockerFault.gone(
        Effect.gen(function* () {
          const original = Buffer.from(f.archive, "base64")
          const now = yield* fileNow(engine, f.id, path)
          if (now !== undefined && sameFile(original, now)) return
          yield* engine.putArchive(f.id, dir, original)
        }),
      ),
    ),
  verify: ({ path, files }, engine) =>
    DockerFault.differences(files, (f) =>
      Effect.gen(function* () {
        // A container removed since took the file with it: nothing a restore could put back.
        if ((yield* DockerFault.gone(engine.inspect(f.id))) === undefined) return undefined
        const now = yield* fileNow(engine, f.id, path)
        if (now === undefined) return `${path} is missing in ${f.name}`
        return sameFile(Buffer.from(f.archive, "base64"), now) ? undefined : `${path} in ${f.name} differs from the saved original`
      }),
    ),
  // A write of at most 1 MiB through the archive API.
  settleMs: 5000,
})

export interface TamperOptions extends FaultOptions {
  /** Absolute path of an existing regular file in the container. */
  readonly path: string
  readonly content: string | Buffer
  /** Permission bits of the tampered file; default the original's. */
  readonly mode?: number
}

/** The largest original file `tamper` saves (and so will tamper with). */
export const maxTamperBytes = 1_048_576

/**
 * Overwrites a file in the target's containers (a config, a key, a policy). `destroy` class: lab
 * targets only. The original (content, mode, owner, mtime, as the engine's tar archive) is saved
 * into the compensation before the write, and rollback puts it back. Only an existing regular
 * file of at most 1 MiB is tampered with; anything else is refused before any change.
 *
 * @example
 * Docker.tamper(gateway, { path: "/etc/gateway/policy.json", content: '{"allow":"*"}' })
 */
export const tamper = (target: ContainerTarget, options: TamperOptions) => {
  const id = options.id ?? `tamper ${target.id} ${options.path}`
  const path = options.path
  const cut = path.lastIndexOf("/")
  const dir = cut <= 0 ? "/" : path.slice(0, cut)
  const name = path.slice(cut + 1)
  const content = typeof options.content === "string" ? Buffer.from(options.content) : options.content
  const refuse = (detail: string) => Effect.fail(fail(new InjectionFailed({ fault: id, target: target.id, detail })))
  return DockerFault.make({
    id,
    title: `tamper with ${path} in ${target.id}`,
    target,
    safety: "destroy",
    kind: ArchiveRestore,
    capture: (list, engine) =>
      Effect.gen(function* () {
        if (!path.startsWith("/") || name === "" || name === "." || name === "..") return yield* refuse(`path must be the absolute path of a file, got "${path}"`)
        if (options.mode !== undefined && !(Number.isInteger(options.mode) && options.mode >= 0 && options.mode <= 0o7777)) return yield* refuse(`mode must be permission bits (0 to 0o7777), got ${options.mode}`)
        const files = yield* Effect.forEach(
          list,
          (c) =>
            Effect.gen(function* () {
              const archive = yield* engine
                .getArchive(c.id, path)
                .pipe(Effect.catchIf((e) => e.status === 404, () => refuse(`${path} does not exist in ${c.name}: tamper only changes existing files (so rollback can restore them)`)))
              const entries = unpack(archive)
              const entry = entries[0]
              if (entry === undefined || entries.length !== 1 || entry.type !== "file") return yield* refuse(`${path} in ${c.name} is not a regular file (${entry?.type ?? "empty archive"})`)
              if (entry.content.length > maxTamperBytes) return yield* refuse(`${path} in ${c.name} is ${entry.content.length} bytes; tamper saves at most ${maxTamperBytes} bytes of original`)
              // The engine's headers carry the file type bits too (0o100644): keep the permission bits.
              return { id: c.id, name: c.name, size: entry.content.length, mode: entry.mode & 0o7777, archive, saved: archive.toString("base64") }
            }),
          { concurrency: DockerFault.concurrency },
        )
        const show = (f: (typeof files)[number]) => `${f.name} (${f.size} bytes, mode ${f.mode.toString(8).padStart(4, "0")})`
        return {
          record: { description: `restore ${path} in ${files.map(show).join(", ")}`, path, dir, files: files.map((f) => ({ id: f.id, name: f.name, size: f.size, mode: f.mode, archive: f.saved })) },
          // The originals, to keep each one's owner and mode in the tampered file.
          plan: new Map(files.map((f) => [f.id, f.archive])),
        }
      }),
    inject: (list, engine, originals) =>
      DockerFault.eachOf(list, (c) =>
        Effect.gen(function* () {
          const original = originals?.get(c.id) ?? (yield* engine.getArchive(c.id, path))
          const entry = unpack(original)[0]
          const tar = pack([{ path: name, type: "file", content, mode: options.mode ?? (entry === undefined ? 0o644 : entry.mode & 0o7777), uid: entry?.uid ?? 0, gid: entry?.gid ?? 0, mtime: Math.floor(Date.now() / 1000) }])
          yield* engine.putArchive(c.id, dir, tar)
        }),
      ),
  })
}

