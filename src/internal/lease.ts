/**
 * Target leases (DESIGN.md): a run holds a lease on each target member it may inject into, so two
 * runs — or a run and a `recover` — never act on one member at once. Otherwise run B, started
 * while run A's fault is active, captures A's *faulted* state as "original" and restores it after
 * A restored the real one.
 *
 * A lease is a file created with O_EXCL in a lease directory shared by every run of this user on
 * this host (the per-user runtime directory; a team-wide one is a config opt-in). It names the
 * run, its process (pid and start time, so a reused pid is not mistaken for the holder) and its
 * ledger. A lease whose process is gone is stale: it is taken over only when its ledger has no
 * compensation pending on that member — otherwise the member may still be faulted, and only
 * `shiftup recover` (which takes the lease over on behalf of the dead run) may act on it.
 */
import { createHash } from "node:crypto"
import { join } from "node:path"
import { Duration, Effect } from "effect"
import type { Config } from "../Config.ts"
import type { Experiment } from "../Experiment.ts"
import * as Ledger from "../Ledger.ts"
import { describeUnknown, fail, LedgerError, type ShiftupError } from "../ShiftupError.ts"
import * as Lock from "./lock.ts"
import { faultsOf, type Planned } from "./plan.ts"
import { defaultDir, openSharedDir } from "./userdir.ts"

/** Who holds a lease: the lock's holder, with the run and its ledger. */
export interface Holder {
  readonly member: string
  readonly runId: string
  readonly pid: number
  readonly ledger?: string
  readonly at: string
}

export type Conflict =
  | { readonly _tag: "held"; readonly holder: Holder }
  | { readonly _tag: "pending-recovery"; readonly holder: Holder }

export interface Leases {
  /** Releases every lease taken (only the files this run still owns). */
  readonly release: () => void
}

const fileOf = (dir: string, member: string) => join(dir, `${createHash("sha256").update(member).digest("hex").slice(0, 32)}.lease`)

const holderOf = (member: string, h: Lock.Holder): Holder => ({
  member,
  runId: h.details?.["runId"] ?? h.purpose,
  pid: h.pid,
  ...(h.details?.["ledger"] === undefined ? {} : { ledger: h.details["ledger"] }),
  at: h.at,
})

/** Compensations the holder's ledger still has pending on `member`. */
const pendingOn = (h: Holder, member: string): boolean => {
  if (h.ledger === undefined) return false
  try {
    return Ledger.pending(Ledger.read(h.ledger)).some((p) => p.members === undefined || p.members.includes(member))
  } catch (e) {
    // A ledger that is gone was cleaned up; one that cannot be read may hold anything.
    return (e as NodeJS.ErrnoException).code !== "ENOENT"
  }
}

export interface AcquireOptions {
  readonly dir: string
  readonly runId: string
  readonly ledger?: string
  /** Wait this long for a held lease to be released (default: refuse at once). */
  readonly wait?: Duration.Input
  /** `recover`: the dead run whose leases may be taken over despite pending compensations. */
  readonly takeOverFrom?: string
}

/**
 * Takes a lease on every member, all or nothing (the lock primitive of lock.ts, one file per
 * member). A lease of a process that is gone is broken only when its ledger has nothing pending on
 * the member. Fails with the first conflict (after waiting, if asked); a file-system error is a
 * `LedgerError` (no lease, no run).
 */
export const acquire = (members: ReadonlyArray<string>, options: AcquireOptions): Effect.Effect<Leases, Conflict | ShiftupError> =>
  Effect.gen(function* () {
    const taken: Array<() => void> = []
    const release = () => {
      for (const free of taken.splice(0)) free()
    }
    const deadline = Date.now() + (options.wait === undefined ? 0 : Duration.toMillis(Duration.fromInputUnsafe(options.wait)))
    const details = { runId: options.runId, ...(options.ledger === undefined ? {} : { ledger: options.ledger }) }
    const tryOne = (member: string): Conflict | undefined => {
      let pending: Holder | undefined
      const got = Lock.acquire(fileOf(options.dir, member), `run ${options.runId}`, {
        details: { ...details, member },
        mayBreak: (stale) => {
          const h = holderOf(member, stale)
          if (h.runId === options.takeOverFrom || !pendingOn(h, member)) return true
          pending = h
          return false
        },
      })
      if (got._tag === "acquired") {
        taken.push(got.release)
        return undefined
      }
      const holder = holderOf(member, got.by)
      return pending !== undefined ? { _tag: "pending-recovery", holder: pending } : { _tag: "held", holder }
    }
    for (;;) {
      const conflict = yield* Effect.try({
        try: () => {
          for (const member of [...new Set(members)].sort()) {
            const c = tryOne(member)
            if (c !== undefined) return c
          }
          return undefined
        },
        catch: (e) => fail(new LedgerError({ path: options.dir, detail: `cannot take a target lease: ${describeUnknown(e)}` })),
      })
      if (conflict === undefined) return { release }
      release()
      if (conflict._tag !== "held" || Date.now() >= deadline) return yield* Effect.fail(conflict)
      yield* Effect.sleep(Math.min(200, deadline - Date.now()))
    }
  })

/** One line for a refusal. */
export const describeConflict = (c: Conflict): string =>
  c._tag === "held"
    ? `member ${c.holder.member} is leased by run ${c.holder.runId} (pid ${c.holder.pid}${c.holder.at === "" ? "" : `, since ${c.holder.at}`}): two runs must not inject into one target at once; wait for it to finish (or pass \`leaseWait\`)`
    : `run ${c.holder.runId} (pid ${c.holder.pid}) died with a fault still pending on member ${c.holder.member} (ledger ${c.holder.ledger ?? "?"}): the member may still be faulted; run \`shiftup recover\` first`

/** The members a run may inject into: its declared faults' targets, or a generator's manifest. */
const injectable = (e: Experiment, planned: Planned): ReadonlyArray<string> => {
  const targets = e.body._tag === "Steps" ? faultsOf(e).map((f) => f.target.id) : Object.keys(e.body.mayInject).flatMap((key) => (e.targets[key] === undefined ? [] : [e.targets[key].id]))
  return [...new Set(targets)].flatMap((id) => (planned.members.get(id) ?? []).map((m) => m.id))
}

/** Leases for a run, in the config's lease directory or the user's private one. */
export const takeLeases = (
  e: Experiment,
  planned: Planned,
  o: { readonly config: Config; readonly runId: string; readonly ledger: string; readonly wait?: Duration.Input },
): Effect.Effect<Leases, Conflict | ShiftupError> =>
  Effect.gen(function* () {
    const members = injectable(e, planned)
    if (members.length === 0) return { release: () => {} }
    const dir = yield* Effect.try({ try: () => leaseDir(o.config), catch: (err) => fail(new LedgerError({ path: o.config.leases?.dir ?? "(user lease directory)", detail: describeUnknown(err) })) })
    return yield* acquire(members, { dir, runId: o.runId, ledger: o.ledger, ...(o.wait === undefined ? {} : { wait: o.wait }) })
  })

/**
 * The lease directory: `leases.dir` from the config (a team opt-in on a shared game-day host),
 * else `~/.local/state/shiftup/leases`; checked like the control directory (userdir.ts).
 */
export const leaseDir = (config: Config): string => {
  const dir = config.leases?.dir ?? defaultDir("leases")
  const opened = openSharedDir(dir, { explicit: config.leases?.dir !== undefined, power: "forge or delete the leases that keep two runs off one target", how: "leases.dir in shiftup.config.ts" })
  if (opened._tag === "refused") throw new Error(`the lease directory ${dir} ${opened.detail}`)
  return dir
}
