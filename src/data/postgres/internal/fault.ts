/**
 * How every PostgreSQL fault is built. At plan time (only when the policy allowed the target) a
 * read-only preflight checks the table exists, has a primary key, and that the scope fits the
 * before-image bounds — counted on the server, before anything is touched. At injection the
 * capture opens a transaction, locks the rows (or reads the definition) and builds the record;
 * the runner ledgers it; the injection then changes exactly what was captured in that same
 * transaction and commits. So no write can slip between the before-image and the change, and a
 * runner killed in between leaves nothing changed (the server rolls the transaction back).
 */
import { Effect } from "effect"
import type * as Compensation from "../../../Compensation.ts"
import * as Fault from "../../../Fault.ts"
import { RunContext } from "../../../RunContext.ts"
import { fail, InjectionFailed, InvalidExperiment, type Issue, TargetUnresolved } from "../../../ShiftupError.ts"
import type { PostgresTarget } from "../targets.ts"
import { requireTable, type TableInfo } from "./catalog.ts"
import { attempt, open, type Session, transaction, withSession } from "./client.ts"
import type { Base } from "./kind.ts"
import { show, type TableName } from "./sql.ts"

/** The module a fresh process imports to get the compensators again (`recover`, the watchdog). */
export const providerModule = "shiftup/data"

/** Options every data fault takes. */
export interface DataFaultOptions {
  /** Step id; default `<fault> <table>`. */
  readonly id?: string
  /** The most rows a before-image may hold; a larger scope is refused before anything is touched. Default 10 000. */
  readonly maxRows?: number
  /** The most bytes a before-image may hold (its JSON in the ledger). Default 16 MiB. */
  readonly maxBytes?: number
}

export const defaults = { maxRows: 10_000, maxBytes: 16 * 1024 * 1024 }

/** Issues with the bounds of `o` (positive integers). */
export const boundIssues = (o: DataFaultOptions): ReadonlyArray<Issue> =>
  (["maxRows", "maxBytes"] as const).flatMap((k) => (o[k] === undefined || (Number.isInteger(o[k]) && (o[k] as number) > 0) ? [] : [{ path: k, message: `${k} must be a positive integer` }]))

/** Refuses a fault's options when it is built (every issue at once). */
export const invalidOptions = (fault: string, issues: ReadonlyArray<Issue>): void => {
  if (issues.length > 0) throw fail(new InvalidExperiment({ source: `shiftup/data Postgres.${fault}`, issues }))
}

/** A record's own fields, as a capture returns them: the builder adds kind, target, server and table. */
export type Fields<A> = Omit<A, "kind" | keyof Base>

export interface PgFaultOptions<A, P> {
  readonly id: string
  readonly title: string
  readonly target: PostgresTarget
  readonly table: TableName
  readonly safety: "disrupt" | "destroy"
  readonly kind: Compensation.Kind<A>
  readonly bounds: { readonly maxRows: number; readonly maxBytes: number }
  /** Whether rows are addressed (by primary key): then a table without one is refused. */
  readonly rows: boolean
  /** Read-only checks at plan time; throw `InvalidExperiment` for a bad name, return refusals for a scope that must not be touched. */
  readonly preflight: (s: Session, info: TableInfo) => Promise<ReadonlyArray<Fault.Refusal>>
  /** Inside the held transaction: lock and read what the compensation needs. Throw to give up (nothing changed). */
  readonly capture: (s: Session, info: TableInfo) => Promise<{ readonly record: Fields<A>; readonly plan: P }>
  /** Inside the same transaction: the change, on exactly what was captured. */
  readonly inject: (s: Session, info: TableInfo, plan: P) => Promise<void>
}

interface Held<P> {
  readonly session: Session
  readonly info: TableInfo
  readonly plan: P
  readonly timer: NodeJS.Timeout
}

/** A held transaction nobody injected into (the ledger write failed, say) is rolled back after this long. */
const holdMs = 30_000

