/**
 * Availability faults hold server sessions for their whole life: a table lock, an old snapshot,
 * connection slots. Every such session carries a marker as its `application_name` —
 * `shiftup hold <run id> <8 hex digits of the fault id>` — and the compensation,
 * `data.postgres.end-sessions`, records that marker (and the pids known before the injection).
 * The rollback closes the sessions this process holds; `recover` in a fresh process (the runner
 * died, but the server may keep its sessions while their TCP connections linger) ends exactly
 * the backends that carry the marker, with `pg_terminate_backend` — never another session.
 *
 * A held session also bounds itself on the server (`idle_in_transaction_session_timeout`,
 * `idle_session_timeout` = the fault's `maxHold`), so a session nobody ends still ends.
 */
import { createHash } from "node:crypto"
import { type Duration, Effect, Schema } from "effect"
import * as Fault from "../../../Fault.ts"
import { RunContext } from "../../../RunContext.ts"
import { millisOf } from "../../../internal/validate.ts"
import { fail, InjectionFailed, type Issue, TargetUnresolved, type ShiftupError } from "../../../ShiftupError.ts"
import type { PostgresTarget } from "../targets.ts"
import { attempt, open, type Session, transaction, withSession } from "./client.ts"
import { providerModule } from "./fault.ts"
import { declareServer, onServer } from "./kind.ts"

/** `shiftup hold <run id> <8 hex>`: unique to one fault of one run, and at most 63 bytes. */
export const markerOf = (runId: string, faultId: string): string => `shiftup hold ${runId.slice(0, 40)} ${createHash("sha256").update(faultId).digest("hex").slice(0, 8)}`

// A record can only ever name shiftup's own sessions: a forged ledger cannot end another's.
const Marker = Schema.String.check(Schema.isPattern(/^shiftup hold [A-Za-z0-9_.-]{1,40} [0-9a-f]{8}$/, { message: "a shiftup session marker (shiftup hold <run id> <8 hex>)" }))

interface Held {
  readonly sessions: Array<Session>
  readonly timer: NodeJS.Timeout
}

const keyOf = (marker: string) => `shiftup/data/postgres/hold/${marker}`

/** Ends every session of this process that carries `marker` (the server then rolls their transactions back). */
const release = (store: RunContext["store"], marker: string): Promise<unknown> => {
  const held = store.get<Held>(keyOf(marker))
  if (held === undefined) return Promise.resolve()
  store.delete(keyOf(marker))
  clearTimeout(held.timer)
  return Promise.all(held.sessions.splice(0).map((s) => s.close()))
}

const marked = `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid() AND (cardinality($2::int4[]) = 0 OR pid = ANY($2::int4[]))`

/** Closes the sessions this process holds, then ends the marked backends the server still has. */
export const EndSessions = declareServer({
  kind: "data.postgres.end-sessions",
  fields: { marker: Marker, pids: Schema.Array(Schema.Int) },
  apply: (r) =>
    Effect.gen(function* () {
      const { store } = yield* RunContext
      // First, so a server whose slots the fault filled has room again for the session below.
      yield* Effect.promise(() => release(store, r.marker))
      yield* onServer("data.postgres.end-sessions", async (_: typeof r, s) => {
        await s.query(`SELECT pg_terminate_backend(m.pid, 5000) FROM (${marked}) AS m`, [r.marker, r.pids])
      })(r)
    }),
  verify: onServer("data.postgres.end-sessions", async (r, s) => {
    const left = await s.query(marked, [r.marker, r.pids])
    return left.length === 0 ? undefined : `${left.length} session(s) marked "${r.marker}" are still open (pids ${left.map((x) => String(x["pid"])).join(", ")})`
  }),
  settleMs: 5000,
})

export interface HoldOptions {
  readonly id: string
  readonly title: string
  readonly target: PostgresTarget
  /** How long a held session may live on the server, in ms, should nobody end it. */
  readonly maxHoldMs: number
  /** Read-only checks at plan time (only when the policy allowed the target). */
  readonly preflight: (s: Session) => Promise<ReadonlyArray<Fault.Refusal>>
  /** Sessions opened before the ledger write (idle: harmless if the run dies there); their pids are recorded. */
  readonly early: number
  /** Sessions opened at injection, after the ledger write (connection slots). */
  readonly late?: number
  /** The fault, in the early sessions. */
  readonly inject: (sessions: ReadonlyArray<Session>) => Promise<void>
  readonly description: string
}

