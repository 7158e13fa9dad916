/**
 * A directory only this user can write, for state shared by every run of the user on this host
 * (target leases): `$XDG_RUNTIME_DIR/shiftup/<name>` when the runtime directory is the user's own,
 * else `<tmpdir>/shiftup-<uid>/<name>`. Each level is created 0700 and checked: a directory that
 * is a symlink, belongs to someone else, or is writable by group or others is refused — another
 * account could otherwise pre-create it and forge or delete what runs rely on.
 */
import { lstatSync, mkdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const uid = () => (typeof process.getuid === "function" ? process.getuid() : -1)

/** Why `path` is not safe as a private directory, or `undefined` when it is. */
export const unsafeReason = (path: string): string | undefined => {
  const st = lstatSync(path)
  if (st.isSymbolicLink()) return `${path} is a symbolic link`
  if (!st.isDirectory()) return `${path} is not a directory`
  if (uid() !== -1 && st.uid !== uid()) return `${path} belongs to uid ${st.uid}, not to this user (uid ${uid()})`
  if ((st.mode & 0o022) !== 0) return `${path} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`
  return undefined
}

const ensure = (path: string): void => {
  try {
    mkdirSync(path, { mode: 0o700 })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
  }
  const reason = unsafeReason(path)
  if (reason !== undefined) throw new Error(`${reason}; remove it or fix its owner and mode (chmod 700)`)
}

/** The user's private directory `name`, created if missing; throws with the reason when unsafe. */
export const privateDir = (name: string): string => {
  const runtime = process.env["XDG_RUNTIME_DIR"]
  const usable = runtime !== undefined && runtime !== "" && (() => {
    try {
      return unsafeReason(runtime) === undefined
    } catch {
      return false
    }
  })()
  const base = usable ? join(runtime, "shiftup") : join(tmpdir(), `shiftup-${uid()}`)
  ensure(base)
  const dir = join(base, name)
  ensure(dir)
  return dir
}