export const make = <A, P>(o: PgFaultOptions<A, P>): Fault.Fault => {
  const key = `shiftup/data/postgres/held/${o.id}`
  const injectionFailed = (detail: string) => fail(new InjectionFailed({ fault: o.id, target: o.target.id, detail }))
  const unresolved = (detail: string) => fail(new TargetUnresolved({ target: o.target.id, detail }))
  const missing = (detail: string) => fail(new InvalidExperiment({ source: `fault "${o.id}"`, issues: [{ path: "table", message: detail }] }))
  const c = o.target.connection
  const base = { target: o.target.id, url: c.url, ...(c.passwordEnv === undefined ? {} : { passwordEnv: c.passwordEnv }), schema: o.table.schema, table: o.table.name }
  const noKey = (info: TableInfo) =>
    o.rows && info.key.length === 0 ? `${show(info.table)} has no primary key, so rows of a before-image could not be found again: add one, or leave this table out of the experiment` : undefined
  return Fault.make({
    id: o.id,
    title: o.title,
    target: o.target,
    safety: o.safety,
    kind: o.kind.kind,
    contacts: [o.target.endpoint],
    provider: { module: providerModule, compensators: { [o.kind.kind]: o.kind.compensator } },
    preflight: withSession(c, unresolved, (s) =>
      transaction(s, "read only", async () => {
        const info = await requireTable(s, o.table, missing)
        const without = noKey(info)
        if (without !== undefined) return [{ rule: "data.postgres.no-primary-key", detail: without }]
        return o.preflight(s, info)
      }),
    ),
    compensation: Effect.gen(function* () {
      const { store } = yield* RunContext
      const session = yield* open(c, injectionFailed)
      const captured = yield* attempt(
        async () => {
          await session.query("BEGIN READ WRITE")
          const info = await requireTable(session, o.table, injectionFailed)
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
      ).pipe(Effect.tapError(() => Effect.promise(() => session.query("ROLLBACK").catch(() => undefined).then(() => session.close()))))
      const timer = setTimeout(() => void session.query("ROLLBACK").catch(() => undefined).then(() => session.close()), holdMs)
      timer.unref()
      store.set<Held<P>>(key, { session, info: captured.info, plan: captured.plan, timer })
      return captured.made
    }),
    inject: Effect.gen(function* () {
      const { store } = yield* RunContext
      const held = store.get<Held<P>>(key)
      store.delete(key)
      if (held === undefined) return yield* Effect.fail(injectionFailed("its capture did not run in this run (nothing was changed)"))
      clearTimeout(held.timer)
      yield* attempt(
        async () => {
          try {
            await o.inject(held.session, held.info, held.plan)
            await held.session.query("COMMIT")
          } catch (e) {
            await held.session.query("ROLLBACK").catch(() => undefined)
            throw e
          }
        },
        c,
        injectionFailed,
      ).pipe(Effect.ensuring(Effect.promise(() => held.session.close())))
    }),
  })
}

/** `InvalidExperiment` for one option of a fault that names something the server does not have. */
export const issueError = (source: string, path: string, message: string) => fail(new InvalidExperiment({ source, issues: [{ path, message }] }))

/** The refusals of a scope of `rows` rows and about `bytes` bytes under `bounds`. */
export const scopeRefusals = (table: string, rows: number, bytes: number, bounds: { readonly maxRows: number; readonly maxBytes: number }): ReadonlyArray<Fault.Refusal> => [
  ...(rows > bounds.maxRows ? [{ rule: "data.postgres.scope-too-large", detail: `${rows} rows of ${table} are in scope, over maxRows (${bounds.maxRows}): narrow it with \`where\` or \`sample\`, or raise maxRows` }] : []),
  ...(bytes > bounds.maxBytes ? [{ rule: "data.postgres.scope-too-large", detail: `the before-image of ${table} would take about ${bytes} bytes, over maxBytes (${bounds.maxBytes}): narrow the scope, or raise maxBytes` }] : []),
]
