/**
 * The game-day control directory: where `shiftup halt` and `shiftup pause` leave the files every
 * run of the same user watches. Whoever can write there can stop or hold runs — and a paused run
 * keeps its faults in place — so the directory must be the user's own:
 *
 * - Where: `$SHIFTUP_CONTROL_DIR`, else `controlDir` in shiftup.config.ts, else
 *   `~/.local/state/shiftup/control`. The default depends only on the home directory, not on the
 *   working directory or the project's state dir, so `shiftup halt` from anywhere reaches every
 *   run of the same user; and not on `$XDG_RUNTIME_DIR`, which a login shell has and a cron job or
 *   CI runner of the same user does not: an emergency stop must not miss a run for that.
 * - Created owner-only (0700). Refused (`ControlDirRefused`, exit 4) when it is a symbolic link,
 *   not a directory, owned by someone else, writable by others, or when a directory above it is
 *   writable by someone else without the sticky bit (they could swap it for their own).
 * - A team-wide directory on a shared game-day host is an explicit opt-in: named in
 *   `SHIFTUP_CONTROL_DIR` or `controlDir`, owned by the user or root, and group-writable only
 *   with the setgid bit (e.g. `root:gameday 2770`). Every member of that group can then halt and
 *   pause every run that uses it. Never writable by all.
 * - Files in it are never opened through a link (O_NOFOLLOW) and are replaced atomically.
 */
import { randomBytes } from "node:crypto"
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readSync, realpathSync, renameSync, rmSync, type Stats, writeSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, isAbsolute, join } from "node:path"
import { ControlDirRefused, fail, InvalidConfig } from "../ShiftupError.ts"

export interface ControlDir {
  readonly path: string
  /** Where the path came from, for messages. */
  readonly source: "SHIFTUP_CONTROL_DIR" | "config controlDir" | "per-user default"
  /** An explicitly configured group-writable setgid directory: its group shares the controls. */
  readonly team: boolean
}

export const defaultControlDir = (): string => join(homedir(), ".local", "state", "shiftup", "control")

const choose = (configured: string | undefined): Omit<ControlDir, "team"> => {
  const env = process.env["SHIFTUP_CONTROL_DIR"]
  if (env !== undefined) {
    if (!isAbsolute(env))
      throw fail(new InvalidConfig({ source: "(environment)", issues: [{ path: "SHIFTUP_CONTROL_DIR", message: `${JSON.stringify(env)} is not an absolute path; set it to one (runs and \`shiftup halt\` must name the same directory wherever they start), or unset it` }] }))
    return { path: env, source: "SHIFTUP_CONTROL_DIR" }
  }
  return configured === undefined ? { path: defaultControlDir(), source: "per-user default" } : { path: configured, source: "config controlDir" }
}

const lstatOrUndefined = (path: string): Stats | undefined => {
  try {
    return lstatSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw e
  }
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, "0")
const groupWritable = (s: Stats) => (s.mode & 0o020) !== 0
const worldWritable = (s: Stats) => (s.mode & 0o002) !== 0

/** The first directory above `dir` (resolved) that someone other than `uid` or root could rearrange. */
const unsafeAncestor = (dir: string, uid: number): string | undefined => {
  for (let d = realpathSync(dir); ; d = dirname(d)) {
    const s = lstatSync(d)
    const fix = "use a directory whose parents only you and root can change"
    if (s.uid !== uid && s.uid !== 0) return `sits in ${d}, which belongs to uid ${s.uid}, who could swap it for their own: ${fix}`
    if ((groupWritable(s) || worldWritable(s)) && (s.mode & 0o1000) === 0)
      return `sits in ${d}, which is writable by ${worldWritable(s) ? "every user" : "its group"} (mode ${octal(s.mode)}) without the sticky bit, so they could swap it for their own: ${fix}`
    if (d === dirname(d)) return undefined
  }
}

