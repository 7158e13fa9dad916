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
import { closeSync, constants, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs"
import { isAbsolute, join } from "node:path"
import { defaultDir, lstatOrUndefined, openSharedDir } from "../internal/userdir.ts"
import { ControlDirRefused, fail, InvalidConfig } from "../ShiftupError.ts"

export interface ControlDir {
  readonly path: string
  /** Where the path came from, for messages. */
  readonly source: "SHIFTUP_CONTROL_DIR" | "config controlDir" | "per-user default"
  /** An explicitly configured group-writable setgid directory: its group shares the controls. */
  readonly team: boolean
}

export const defaultControlDir = (): string => defaultDir("control")

const choose = (configured: string | undefined): Omit<ControlDir, "team"> => {
  const env = process.env["SHIFTUP_CONTROL_DIR"]
  if (env !== undefined) {
    if (!isAbsolute(env))
      throw fail(new InvalidConfig({ source: "(environment)", issues: [{ path: "SHIFTUP_CONTROL_DIR", message: `${JSON.stringify(env)} is not an absolute path; set it to one (runs and \`shiftup halt\` must name the same directory wherever they start), or unset it` }] }))
    return { path: env, source: "SHIFTUP_CONTROL_DIR" }
  }
  return configured === undefined ? { path: defaultControlDir(), source: "per-user default" } : { path: configured, source: "config controlDir" }
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
  const opened = openSharedDir(path, { explicit: source !== "per-user default", power: "halt or pause your runs", how: "SHIFTUP_CONTROL_DIR or controlDir in shiftup.config.ts" })
  if (opened._tag === "refused") throw refuse(opened.detail.startsWith("cannot be created") ? `${opened.detail}; set SHIFTUP_CONTROL_DIR to an absolute path of a directory you own` : opened.detail)
  return { path, source, team: opened.team }
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
