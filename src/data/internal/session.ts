/**
 * What an SQL engine's sessions share once it can open one: `attempt` (a Promise of ours as an
 * Effect, a `ShiftupError` thrown inside kept as it is, anything else described the engine's
 * way), `withSession` (a session closed afterwards, whatever happens) and `transaction`
 * (committed when `f` returns, rolled back when it throws), begun with the engine's statements.
 */
import { Effect } from "effect"
import { isShiftupError, type ShiftupError } from "../../ShiftupError.ts"
import type { Connection, SessionOptions } from "./connection.ts"

interface Closable {
  readonly query: (text: string) => Promise<unknown>
  readonly close: () => Promise<void>
}

/** How an engine begins a transaction of each mode. */
export interface Begin {
  readonly "read only": string
  readonly "read write": string
}

export const make = <S extends Closable, O extends SessionOptions>(
  open: (c: Connection, wrap: (detail: string) => ShiftupError, options?: O) => Effect.Effect<S, ShiftupError>,
  describe: (e: unknown, c: Connection) => string,
  begin: Begin,
) => {
  /** A Promise of ours as an Effect: a `ShiftupError` thrown inside stays itself, anything else is described. */
  const attempt = <A>(f: () => Promise<A>, c: Connection, wrap: (detail: string) => ShiftupError): Effect.Effect<A, ShiftupError> =>
    Effect.tryPromise({ try: f, catch: (e) => (isShiftupError(e) ? e : wrap(describe(e, c))) })
  /** Runs `f` in a session that is closed afterwards, whatever happens; a thrown error becomes `wrap`'s. */
  const withSession = <A>(c: Connection, wrap: (detail: string) => ShiftupError, f: (s: S) => Promise<A>, options?: O): Effect.Effect<A, ShiftupError> =>
    Effect.acquireUseRelease(
      open(c, wrap, options),
      (s) => attempt(() => f(s), c, wrap),
      (s) => Effect.promise(() => s.close()),
    )
  /** Runs `f` in a transaction: committed when it returns, rolled back when it throws. */
  const transaction = async <A>(s: S, mode: "read only" | "read write", f: () => Promise<A>): Promise<A> => {
    await s.query(begin[mode])
    try {
      const a = await f()
      await s.query("COMMIT")
      return a
    } catch (e) {
      await s.query("ROLLBACK").catch(() => undefined)
      throw e
    }
  }
  return { attempt, withSession, transaction }
}