/** Why this directory may not hold the controls, or undefined. */
const problem = (s: Stats, explicit: boolean, uid: number): string | undefined => {
  if (s.isSymbolicLink()) return "is a symbolic link, and shiftup never follows one there (whoever made it chooses where halts go). Remove the link; shiftup then creates the directory itself"
  if (!s.isDirectory()) return "is not a directory. Remove it; shiftup then creates the directory itself"
  if (s.uid !== uid && !(explicit && s.uid === 0))
    return `is owned by uid ${s.uid}, not by you (uid ${uid}): its owner could halt or pause your runs. Remove it${explicit ? " or name a directory you own" : ""}; shiftup then creates its own (mode 0700)`
  if (worldWritable(s)) return `is writable by every user (mode ${octal(s.mode)}), so anyone could halt or pause your runs: chmod 700 it (or 2770 with a group, for a team directory)`
  if (groupWritable(s) && !explicit)
    return `is writable by its group (mode ${octal(s.mode)}): chmod 700 it. A directory shared by a team must be named explicitly (SHIFTUP_CONTROL_DIR or controlDir in shiftup.config.ts) and carry the setgid bit (chmod 2770)`
  if (groupWritable(s) && (s.mode & 0o2000) === 0) return `is writable by its group (mode ${octal(s.mode)}) without the setgid bit: chmod 2770 it to share it with that group as a team directory, or chmod 700 it`
  return undefined
}

/**
 * The control directory to use, checked (and created, owner-only, when missing). Throws a
 * `ControlDirRefused` that says what to change.
 *
 * @param configured `controlDir` from the config, if any.
 */
export const openControlDir = (configured: string | undefined): ControlDir => {
  const { path, source } = choose(configured)
  const refuse = (detail: string) => fail(new ControlDirRefused({ path, source, detail }))
  let s = lstatOrUndefined(path)
  if (s === undefined) {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
      mkdirSync(path, { mode: 0o700 })
    } catch (e) {
      // Another shiftup may have created it at the same moment; the checks below decide.
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw refuse(`cannot be created (${(e as Error).message}); set SHIFTUP_CONTROL_DIR to an absolute path of a directory you own`)
    }
    s = lstatSync(path)
  }
  const uid = process.getuid?.()
  // Without user ids (Windows) there is no owner to compare: the directory is per-user already.
  if (uid === undefined) return { path, source, team: false }
  const explicit = source !== "per-user default"
  const wrong = problem(s, explicit, uid) ?? unsafeAncestor(dirname(path), uid)
  if (wrong !== undefined) throw refuse(wrong)
  return { path, source, team: groupWritable(s) }
}

const entry = (dir: ControlDir, name: string) => join(dir.path, name)

/** Whether `name` exists in the directory, whatever it is (a link named HALT counts and is not followed). */
export const has = (dir: ControlDir, name: string): boolean => lstatOrUndefined(entry(dir, name)) !== undefined

/**
 * The text of `name`, or undefined when there is none. Never opens through a link, never blocks
 * on a FIFO, reads at most 64 KiB; anything but a regular file is an error.
 */
export const read = (dir: ControlDir, name: string): string | undefined => {
  let fd: number
  try {
    fd = openSync(entry(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw e
  }
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${entry(dir, name)} is not a regular file`)
    const buf = Buffer.alloc(64 * 1024)
    const n = readSync(fd, buf, 0, buf.length, 0)
    return buf.toString("utf8", 0, n)
  } finally {
    closeSync(fd)
  }
}

/** Replaces `name` atomically: a fresh file (never through a link), then a rename over the old. */
export const write = (dir: ControlDir, name: string, text: string): void => {
  const tmp = entry(dir, `.${name}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`)
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, dir.team ? 0o640 : 0o600)
  try {
    writeSync(fd, text)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, entry(dir, name))
}

/** Removes `name` (a link itself, never its target); whether there was one. */
export const remove = (dir: ControlDir, name: string): boolean => {
  const was = has(dir, name)
  rmSync(entry(dir, name), { force: true })
  return was
}
