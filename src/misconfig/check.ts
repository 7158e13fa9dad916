/**
 * `noMisconfiguration`: the rules as an experiment check, so a misconfiguration is looked for
 * *during* a fault — "is the fallback container the failover started still unprivileged while
 * the primary is down?". The probe reads the target's containers as the Docker probes do (in a
 * run, the planned members), turns each into an inventory asset and evaluates the rules; the
 * check holds when no rule finds anything. Read-only: only the engine is asked.
 */
import { Effect } from "effect"
import * as Expect from "../Expect.ts"
import * as Probe from "../Probe.ts"
import type { ContainerTarget } from "../docker/targets.ts"
import { assetOf } from "../inventory/sources/docker.ts"
import { evaluate } from "./evaluate.ts"
import type { MisconfigSettings } from "./settings.ts"
import type { Finding, Rule } from "./model.ts"

export interface NoMisconfigurationOptions extends Expect.CheckOptions {
  /** The profile the rules run under; default the settings' choice for each container, else `web`. */
  readonly profile?: string
  readonly settings?: MisconfigSettings
}

/** The findings of `rules` on the target's containers, as a probe's value. */
export const findingsProbe = (target: ContainerTarget, rules: ReadonlyArray<Rule | string>, options: NoMisconfigurationOptions = {}): Probe.Probe<ReadonlyArray<Finding>> => {
  const id = `${target.id} misconfiguration`
  return Probe.make({
    id,
    target,
    // The Docker client (dockerode) loads when the probe first runs, not when shiftup/inventory is imported.
    observe: Effect.map(
      Effect.flatMap(
        Effect.promise(() => import("../docker/internal/observe.ts")),
        ({ observed }) => observed(target, id),
      ),
      (containers) =>
      evaluate(
        containers.map((c) => assetOf(c, undefined, {}, "local", true, undefined)),
        { rules, ...(options.profile === undefined ? {} : { profile: options.profile }), ...(options.settings === undefined ? {} : { settings: options.settings }) },
      ).findings,
    ),
  })
}

/**
 * Holds when none of `rules` finds anything on the target's containers.
 *
 * @example
 * Expect.noMisconfiguration(fallback, ["container.privileged", "container.docker-socket"])
 */
export const noMisconfiguration = (target: ContainerTarget, rules: ReadonlyArray<Rule | string>, options: NoMisconfigurationOptions = {}): Expect.Check<ReadonlyArray<Finding>> => {
  const ids = rules.map((r) => (typeof r === "string" ? r : r.id))
  return Expect.that(
    findingsProbe(target, rules, options),
    Expect.predicate(`no misconfiguration (${ids.join(", ")})`, (findings: ReadonlyArray<Finding>) => findings.length === 0),
    { severity: "high", remediation: "See each finding's remediation (docs/misconfig.md).", ...options },
  )
}
