/**
 * The lifecycle rules of the finding store as pure functions of the rows a store read: what a
 * scan, an expiry and an acceptance change and which transitions they make. Every store (SQLite,
 * PostgreSQL) reads the rows, calls these, and writes the rows they return in one transaction —
 * so the stores cannot disagree on the semantics.
 */
import { FindingStoreError } from "../../ShiftupError.ts"
import { fingerprint } from "./fingerprint.ts"
import type { Observation, State, StoredFinding, Transition } from "./Store.ts"

/** The rows to write (whole rows: an absent optional field is written as NULL) and the transitions made. */
export interface Changes {
  readonly rows: ReadonlyArray<StoredFinding>
  readonly transitions: ReadonlyArray<Transition>
}

const without = <K extends keyof StoredFinding>(f: StoredFinding, ...keys: ReadonlyArray<K>): StoredFinding => {
  const out: Record<string, unknown> = { ...f }
  for (const k of keys) delete out[k]
  return out as unknown as StoredFinding
}

/** Accepted risks whose expiry is at or before `at`, reopened. */
export const reopenExpired = (accepted: ReadonlyArray<StoredFinding>, at: Date): Changes => {
  const rows = accepted
    .filter((f) => f.state === "accepted-risk" && f.acceptedUntil !== undefined && Date.parse(f.acceptedUntil) <= at.getTime())
    .map((f) => ({ ...without(f, "acceptedUntil", "acceptedReason"), state: "open" as const }))
  return { rows, transitions: rows.map((finding) => ({ fingerprint: finding.fingerprint, from: "accepted-risk", to: "open", finding })) }
}

export interface ScanInput {
  readonly scope: string
  readonly seen: ReadonlyArray<Observation>
  readonly at: Date
  /** When this scope's previous scan was recorded (ISO), if ever. */
  readonly previousScan: string | undefined
  /** The stored findings of the seen fingerprints (after expiries were applied). */
  readonly known: ReadonlyMap<string, StoredFinding>
  /** This scope's findings that are not resolved (after expiries were applied). */
  readonly unresolved: ReadonlyArray<StoredFinding>
}

/** One complete scan: the seen ones are new, open again, regressed; the scope's unseen ones resolved. */
export const applyScan = (s: ScanInput): Changes => {
  const now = s.at.toISOString()
  const rows: Array<StoredFinding> = []
  const transitions: Array<Transition> = []
  const observed = new Set<string>()
  for (const o of s.seen) {
    const fp = fingerprint(o)
    if (observed.has(fp)) continue
    observed.add(fp)
    const was = s.known.get(fp)
    if (was === undefined) {
      const finding: StoredFinding = {
        fingerprint: fp, rule: o.rule, asset: o.asset, location: o.location, severity: o.severity, title: o.title, detail: o.detail ?? "", scope: s.scope,
        state: "new", firstSeen: now, lastSeen: now, occurrences: 1, openedAt: now,
        ...(s.previousScan === undefined ? {} : { timeToDetectMs: s.at.getTime() - Date.parse(s.previousScan) }),
      }
      rows.push(finding)
      transitions.push({ fingerprint: fp, from: undefined, to: "new", finding })
      continue
    }
    const to: State = was.state === "resolved" ? "regressed" : was.state === "accepted-risk" ? "accepted-risk" : "open"
    const finding: StoredFinding = {
      ...(was.state === "resolved" ? without(was, "resolvedAt") : was),
      severity: o.severity, title: o.title, detail: o.detail ?? "", scope: s.scope, state: to, lastSeen: now, occurrences: was.occurrences + 1,
      openedAt: was.state === "resolved" ? now : was.openedAt,
    }
    rows.push(finding)
    if (to !== was.state) transitions.push({ fingerprint: fp, from: was.state, to, finding })
  }
  for (const was of s.unresolved) {
    if (observed.has(was.fingerprint) || was.state === "resolved") continue
    const finding: StoredFinding = { ...without(was, "acceptedUntil", "acceptedReason"), state: "resolved", resolvedAt: now, timeToResolveMs: s.at.getTime() - Date.parse(was.openedAt) }
    rows.push(finding)
    transitions.push({ fingerprint: was.fingerprint, from: was.state, to: "resolved", finding })
  }
  return { rows, transitions }
}

/** Accepting the risk of `was` (checked: it exists, a reason, an expiry after `at`). */
export const acceptRisk = (store: string, fp: string, was: StoredFinding | undefined, reason: string, until: Date, at: Date): Transition => {
  if (was === undefined) throw new FindingStoreError({ store, detail: `no finding ${fp} in the store` })
  if (reason.trim() === "") throw new FindingStoreError({ store, detail: `accepting the risk of ${fp} needs a reason` })
  if (until.getTime() <= at.getTime()) throw new FindingStoreError({ store, detail: `the acceptance of ${fp} must expire after now, not at ${until.toISOString()}` })
  return { fingerprint: fp, from: was.state, to: "accepted-risk", finding: { ...was, state: "accepted-risk", acceptedUntil: until.toISOString(), acceptedReason: reason } }
}

/** Open findings, most severe first (then rule, asset): the order of `open()`. */
const severityOrder = { critical: 0, high: 1, medium: 2, low: 3 } as const
export const bySeverity = (a: StoredFinding, b: StoredFinding): number => severityOrder[a.severity] - severityOrder[b.severity] || a.rule.localeCompare(b.rule) || a.asset.localeCompare(b.asset)
