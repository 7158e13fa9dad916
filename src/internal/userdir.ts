/**
 * Directories only this user (or, by explicit opt-in, a team) can change, for state that every
 * run of the user on this host shares: game-day controls (src/cli/control.ts) and target leases
 * (lease.ts). Whoever can write there can halt runs or forge and delete leases, so a directory is
 * refused when it is a symbolic link, not a directory, owned by someone else, writable by others,
 * or sits below a directory someone else could rearrange. The default location depends only on
 * the home directory (`~/.local/state/shiftup/<name>`), not on `$XDG_RUNTIME_DIR` — which a login
 * shell has and a cron job or CI runner of the same user does not — so every run of the user
 * meets the same one. A team-wide directory is named explicitly, owned by the user or root, and
 * group-writable only with the setgid bit (`chmod 2770`); never writable by all.
 */
import { lstatSync, mkdirSync, realpathSync, type Stats } from "node:fs"
import { homedir } from "node:os"
import { dirname, join } from "node:path"

/** `~/.local/state/shiftup/<name>`: the per-user default. */
export const defaultDir = (name: string): string => join(homedir(), ".local", "state", "shiftup", name)

export const lstatOrUndefined = (path: string): Stats | undefined => {
  try {
    return lstatSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw e
  }
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, "0")
export const groupWritable = (s: Stats) => (s.mode & 0o020) !== 0
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

/**
 * Why this directory may not hold the shared state, or undefined.
 * @param power what its owner or writers could do, e.g. "halt or pause your runs"
 * @param explicit named by the user (config or environment), so a team directory is allowed
 * @param how how to name a team directory, for the message
 */
const problem = (s: Stats, uid: number, o: { readonly explicit: boolean; readonly power: string; readonly how: string }): string | undefined => {
  if (s.isSymbolicLink()) return "is a symbolic link, and shiftup never follows one there (whoever made it chooses where the state goes). Remove the link; shiftup then creates the directory itself"
  if (!s.isDirectory()) return "is not a directory. Remove it; shiftup then creates the directory itself"
  if (s.uid !== uid && !(o.explicit && s.uid === 0))
    return `is owned by uid ${s.uid}, not by you (uid ${uid}): its owner could ${o.power}. Remove it${o.explicit ? " or name a directory you own" : ""}; shiftup then creates its own (mode 0700)`
  if (worldWritable(s)) return `is writable by every user (mode ${octal(s.mode)}), so anyone could ${o.power}: chmod 700 it (or 2770 with a group, for a team directory)`
  if (groupWritable(s) && !o.explicit) return `is writable by its group (mode ${octal(s.mode)}): chmod 700 it. A directory shared by a team must be named explicitly (${o.how}) and carry the setgid bit (chmod 2770)`
  if (groupWritable(s) && (s.mode & 0o2000) === 0) return `is writable by its group (mode ${octal(s.mode)}) without the setgid bit: chmod 2770 it to share it with that group as a team directory, or chmod 700 it`
  return undefined
}

export type Opened = { readonly _tag: "ok"; readonly team: boolean } | { readonly _tag: "refused"; readonly detail: string }

/** Creates `path` owner-only when missing, then checks it and every directory above it. */
export const openSharedDir = (path: string, o: { readonly explicit: boolean; readonly power: string; readonly how: string }): Opened => {
  let s = lstatOrUndefined(path)
  if (s === undefined) {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
      mkdirSync(path, { mode: 0o700 })
    } catch (e) {
      // Another shiftup may have created it at the same moment; the checks below decide.
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") return { _tag: "refused", detail: `cannot be created (${(e as Error).message})` }
    }
    s = lstatSync(path)
  }
  const uid = process.getuid?.()
  // Without user ids (Windows) there is no owner to compare: the directory is per-user already.
  if (uid === undefined) return { _tag: "ok", team: false }
  const wrong = problem(s, uid, o) ?? unsafeAncestor(dirname(path), uid)
  return wrong === undefined ? { _tag: "ok", team: groupWritable(s) } : { _tag: "refused", detail: wrong }
}
