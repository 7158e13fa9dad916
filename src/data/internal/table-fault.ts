/**
 * How every SQL table fault is built, whatever the engine. At plan time (only when the policy
 * allowed the target) a read-only preflight checks the table exists, has a primary key when rows
 * are addressed, and that the scope fits the before-image bounds — counted on the server, before
 * anything is touched. At injection the capture opens a transaction, locks the rows (or reads the
 * definition) and builds the record; the runner ledgers it; the injection then changes exactly
 * what was captured in that same transaction and commits. So no write can slip between the
 * before-image and the change, and a runner killed in between leaves nothing changed (the server
 * rolls the transaction back). A fault whose change is DDL (which MySQL commits implicitly) runs
 * without that transaction: its capture reads the definition, and its injection checks the
 * definition is still the one ledgered before it drops anything.
 */
import { Effect } from "effect"
import type * as Compensation from "../../Compensation.ts"
import * as Fault from "../../Fault.ts"
import { RunContext } from "../../RunContext.ts"
import { fail, InjectionFailed, InvalidExperiment, type ShiftupError, TargetUnresolved } from "../../ShiftupError.ts"
import type { Target } from "../../Target.ts"
import type { Bounds } from "./bounds.ts"
import type { Connection } from "./connection.ts"
import type { TableName } from "./table-name.ts"
import type { Base } from "./table-kind.ts"

/** The module a fresh process imports to get the compensators again (`recover`, the watchdog). */
export const providerModule = "shiftup/data"

/** What a table fault needs of an engine: sessions, transactions and the table's catalog facts. */
export interface Engine<S, I, T> {
  /** `postgres`, `mysql`: the prefix of the rules (`data.<name>.no-primary-key`). */
  readonly name: string
  readonly open: (c: Connection, wrap: (detail: string) => ShiftupError) => Effect.Effect<S, ShiftupError>
  readonly withSession: <A>(c: Connection, wrap: (detail: string) => ShiftupError, f: (s: S) => Promise<A>) => Effect.Effect<A, ShiftupError>
  readonly attempt: <A>(f: () => Promise<A>, c: Connection, wrap: (detail: string) => ShiftupError) => Effect.Effect<A, ShiftupError>
  /** `f` in a read-only snapshot. */
  readonly readOnly: <A>(s: S, f: () => Promise<A>) => Promise<A>
  readonly begin: (s: S) => Promise<unknown>
  readonly commit: (s: S) => Promise<unknown>
  readonly rollback: (s: S) => Promise<unknown>
  readonly close: (s: S) => Promise<void>
  readonly requireTable: (s: S, table: T, missing: (detail: string) => Error) => Promise<I>
  /** Whether the table has a primary key. */
  readonly keyed: (info: I) => boolean
  readonly show: (table: T) => string
}

/** An SQL engine's sessions as `engineOf` needs them. */
interface SqlSession {
  readonly query: (text: string) => Promise<unknown>
  readonly close: () => Promise<void>
}

/** What differs between SQL engines: the statement that begins a write transaction, and how a read-only snapshot is taken; commit, rollback and close are the same. */
export interface EngineSide<S, I, T> extends Pick<Engine<S, I, T>, "name" | "open" | "withSession" | "attempt" | "requireTable" | "show"> {
  readonly transaction: <A>(s: S, mode: "read only", f: () => Promise<A>) => Promise<A>
  readonly begin: string
}

/** An SQL engine from what differs. */
export const engineOf = <S extends SqlSession, I extends { readonly key: ReadonlyArray<unknown> }, T>(o: EngineSide<S, I, T>): Engine<S, I, T> => ({
  name: o.name,
  open: o.open,
  withSession: o.withSession,
  attempt: o.attempt,
  readOnly: (s, f) => o.transaction(s, "read only", f),
  begin: (s) => s.query(o.begin),
  commit: (s) => s.query("COMMIT"),
  rollback: (s) => s.query("ROLLBACK"),
  close: (s) => s.close(),
  requireTable: o.requireTable,
  keyed: (info) => info.key.length > 0,
  show: o.show,
})

/** The common part of every record: the fault's target, the server, the table. */
export type Placed = { readonly target: string; readonly url: string; readonly passwordEnv?: string }

export interface TableFaultOptions<S, I, T, A, P> {
  readonly engine: Engine<S, I, T>
  readonly id: string
  readonly title: string
  readonly target: Target & { readonly connection: Connection; readonly endpoint: string }
  readonly table: T
  /** The record's fields naming the table (`schema`, `table`…). */
  readonly place: Readonly<Record<string, string>>
  readonly safety: "disrupt" | "destroy"
  readonly kind: Compensation.Kind<A>
  readonly bounds: Bounds
  /** Whether rows are addressed (by primary key): then a table without one is refused. */
  readonly rows: boolean
  /** Whether the capture and the change share a transaction (not for DDL, which commits implicitly on MySQL). */
  readonly transactional?: boolean
  /** Read-only checks at plan time; throw `InvalidExperiment` for a bad name, return refusals for a scope that must not be touched. */
  readonly preflight: (s: S, info: I) => Promise<ReadonlyArray<Fault.Refusal>>
  /** Inside the held transaction: lock and read what the compensation needs. Throw to give up (nothing changed). */
  readonly capture: (s: S, info: I) => Promise<{ readonly record: object; readonly plan: P }>
  /** Inside the same transaction: the change, on exactly what was captured. */
  readonly inject: (s: S, info: I, plan: P) => Promise<void>
}

