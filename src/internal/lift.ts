/**
 * Lets Promise users write probes, faults and compensations as plain functions: a value, a
 * Promise or an Effect is lifted into an Effect whose failures (and throws) become the given
 * typed error, so no exception can escape the runner untyped.
 */
import { Cause, Effect } from "effect"
import { describeUnknown, isShiftupError, type ShiftupError } from "../ShiftupError.ts"

export type Thunk<A> = Effect.Effect<A, ShiftupError> | (() => A | Promise<A> | Effect.Effect<A, ShiftupError>)

export const lift = <A>(thunk: Thunk<A>, onError: (detail: string) => ShiftupError): Effect.Effect<A, ShiftupError> => {
  const effect: Effect.Effect<A, ShiftupError> = Effect.isEffect(thunk)
    ? thunk
    : Effect.suspend(() => {
        const out = thunk()
        if (Effect.isEffect(out)) return out
        // A rejected ShiftupError keeps its reason, as a thrown one does below.
        if (out instanceof Promise) return Effect.tryPromise({ try: () => out, catch: (e) => (isShiftupError(e) ? e : onError(describeUnknown(e))) })
        return Effect.succeed(out)
      })
  return effect.pipe(
    Effect.catchCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
      const error = Cause.squash(cause)
      if (isShiftupError(error)) return Effect.fail(error)
      return Effect.fail(onError(describeUnknown(error)))
    }),
  )
}
