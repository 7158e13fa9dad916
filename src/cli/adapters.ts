/**
 * Adapters the CLI loads only when a ledger needs them: `recover` and the watchdog replay
 * `docker.*` compensations through shiftup/docker, and nobody else pays for loading dockerode.
 */
import type { Compensators } from "../Compensation.ts"
import * as Ledger from "../Ledger.ts"

/** Compensation kinds still pending in these ledgers (unreadable ones are skipped here; `recover` reports them). */
export const pendingKinds = (ledgers: ReadonlyArray<string>): ReadonlySet<string> => {
  const kinds = new Set<string>()
  for (const path of ledgers) {
    try {
      for (const p of Ledger.pending(Ledger.read(path))) kinds.add(p.compensation.kind)
    } catch {
      // reported by recover itself
    }
  }
  return kinds
}

/** The compensators of every adapter one of `kinds` belongs to. */
export const adapterCompensators = async (kinds: ReadonlySet<string>): Promise<Compensators> =>
  [...kinds].some((k) => k.startsWith("docker.")) ? (await import("../docker/index.ts")).compensators : {}
