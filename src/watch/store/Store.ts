/**
 * The finding store: every finding a watch job reports, by a stable fingerprint, with its
 * lifecycle — new → open → resolved → regressed → open …, or accepted-risk until an expiry (an
 * expired acceptance reopens it). One interface: SQLite (`openSqlite`, the embedded default) is
 * the implementation today; a PostgreSQL store for several watchers implements the same one.
 */
export type State = "new" | "open" | "resolved" | "regressed" | "accepted-risk"

export type Severity = "critical" | "high" | "medium" | "low"

/** One finding as a job saw it in one scan. Only `rule`, `asset` and `location` make its fingerprint. */
export interface Observation {
  /** The rule or check id, e.g. `gateway.fails-closed/anonymous-denied` or `inventory/certificate-expiring`. */
  readonly rule: string
  /** The asset: a target id, an inventory asset id. */
  readonly asset: string
  /** Where on the asset (a path, a port, a phase); "" when the asset is the place. */
  readonly location: string
  readonly severity: Severity
  readonly title: string
  /** What this scan saw: free text, may change between scans (never part of the fingerprint). */
  readonly detail?: string
}

export interface StoredFinding {
  readonly fingerprint: string
  readonly rule: string
  readonly asset: string
  readonly location: string
  readonly severity: Severity
  readonly title: string
  readonly detail: string
  /** The job whose scans own it: only that job's scans resolve it. */
  readonly scope: string
  readonly state: State
  readonly firstSeen: string
  readonly lastSeen: string
  readonly occurrences: number
  /** When the current episode began (first seen, or the regression). */
  readonly openedAt: string
  readonly resolvedAt?: string
  readonly acceptedUntil?: string
  readonly acceptedReason?: string
  /** First seen − the job's previous scan (the longest it can have been there unseen); absent on a job's first scan. */
  readonly timeToDetectMs?: number
  /** Resolved − opened, for the last resolution. */
  readonly timeToResolveMs?: number
}

export interface Transition {
  readonly fingerprint: string
  readonly from: State | undefined
  readonly to: State
  readonly finding: StoredFinding
}

/** A regression experiment `shiftup feedback` wrote for a finding (the feedback loop). */
export interface FeedbackLink {
  readonly fingerprint: string
  /** The experiment file, as written (relative to the working directory of `shiftup feedback`). */
  readonly experiment: string
  readonly createdAt: string
}

export interface FindingStore {
  /**
   * One complete scan by `scope` at `at`: what it saw, and — by absence — what it no longer sees
   * (resolved). Returns every state change (new, open, regressed, resolved, reopened) in one transaction.
   */
  readonly record: (scope: string, seen: ReadonlyArray<Observation>, at: Date) => ReadonlyArray<Transition>
  /** Accepts the risk of one finding until `until`, with a reason (both required). */
  readonly accept: (fingerprint: string, reason: string, until: Date, at: Date) => Transition
  /** Reopens accepted risks whose expiry passed; `record` does it too. */
  readonly expire: (at: Date) => ReadonlyArray<Transition>
  /** Findings not resolved (new, open, regressed, accepted-risk), most severe first. */
  readonly open: () => ReadonlyArray<StoredFinding>
  readonly get: (fingerprint: string) => StoredFinding | undefined
  /** Open findings counted by severity and rule (for metrics). */
  readonly countOpen: () => ReadonlyArray<{ readonly severity: Severity; readonly rule: string; readonly count: number }>
  /** Records that `experiment` (a file) is the regression experiment of the finding (again: its time is updated). */
  readonly link: (fingerprint: string, experiment: string, at: Date) => void
  /** The regression experiments of one finding, or of every finding, oldest first. */
  readonly links: (fingerprint?: string) => ReadonlyArray<FeedbackLink>
  readonly close: () => void
}
