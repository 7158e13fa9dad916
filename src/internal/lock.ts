/**
 * An exclusive lock shared by the processes of one host: a lock file created only if absent,
 * holding who took it (pid, that process's start time, what for). `recover` and the watchdog hold
 * one per ledger for the whole replay, so two of them never replay the same undo twice; target
 * leases can use the same primitive.
 *
 * A lock whose holder is gone (its pid is dead, or now belongs to a process started at another
 * time) is stale and may be broken. Breaking it moves the lock file aside, and puts it back if it
 * is not exactly the one judged stale (another process broke it and took a fresh one meanwhile).
 */
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { hostname } from "node:os"
import { processAlive } from "./process.ts"

export interface Holder {
  readonly pid: number
  /** The holder's start time as the kernel counts it (Linux), so a reused pid is not mistaken for it. */
  readonly start?: string
  readonly host: string
  /** What the lock is held for, e.g. `recover` or `watchdog`. */
  readonly purpose: string
  readonly at: string
  /** Tells two locks of one holder apart (an inode number is reused as soon as it is freed). */
  readonly nonce?: string
  /** What the holder's user wants others to know (a target lease: the run id and its ledger). */
  readonly details?: Readonly<Record<string, string>>
}

export interface AcquireOptions {
  readonly details?: Readonly<Record<string, string>>
  /** Whether a lock whose holder is gone may be broken (default: always). */
  readonly mayBreak?: (stale: Holder) => boolean
}

export type Acquired =
  | { readonly _tag: "acquired"; readonly release: () => void }
  | { readonly _tag: "held"; readonly by: Holder }

/** When process `pid` started (clock ticks since boot), where the system says; undefined elsewhere. */
export const startTime = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name, which may itself contain spaces and parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
  } catch {
    // No procfs (macOS) or the process is gone: liveness falls back to the pid alone.
    return undefined
  }
}

/** Whether the holder of a lock is still the process that took it. */
export const holderAlive = (h: Holder): boolean => {
  if (h.host !== hostname()) return true // another host's process cannot be checked from here
  if (!processAlive(h.pid)) return false
  const start = startTime(h.pid)
  return h.start === undefined || start === undefined || start === h.start
}

const parse = (text: string): Holder | undefined => {
  try {
    const h = JSON.parse(text) as Partial<Holder>
    return typeof h.pid === "number" && typeof h.host === "string" && typeof h.purpose === "string" ? (h as Holder) : undefined
  } catch {
    return undefined
  }
}

const me = (purpose: string, details: Readonly<Record<string, string>> | undefined): Holder => {
  const start = startTime(process.pid)
  return { pid: process.pid, ...(start === undefined ? {} : { start }), host: hostname(), purpose, at: new Date().toISOString(), nonce: randomBytes(8).toString("hex"), ...(details === undefined ? {} : { details }) }
}

/** Writes `text` to a fresh owner-only file next to `path`, durably; returns its name. */
const writeTemp = (path: string, text: string): string => {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`
  const fd = openSync(tmp, "wx", 0o600)
  try {
    const buf = Buffer.from(text)
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  return tmp
}

/**
 * Takes the lock at `path` for this process, or says who holds it. Never waits. The lock file is
 * complete when it appears (written aside, then hard-linked into place, which fails if a lock
 * exists), so a reader never sees a half-written holder. Errors other than "it exists" (a
 * read-only or missing directory) are thrown: they are not "somebody else holds it".
 */
export const acquire = (path: string, purpose: string, options: AcquireOptions = {}): Acquired => {
  const text = `${JSON.stringify(me(purpose, options.details))}\n`
  const tmp = writeTemp(path, text)
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(tmp, path)
        return { _tag: "acquired", release: () => releaseIfMine(path, text) }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
      }
      let found: string
      try {
        found = readFileSync(path, "utf8")
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") continue // released meanwhile: try again
        throw e
      }
      const holder = parse(found)
      // A lock file is written whole before it appears, so an unreadable one was not made here: a
      // damaged lock is never broken automatically.
      if (holder === undefined) return { _tag: "held", by: { pid: 0, host: "?", purpose: `an unreadable lock file (${path}); remove it by hand once no recover runs`, at: "?" } }
      if (holderAlive(holder) || options.mayBreak?.(holder) === false) return { _tag: "held", by: holder }
      breakStale(path, found)
    }
    return { _tag: "held", by: { pid: 0, host: "?", purpose: `a lock (${path}) that keeps changing hands`, at: "?" } }
  } finally {
    unlinkSync(tmp)
  }
}

/** Moves away the lock file at `path` if it still holds exactly `stale`. */
const breakStale = (path: string, stale: string): void => {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.stale`
  try {
    renameSync(path, aside)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return
    throw e
  }
  if (readFileSync(aside, "utf8") === stale) {
    unlinkSync(aside)
    return
  }
  // Another process broke the stale lock and took a fresh one between our read and our rename:
  // that one is live, put it back (the link fails only if yet another lock appeared meanwhile).
  try {
    linkSync(aside, path)
  } finally {
    unlinkSync(aside)
  }
}

const releaseIfMine = (path: string, mine: string): void => {
  try {
    if (readFileSync(path, "utf8") === mine) unlinkSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e
  }
}
