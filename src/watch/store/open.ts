/**
 * The store the config names: a SQLite file (the default `<stateDir>/watch.sqlite`) or
 * PostgreSQL. A watcher on a SQLite file holds a lock file beside it (`<file>.watcher.lock`, its
 * pid): SQLite is one watcher's store, so a second `shiftup watch` on the same file is refused
 * (a lock left by a killed watcher whose pid is gone is taken over). Several watchers share a
 * PostgreSQL store and coordinate through its job leases.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { randomUUID } from "node:crypto"
import { FindingStoreError } from "../../ShiftupError.ts"
import { openPostgres } from "./postgres.ts"
import { openSqlite } from "./sqlite.ts"
import type { FindingStore } from "./Store.ts"
import type { Config } from "../../Config.ts"
import type { WatchSettings } from "../settings.ts"

/** Opens the configured store (for reading, e.g. `shiftup findings`: no lock). */
export const openStore = async (setting: WatchSettings["store"], stateDir: string): Promise<FindingStore> =>
  setting === undefined || typeof setting === "string" ? openSqlite(setting ?? join(stateDir, "watch.sqlite")) : openPostgres(setting)

/** The store a command reads (`shiftup findings`, `shiftup feedback`): `watch.store`, in `--state-dir`, the config's state dir or `.shiftup`. */
export const openConfiguredStore = (config: Config, stateDir: string | undefined): Promise<FindingStore> => openStore(config.watch?.store, stateDir ?? config.stateDir ?? ".shiftup")

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

// The locks this process holds: a lock naming this process's pid that is not among them was left
// by an earlier process that had the same pid — a container's watcher is pid 1 at every start.
const held = new Set<string>()

const lockFile = (file: string): (() => void) => {
  const lock = `${file}.watcher.lock`
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lock, "wx", 0o600)
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      held.add(lock)
      return () => {
        held.delete(lock)
        rmSync(lock, { force: true })
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw e
      const pid = Number.parseInt(readFileSync(lock, "utf8"), 10)
      if (Number.isInteger(pid) && (pid === process.pid ? held.has(lock) : alive(pid)))
        throw new FindingStoreError({ store: file, detail: `another shiftup watch (pid ${pid}) uses it: a SQLite store takes one watcher; stop that one, or use a PostgreSQL store for several watchers (docs/watch.md)` })
      rmSync(lock, { force: true })
    }
  }
}

/** The watcher's store and its identity in leases and claims. */
export interface WatcherStore {
  readonly store: FindingStore
  /** This watcher in the store's leases and delivery claims. */
  readonly holder: string
  /** Closes the store and drops the lock. */
  readonly close: () => Promise<void>
}

export const openWatcherStore = async (setting: WatchSettings["store"], stateDir: string): Promise<WatcherStore> => {
  if (setting !== undefined && typeof setting !== "string") {
    const store = await openPostgres(setting)
    return { store, holder: `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`, close: () => store.close() }
  }
  const file = setting ?? join(stateDir, "watch.sqlite")
  const store = openSqlite(file)
  let unlock: () => void
  try {
    unlock = lockFile(file)
  } catch (e) {
    await store.close()
    throw e
  }
  // The only watcher of this file (the lock says so): one holder name across restarts, so a
  // restart after kill -9 goes on with the jobs at once rather than waiting for its own leases.
  return {
    store,
    holder: "sqlite-watcher",
    close: async () => {
      await store.close()
      unlock()
    },
  }
}
