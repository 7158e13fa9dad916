/**
 * Misconfiguration rules and environment profiles, exported from `shiftup/inventory` as
 * `Misconfig`: rules as data (pure functions of inventory facts, with CIS Docker Benchmark, CWE
 * and OWASP ASVS references), the profiles `web`, `healthcare`, `payments` and `internal` that
 * set their severities and thresholds, evaluation, text/JSON/SARIF output and the experiment
 * check `noMisconfiguration`. docs/misconfig.md documents every rule and profile.
 *
 * @example
 * import { Misconfig, take } from "shiftup/inventory"
 * const snapshot = await take({ docker: true })
 * const { findings } = Misconfig.evaluate(snapshot.assets, { profile: "healthcare" })
 */
export { findingsProbe, noMisconfiguration, type NoMisconfigurationOptions } from "./check.ts"
export { containerRules, dangerousCapabilities, sensitiveHostPaths } from "./container-rules.ts"
export { endpointRules } from "./endpoint-rules.ts"
export { catalogue, evaluate, judge, profileFor, rules, type EvaluateOptions, type Evaluation, type InForce } from "./evaluate.ts"
export { httpRules } from "./http-rules.ts"
export { select, type ProfileSource, type Subject } from "./select.ts"
export { profileIssues, type MisconfigSettings } from "./settings.ts"
export { findLeaks, luhn, maskLeaks, type Leak } from "./leakage.ts"
export { defineRule, severities, type Finding, type References, type Rule, type RuleContext, type RuleSpec, type Severity } from "./model.ts"
export { floor, loosenings, profiles, resolveProfile, type FaultClass, type LeakPattern, type Profile, type ProfileName, type ProfileOverride, type TlsVersion } from "./profiles.ts"
export { render } from "./render.ts"
