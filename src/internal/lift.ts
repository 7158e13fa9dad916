/**
 * Lets Promise users write probes, faults and compensations as plain functions: a value, a
 * Promise or an Effect is lifted into an Effect whose failures (and throws) become the given
 * typed error, with what was thrown as its cause, so no exception can escape the runner untyped.
 */
import { Cause, Effect } from "effect"
import { describeUnknown, isShiftupError, type ShiftupError } from "../ShiftupError.ts"

export type Thunk<A> = Effect.Effect<A, ShiftupError> | (() => A | Promise<A> | Effect.Effect<A, ShiftupError>)

/**
 * A function given an AbortSignal that fires when the run no longer wants its answer (an abort,
 * a halt, a deadline): a Promise-returning probe passes it to what it awaits, so it stops.
 */
export type Abortable<A> = (signal: AbortSignal) => A | Promise<A> | Effect.Effect<A, ShiftupError>

export const lift = <A>(thunk: Thunk<A> | Abortable<A>, onError: (detail: string, cause: unknown) => ShiftupError): Effect.Effect<A, ShiftupError> => {
  const effect: Effect.Effect<A, ShiftupError> = Effect.isEffect(thunk)
    ? thunk
    : Effect.suspend(() => {
        const controller = new AbortController()
        const out = thunk(controller.signal)
        if (Effect.isEffect(out)) return out
        // A rejected ShiftupError keeps its reason, as a thrown one does below. Interrupting the
        // wait aborts the signal the function was given.
        if (out instanceof Promise)
          return Effect.tryPromise({ try: () => out, catch: (e) => (isShiftupError(e) ? e : onError(describeUnknown(e), e)) }).pipe(
            Effect.onInterrupt(() => Effect.sync(() => controller.abort(new Error("interrupted: the run no longer waits for this")))),
          )
        return Effect.succeed(out)
      })
  return effect.pipe(
    Effect.catchCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
      const error = Cause.squash(cause)
      if (isShiftupError(error)) return Effect.fail(error)
      return Effect.fail(onError(describeUnknown(error), error))
    }),
  )
}
