/**
 * Which check reproduces a stored finding: the same rule, regenerated as code. A finding of a
 * `shiftup/http` probe (its check id is `<probe id>: <rule id>`, the probe one of those that need
 * nothing but a target and a path) becomes that probe with that rule; a finding of a
 * misconfiguration rule becomes `Misconfig.noMisconfiguration(target, [rule])`. The check keeps
 * the production check's id, so the staging run's journal names the finding exactly as the
 * production one did. Other checks are code only their author can re-aim: refused with a reason.
 */
import { rules as httpRules, type RuleId } from "../../http/findings.ts"
import { rules as misconfigRules } from "../../misconfig/evaluate.ts"
import { fail, InvalidArguments } from "../../ShiftupError.ts"
import type { StoredFinding } from "../store/Store.ts"

/** The `shiftup/http` probes a recipe can rebuild, with how their default ids read. */
const httpProbes = [
  { module: "Headers", pattern: /^(.+) headers (\S+)$/, path: true },
  { module: "Cors", pattern: /^(.+) cors (\S+)$/, path: true },
  { module: "Leakage", pattern: /^(.+) leakage$/, path: false },
  { module: "Exposure", pattern: /^(.+) exposed status pages$/, path: false },
  { module: "Redirect", pattern: /^(.+) plain HTTP redirects to HTTPS$/, path: false },
  { module: "Tls", pattern: /^(.+) tls$/, path: false },
] as const

export type HttpProbeModule = (typeof httpProbes)[number]["module"]

export type Recipe =
  | {
      readonly _tag: "Http"
      readonly rule: RuleId
      readonly probe: HttpProbeModule
      readonly path?: string
      readonly probeId: string
      readonly checkId: string
      /** The experiment and check of the production finding, when it came from one. */
      readonly experimentId: string
    }
  | { readonly _tag: "Misconfig"; readonly rule: string; readonly checkId: string; readonly experimentId?: string }

/** `<experiment id>/<check id>` (a journal finding's store rule), or undefined for other sources. */
export const splitRule = (rule: string): { readonly experimentId: string; readonly checkId: string } | undefined => {
  const slash = rule.indexOf("/")
  if (slash <= 0) return undefined
  const experimentId = rule.slice(0, slash)
  return /^[a-z0-9][a-z0-9._-]*$/.test(experimentId) ? { experimentId, checkId: rule.slice(slash + 1) } : undefined
}

const isMisconfigRule = (id: string) => misconfigRules.some((r) => r.id === id && r.id.startsWith("container."))

/** The recipe of a finding, or `InvalidArguments` saying why there is none. */
export const recipeOf = (f: StoredFinding): Recipe => {
  const parts = splitRule(f.rule)
  if (parts !== undefined) {
    const m = /^(.*): ([a-z]+\.[a-z0-9-]+)$/.exec(parts.checkId)
    const rule = m?.[2]
    if (m !== null && rule !== undefined && Object.hasOwn(httpRules, rule)) {
      const probeId = m[1] as string
      for (const p of httpProbes) {
        const got = p.pattern.exec(probeId)
        if (got !== null) return { _tag: "Http", rule: rule as RuleId, probe: p.module, ...(p.path ? { path: got[2] as string } : {}), probeId, checkId: parts.checkId, experimentId: parts.experimentId }
      }
    }
  }
  // A misconfiguration job's finding (`misconfig/<rule>`, `<job>/<rule>`, or the rule alone).
  const last = f.rule.slice(f.rule.lastIndexOf("/") + 1)
  if (isMisconfigRule(last)) return { _tag: "Misconfig", rule: last, checkId: `misconfig: ${last}`, ...(parts === undefined ? {} : { experimentId: parts.experimentId }) }
  throw fail(
    new InvalidArguments({
      detail: `finding ${f.fingerprint} (rule ${f.rule}) was made by a check \`shiftup feedback\` cannot rebuild against another target: it regenerates the checks of shiftup/http probes (Headers, Cors, Leakage, Exposure, Redirect, Tls: \`<probe id>: <rule id>\`) and of container misconfiguration rules; write this regression experiment by hand (the finding's rule and asset are in \`shiftup findings --format json\`)`,
    }),
  )
}
