/**
 * The environment profile a probe of shiftup/http judges under (its required headers, leakage
 * patterns and rule severities): the one the probe is given, else the one the run put in force
 * for the probe's target — what `shiftup plan` shows — else `web`, the default profile.
 */
import { Effect } from "effect"
import { resolveProfile, type Profile } from "../misconfig/profiles.ts"
import { RunContext } from "../RunContext.ts"

/** A profile: a built-in one's name, or a resolved profile (`Misconfig.resolveProfile(name, config.misconfig.profiles)` for a config's own). */
export type ProfileChoice = Profile | string

/** Resolves a probe's `profile` option when the probe is built: an unknown name fails then (InvalidConfig), not mid-run. */
export const given = (choice: ProfileChoice | undefined): Profile | undefined => (choice === undefined ? undefined : typeof choice === "string" ? resolveProfile(choice, {}, "the probe's profile option") : choice)

/** The profile for a probe of `target`: `pinned`, else the run's for the target, else `web`. */
export const inForce = (target: string, pinned: Profile | undefined): Effect.Effect<Profile> =>
  pinned !== undefined
    ? Effect.succeed(pinned)
    : Effect.gen(function* () {
        const run = yield* RunContext
        return run.profile?.(target) ?? resolveProfile("web")
      })
