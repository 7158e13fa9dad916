/**
 * A finding and a delivery as table rows, the same columns in both stores: SQLite gives times as
 * ISO text, PostgreSQL as `Date` (timestamptz) and `bigint` as text; both read back to the same
 * values.
 */
import type { Delivery, Severity, State, StoredFinding } from "./Store.ts"

const optional = <K extends string>(key: K, v: string | number | null | undefined): { [k in K]?: never } | Record<K, string | number> =>
  (v === null || v === undefined ? {} : { [key]: v }) as Record<K, string | number>

/** A row of `findings` (either store's, values as text and numbers) as a finding. */
export const toFinding = (r: Readonly<Record<string, unknown>>): StoredFinding => {
  const text = (k: string) => r[k] as string
  const time = (k: string) => (r[k] instanceof Date ? (r[k] as Date).toISOString() : (r[k] as string | null))
  const num = (k: string) => (r[k] === null || r[k] === undefined ? null : Number(r[k]))
  return {
    fingerprint: text("fingerprint"),
    rule: text("rule"),
    asset: text("asset"),
    location: text("location"),
    severity: text("severity") as Severity,
    title: text("title"),
    detail: text("detail"),
    scope: text("scope"),
    state: text("state") as State,
    firstSeen: time("first_seen") as string,
    lastSeen: time("last_seen") as string,
    occurrences: Number(r["occurrences"]),
    openedAt: time("opened_at") as string,
    ...(optional("resolvedAt", time("resolved_at")) as { resolvedAt?: string }),
    ...(optional("acceptedUntil", time("accepted_until")) as { acceptedUntil?: string }),
    ...(optional("acceptedReason", r["accepted_reason"] as string | null) as { acceptedReason?: string }),
    ...(optional("timeToDetectMs", num("time_to_detect_ms")) as { timeToDetectMs?: number }),
    ...(optional("timeToResolveMs", num("time_to_resolve_ms")) as { timeToResolveMs?: number }),
  }
}

/** The columns of a finding row, in the order of `upsert` below (and of the PostgreSQL store's). */
export const columns = ["fingerprint", "rule", "asset", "location", "severity", "title", "detail", "scope", "state", "first_seen", "last_seen", "occurrences", "opened_at", "resolved_at", "accepted_until", "accepted_reason", "time_to_detect_ms", "time_to_resolve_ms"] as const

export const valuesOf = (f: StoredFinding): ReadonlyArray<string | number | null> => [
  f.fingerprint, f.rule, f.asset, f.location, f.severity, f.title, f.detail, f.scope, f.state, f.firstSeen, f.lastSeen, f.occurrences, f.openedAt,
  f.resolvedAt ?? null, f.acceptedUntil ?? null, f.acceptedReason ?? null, f.timeToDetectMs ?? null, f.timeToResolveMs ?? null,
]

/** A row of `outbox` (either store's) as a delivery. */
export const toDelivery = (r: Readonly<Record<string, unknown>>): Delivery => ({
  id: r["id"] as string,
  seq: Number(r["seq"]),
  url: r["url"] as string,
  ...(r["secret_env"] === null ? {} : { secretEnv: r["secret_env"] as string }),
  event: r["event"] as string,
  body: r["body"] as string,
  attempts: Number(r["attempts"]),
  nextAt: r["next_at"] instanceof Date ? r["next_at"].toISOString() : (r["next_at"] as string),
})
