/**
 * Owner-only state directories, created one level at a time. `mkdirSync(…, { recursive: true })`
 * loops forever under a path like `/proc/x` (the kernel answers ENOENT for the very directory it
 * is asked to create); a walk over the path's components is bounded by their number.
 */
import { mkdirSync, statSync } from "node:fs"
import { dirname, resolve } from "node:path"

/** The system's error code of a thrown fs error (`ENOSPC`, `EACCES`…), if it has one. */
export const errnoOf = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | null)?.code
  return typeof code === "string" ? code : undefined
}

/** Creates `dir` and its missing parents with `mode` (owner-only by default); existing ones are kept as they are. */
export const ensureDir = (dir: string, mode = 0o700): void => {
  const missing: Array<string> = []
  for (let p = resolve(dir); ; p = dirname(p)) {
    try {
      if (!statSync(p).isDirectory()) throw Object.assign(new Error(`${p} exists and is not a directory`), { code: "ENOTDIR" })
      break
    } catch (e) {
      if (errnoOf(e) !== "ENOENT") throw e
      missing.push(p)
      if (dirname(p) === p) break
    }
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p, { mode })
    } catch (e) {
      if (errnoOf(e) !== "EEXIST") throw e
    }
  }
}