/** A record's own fields, as a capture returns them: the builder adds kind, target, server and table. */
export type Fields<A> = Omit<A, "kind" | keyof Base>

/** What an engine's fault says of itself: its engine's builder adds the engine, and the table as the record's place. */
export interface FaultOptions<S, I, G, A, P> {
  readonly id: string
  readonly title: string
  readonly target: G
  readonly table: TableName
  readonly safety: "disrupt" | "destroy"
  readonly kind: Compensation.Kind<A>
  readonly bounds: Bounds
  /** Rows addressed by primary key, changed in the capture's transaction (false: DDL). */
  readonly rows: boolean
  readonly preflight: (s: S, info: I) => Promise<ReadonlyArray<Fault.Refusal>>
  readonly capture: (s: S, info: I) => Promise<{ readonly record: Fields<A>; readonly plan: P }>
  readonly inject: (s: S, info: I, plan: P) => Promise<void>
}

interface Held<S, I, P> {
  readonly session: S
  readonly info: I
  readonly plan: P
  readonly timer: NodeJS.Timeout
}

/** A held transaction nobody injected into (the ledger write failed, say) is rolled back after this long. */
const holdMs = 30_000

export const make = <S, I, T, A, P>(o: TableFaultOptions<S, I, T, A, P>): Fault.Fault => {
  const e = o.engine
  const tx = o.transactional ?? true
  const key = `shiftup/data/${e.name}/held/${o.id}`
  const injectionFailed = (detail: string) => fail(new InjectionFailed({ fault: o.id, target: o.target.id, detail }))
  const unresolved = (detail: string) => fail(new TargetUnresolved({ target: o.target.id, detail }))
  const missing = (detail: string) => fail(new InvalidExperiment({ source: `fault "${o.id}"`, issues: [{ path: "table", message: detail }] }))
  const c = o.target.connection
  const base = { target: o.target.id, url: c.url, ...(c.passwordEnv === undefined ? {} : { passwordEnv: c.passwordEnv }), ...o.place }
  const noKey = (info: I) =>
    o.rows && !e.keyed(info) ? `${e.show(o.table)} has no primary key, so rows of a before-image could not be found again: add one, or leave this table out of the experiment` : undefined
  const release = (s: S) => (tx ? e.rollback(s).catch(() => undefined) : Promise.resolve()).then(() => e.close(s))
  return Fault.make({
    id: o.id,
    title: o.title,
    target: o.target,
    safety: o.safety,
    kind: o.kind.kind,
    contacts: [o.target.endpoint],
    provider: { module: providerModule, compensators: { [o.kind.kind]: o.kind.compensator } },
    preflight: e.withSession(c, unresolved, (s) =>
      e.readOnly(s, async () => {
        const info = await e.requireTable(s, o.table, missing)
        const without = noKey(info)
        if (without !== undefined) return [{ rule: `data.${e.name}.no-primary-key`, detail: without }]
        return o.preflight(s, info)
      }),
    ),
    compensation: Effect.gen(function* () {
      const { store } = yield* RunContext
      const session = yield* e.open(c, injectionFailed)
      const captured = yield* e
        .attempt(
          async () => {
            if (tx) await e.begin(session)
            const info = await e.requireTable(session, o.table, injectionFailed)
            const without = noKey(info)
            if (without !== undefined) throw injectionFailed(without)
            const { record, plan } = await o.capture(session, info)
            const made = o.kind.make({ ...record, ...base, description: (record as { readonly description?: string }).description ?? o.title } as unknown as Omit<A, "kind">)
            const bytes = Buffer.byteLength(JSON.stringify(made))
            if (bytes > o.bounds.maxBytes) throw injectionFailed(`the before-image would take ${bytes} bytes, over maxBytes (${o.bounds.maxBytes}); nothing was changed. Narrow the scope (where, sample) or raise maxBytes`)
            return { made, info, plan }
          },
          c,
          injectionFailed,
        )
        .pipe(Effect.tapError(() => Effect.promise(() => release(session))))
      const timer = setTimeout(() => void release(session), holdMs)
      timer.unref()
      store.set<Held<S, I, P>>(key, { session, info: captured.info, plan: captured.plan, timer })
      return captured.made
    }),
    inject: Effect.gen(function* () {
      const { store } = yield* RunContext
      const held = store.get<Held<S, I, P>>(key)
      store.delete(key)
      if (held === undefined) return yield* Effect.fail(injectionFailed("its capture did not run in this run (nothing was changed)"))
      clearTimeout(held.timer)
      yield* e
        .attempt(
          async () => {
            try {
              await o.inject(held.session, held.info, held.plan)
              if (tx) await e.commit(held.session)
            } catch (err) {
              if (tx) await e.rollback(held.session).catch(() => undefined)
              throw err
            }
          },
          c,
          injectionFailed,
        )
        .pipe(Effect.ensuring(Effect.promise(() => e.close(held.session))))
    }),
  })
}
