/**
 * Planning's only contact with a target: a protocol fingerprint of its endpoints (DESIGN.md,
 * "data-store fingerprints for every target kind"). Passive signals come first — metadata,
 * labels, names, ports — and a handshake is opened only where they do not decide: for a target
 * the policy would allow now but would refuse if it were a data store. Never to a target the
 * passive signals already refused, never outside the egress allowlist, at most once per endpoint
 * per run (the cache is the run's), and every connection is recorded for the journal.
 */
import { Effect } from "effect"
import type { Facts } from "../Target.ts"
import { checkEgress, type Egress } from "./egress.ts"
import { type Contact, type Engine, fingerprint } from "./fingerprint.ts"
import { dataStorePorts } from "./classify.ts"

/** A plan-time connection, with what it was for and what it found. */
export interface PlanContact extends Contact {
  readonly target: string
  readonly member: string
  /** The engine recognised on this endpoint, if any. */
  readonly engine?: string
  readonly evidence: string
}

/** The run's fingerprint results, by `host:port`: one handshake sequence per endpoint per run. */
export type FingerprintCache = Map<string, Promise<{ readonly engine: Engine | undefined; readonly evidence: string; readonly contacts: ReadonlyArray<Contact> }>>

/** The fingerprint handshake a well-known data-store port suggests goes first. */
export const hints: Readonly<Record<string, Engine>> = { postgres: "postgres", mysql: "mysql", mongo: "mongodb", redis: "redis", memcached: "memcached", elasticsearch: "elasticsearch", cassandra: "cassandra", kafka: "kafka", etcd: "etcd", clickhouse: "clickhouse", couchdb: "couchdb", influxdb: "influxdb", nats: "nats", rabbitmq: "rabbitmq" }

export interface DiscoverOptions {
  readonly target: string
  readonly egress: Egress
  readonly cache: FingerprintCache
  readonly userAgent: string
  readonly timeoutMs?: number
  /** The run's abort: an interrupted plan stops its handshakes at once. */
  readonly signal?: AbortSignal
}

/**
 * Fingerprints the endpoints of each member (inside the allowlist) until one is recognised, and
 * returns the members with `fingerprint` set where one was, and every contact made.
 */
export const fingerprintMembers = (members: ReadonlyArray<Facts>, o: DiscoverOptions): Effect.Effect<{ readonly members: ReadonlyArray<Facts>; readonly contacts: ReadonlyArray<PlanContact> }> =>
  Effect.gen(function* () {
    const contacts: Array<PlanContact> = []
    const out = yield* Effect.forEach(
      members,
      (m) =>
        Effect.gen(function* () {
          if (m.fingerprint !== undefined) return m
          for (const e of m.endpoints ?? []) {
            const allowed = yield* Effect.exit(checkEgress(o.egress, e.host))
            if (allowed._tag === "Failure") continue
            const address = allowed.value.address
            const key = `${address.includes(":") ? `[${address}]` : address}:${e.port}`
            const known = o.cache.get(key)
            const fresh = known === undefined
            const pending =
              known ??
              fingerprint(address, e.port, {
                ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
                ...(e.protocol === "https" ? { tls: true, ...(address !== e.host ? { servername: e.host } : {}) } : e.protocol === "http" ? { http: true } : {}),
                ...(hints[dataStorePorts[e.port] ?? ""] === undefined ? {} : { hint: hints[dataStorePorts[e.port] ?? ""] as Engine }),
                userAgent: o.userAgent,
                ...(o.signal === undefined ? {} : { signal: o.signal }),
              })
            if (fresh) o.cache.set(key, pending)
            const result = yield* Effect.promise(() => pending)
            // Each contact is journaled once, by the target whose planning made it.
            if (fresh)
              for (const c of result.contacts) contacts.push({ ...c, target: o.target, member: m.id, ...(result.engine === undefined ? {} : { engine: result.engine }), evidence: result.evidence })
            if (result.engine !== undefined) return { ...m, fingerprint: result.engine }
          }
          return m
        }),
      { concurrency: 4 },
    )
    return { members: out, contacts }
  })
