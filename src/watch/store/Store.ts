/**
 * The finding store: every finding a watch job reports, by a stable fingerprint, with its
 * lifecycle — new → open → resolved → regressed → open …, or accepted-risk until an expiry (an
 * expired acceptance reopens it). One interface, two stores: SQLite (`openSqlite`, the embedded
 * default, one watcher) and PostgreSQL (`openPostgres`, several watchers sharing one database).
 * Both keep the webhook outbox (a state change and its deliveries commit together) and the job
 * leases (which watcher runs a job now). Every method is asynchronous (PostgreSQL is a network
 * round trip); the lifecycle rules themselves are one set of pure functions (lifecycle.ts).
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

/** A webhook delivery to write with the state change that causes it (the outbox). */
export interface NewDelivery {
  /** The delivery id: sent as `x-shiftup-delivery` on every attempt, so the receiver can drop duplicates. */
  readonly id: string
  readonly url: string
  /** The environment variable of the HMAC key, read when sending (never the key). */
  readonly secretEnv?: string
  /** `finding.new`, … */
  readonly event: string
  /** The exact body bytes sent (and signed) on every attempt. */
  readonly body: string
}

/** A delivery in the outbox not yet delivered nor given up. */
export interface Delivery extends NewDelivery {
  /** The order deliveries were written in; one webhook's go out in this order. */
  readonly seq: number
  readonly attempts: number
  /** Not before this (ISO): the backoff of the last failed attempt. */
  readonly nextAt: string
}

/** What became of one attempt. */
export type Settlement =
  | { readonly _tag: "Delivered"; readonly at: Date; readonly attempts: number }
  | { readonly _tag: "Retry"; readonly at: Date; readonly attempts: number; readonly retryAt: Date; readonly error: string }
  | { readonly _tag: "GaveUp"; readonly at: Date; readonly attempts: number; readonly error: string }

export interface RecordOptions {
  /** Fencing: record only while this watcher still holds the job's lease (`lease(scope, holder, …)`); refused otherwise. */
  readonly holder?: string
  /** The webhook deliveries each transition causes, written in the same transaction (the outbox). */
  readonly deliveries?: (t: Transition) => ReadonlyArray<NewDelivery>
}

export interface FindingStore {
  /** What the store is, for logs: a file path, or `postgres://user@host:port/db` (never a password). */
  readonly name: string
  /**
   * One complete scan by `scope` at `at`: what it saw, and — by absence — what it no longer sees
   * (resolved). Returns every state change (new, open, regressed, resolved, reopened); the changes,
   * the scan time and the deliveries they cause commit in one transaction.
   */
  readonly record: (scope: string, seen: ReadonlyArray<Observation>, at: Date, options?: RecordOptions) => Promise<ReadonlyArray<Transition>>
  /** Accepts the risk of one finding until `until`, with a reason (both required). */
  readonly accept: (fingerprint: string, reason: string, until: Date, at: Date) => Promise<Transition>
  /** Reopens accepted risks whose expiry passed; `record` does it too. */
  readonly expire: (at: Date) => Promise<ReadonlyArray<Transition>>
  /** Findings not resolved (new, open, regressed, accepted-risk), most severe first. */
  readonly open: () => Promise<ReadonlyArray<StoredFinding>>
  readonly get: (fingerprint: string) => Promise<StoredFinding | undefined>
  /** Open findings counted by severity and rule (for metrics). */
  readonly countOpen: () => Promise<ReadonlyArray<{ readonly severity: Severity; readonly rule: string; readonly count: number }>>
  /** Records that `experiment` (a file) is the regression experiment of the finding (again: its time is updated). */
  readonly link: (fingerprint: string, experiment: string, at: Date) => Promise<void>
  /** The regression experiments of one finding, or of every finding, oldest first. */
  readonly links: (fingerprint?: string) => Promise<ReadonlyArray<FeedbackLink>>
  /**
   * Takes or renews the lease on `job` for `holder` for `ttlMs`: true when `holder` has it now —
   * it was free, expired, or already its own. Atomic: of two watchers asking, one gets it.
   */
  readonly lease: (job: string, holder: string, ttlMs: number) => Promise<boolean>
  /** Gives the lease back, keeping it `keepMs` more (the rest of the job's slot, so another watcher does not run the same tick again). */
  readonly release: (job: string, holder: string, keepMs: number) => Promise<void>
  /** Deliveries neither delivered nor given up, oldest first (at most `limit`), whether due yet or not. */
  readonly pending: (limit: number) => Promise<ReadonlyArray<Delivery>>
  /** Claims a delivery for `forMs` (so two watchers never send one at once): true when `holder` may send it now. */
  readonly claim: (id: string, holder: string, forMs: number) => Promise<boolean>
  readonly settle: (id: string, s: Settlement) => Promise<void>
  readonly close: () => Promise<void>
}
