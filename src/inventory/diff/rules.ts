/**
 * "Must not happen" rules over drift: each names the kinds of change or finding it forbids,
 * optionally only on some assets (`*` wildcards on asset ids) or in some environments. A
 * violation makes `shiftup inventory diff` exit 1 (a finding, in the CLI's contract).
 */
import { Schema } from "effect"
import { glob } from "../../internal/glob.ts"
import type { Environment } from "../../Target.ts"
import type { Change, ChangeKind, Finding, FindingKind } from "./diff.ts"

export interface Rule {
  /** Shown with each violation: say why it must not happen. */
  readonly name: string
  readonly kinds: ReadonlyArray<ChangeKind | FindingKind>
  /** Asset ids (`*` wildcards), e.g. `docker:prod/*`; default every asset. */
  readonly assets?: ReadonlyArray<string>
  /** Only in these environments (the asset's, in the new snapshot); default every one. */
  readonly environments?: ReadonlyArray<Environment>
  /** A further condition, for rules a list cannot say. */
  readonly where?: (item: Change | Finding) => boolean
}

export interface Violation {
  readonly rule: string
  readonly item: Change | Finding
}

export const changeKinds: ReadonlyArray<ChangeKind> = [
  "asset-added", "asset-removed", "port-opened", "port-closed", "image-changed", "package-changed", "classification-changed", "owner-changed", "labels-changed",
  "state-changed", "restarted", "recreated", "privileges-changed", "mounts-changed", "networks-changed", "restart-policy-changed", "healthcheck-changed",
  "fingerprint-changed", "certificate-changed", "tls-changed", "http-changed",
]
export const findingKinds: ReadonlyArray<FindingKind> = ["certificate-expired", "certificate-expiring", "image-aging", "not-restarted", "orphan"]

export const RuleSchema = Schema.Struct({
  name: Schema.String.check(Schema.isMinLength(1)),
  kinds: Schema.Array(Schema.Literals([...changeKinds, ...findingKinds])).check(Schema.isMinLength(1)),
  assets: Schema.optionalKey(Schema.Array(Schema.String)),
  environments: Schema.optionalKey(Schema.Array(Schema.Literals(["production", "staging", "development", "lab", "unknown"]))),
  where: Schema.optionalKey(Schema.declare((u): u is (item: Change | Finding) => boolean => typeof u === "function", { expected: "a function (item) => boolean" })),
})

/** Every (rule, item) pair where the item is something the rule forbids. */
export const violations = (items: ReadonlyArray<Change | Finding>, rules: ReadonlyArray<Rule>): ReadonlyArray<Violation> =>
  rules.flatMap((r) => {
    const patterns = r.assets?.map(glob)
    return items
      .filter(
        (i) =>
          (r.kinds as ReadonlyArray<string>).includes(i.kind) &&
          (patterns === undefined || patterns.some((p) => p.test(i.asset))) &&
          (r.environments === undefined || r.environments.includes(i.environment)) &&
          (r.where === undefined || r.where(i)),
      )
      .map((item) => ({ rule: r.name, item }))
  })