/** Options every availability fault takes. */
export interface HoldFaultOptions {
  /** Step id; default `<fault> <what>`. */
  readonly id?: string
  /**
   * How long the server keeps a held session should nobody end it (the runner and `recover`
   * both gone): its `idle_in_transaction_session_timeout` and `idle_session_timeout`. Default
   * 10 minutes; the budget's `maxFaultTime` ends the fault sooner through the rollback.
   */
  readonly maxHold?: Duration.Input
}

/** The hold bound in ms, and its issue when it is not a finite positive duration. */
export const maxHoldOf = (o: HoldFaultOptions): { readonly ms: number; readonly issues: ReadonlyArray<Issue> } => {
  if (o.maxHold === undefined) return { ms: 10 * 60_000, issues: [] }
  const ms = millisOf(o.maxHold)
  return Number.isFinite(ms) && ms >= 1000 && ms <= 2_147_483_647 ? { ms: Math.round(ms), issues: [] } : { ms: 0, issues: [{ path: "maxHold", message: `maxHold must be a duration from 1 second to 24 days, e.g. "5 minutes" (got ${String(o.maxHold)})` }] }
}

/** A captured hold nobody injected (the ledger write failed, say) is let go after this long. */
const abandonMs = 30_000

/** A fault that holds marked sessions until its rollback (or `recover`) ends them. */
export const holdFault = (o: HoldOptions): Fault.Fault => {
  const injectionFailed = (detail: string): ShiftupError => fail(new InjectionFailed({ fault: o.id, target: o.target.id, detail }))
  const c = o.target.connection
  const session = (marker: string) => open(c, injectionFailed, { name: marker, settings: [`idle_in_transaction_session_timeout=${o.maxHoldMs}`, `idle_session_timeout=${o.maxHoldMs}`] })
  return Fault.make({
    id: o.id,
    title: o.title,
    target: o.target,
    safety: "disrupt",
    kind: EndSessions.kind,
    contacts: [o.target.endpoint],
    provider: { module: providerModule, compensators: { [EndSessions.kind]: EndSessions.compensator } },
    preflight: withSession(c, (detail) => fail(new TargetUnresolved({ target: o.target.id, detail })), (s) => transaction(s, "read only", () => o.preflight(s))),
    compensation: Effect.gen(function* () {
      const { runId, store } = yield* RunContext
      const marker = markerOf(runId, o.id)
      const sessions: Array<Session> = []
      const timer = setTimeout(() => void release(store, marker), abandonMs)
      timer.unref()
      store.set<Held>(keyOf(marker), { sessions, timer })
      const pids: Array<number> = []
      for (let i = 0; i < o.early; i++) {
        const s = yield* session(marker).pipe(Effect.tapError(() => Effect.promise(() => release(store, marker))))
        sessions.push(s)
        const [row] = yield* attempt(() => s.query("SELECT pg_backend_pid() AS pid"), c, injectionFailed)
        pids.push(Number(row?.["pid"]))
      }
      return EndSessions.make({ target: o.target.id, url: c.url, ...(c.passwordEnv === undefined ? {} : { passwordEnv: c.passwordEnv }), marker, pids, description: o.description })
    }),
    inject: Effect.gen(function* () {
      const { runId, store } = yield* RunContext
      const marker = markerOf(runId, o.id)
      const held = store.get<Held>(keyOf(marker))
      if (held === undefined) return yield* Effect.fail(injectionFailed("its capture did not run in this run (nothing was changed)"))
      // From now on only the rollback lets the sessions go.
      clearTimeout(held.timer)
      yield* attempt(() => o.inject(held.sessions.slice(0, o.early)), c, injectionFailed)
      for (let i = 0; i < (o.late ?? 0); i++) held.sessions.push(yield* session(marker).pipe(Effect.mapError((e) => injectionFailed(`opened ${i} of ${o.late} sessions, then: ${e.message}`))))
    }),
  })
}
