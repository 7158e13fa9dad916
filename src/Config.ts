/**
 * Configuration: a typed `shiftup.config.ts` written with `defineConfig`. It can tighten the
 * policy and the budget and register compensators for `recover`; it can never lower the floor.
 */
import { isAbsolute } from "node:path"
import { Duration, Schema } from "effect"
import { BudgetSchema, type Budget } from "./Budget.ts"
import { builtins, type Compensators } from "./Compensation.ts"
import { stepDown, type Exception } from "./internal/classify.ts"
import { decodeAll } from "./internal/validate.ts"
import { InventorySettingsSchema, type InventorySettings } from "./inventory/settings.ts"
import { MisconfigSettingsSchema, profileIssues, type MisconfigSettings } from "./misconfig/settings.ts"
import { PolicySettingsSchema, type PolicySettings } from "./Policy.ts"
import { fail, InvalidConfig } from "./ShiftupError.ts"
import { FeedbackSettingsSchema, type FeedbackSettings } from "./watch/feedback/settings.ts"
import { WatchSettingsSchema, type WatchSettings } from "./watch/settings.ts"

export interface Config {
  readonly policy?: PolicySettings
  /**
   * Named overrides of the evidence for mislabelled members: each moves ONE member (by id or
   * name) ONE step down (production → staging → development → lab) when its signals resolve to
   * `from`; never out of production for a data store. Shown in the plan, kept in the journal.
   *
   * @example
   * exceptions: [{ name: "orders-1 runs staging despite its prod name (OPS-42)", member: "orders-prod-1", from: "production", to: "staging" }]
   */
  readonly exceptions?: ReadonlyArray<Exception>
  /**
   * Target leases: by default in this user's private runtime directory, so two runs of the same
   * user never inject into one member at once. `dir`: a directory shared by a team on a game-day
   * host (group-owned, not world-writable) — an explicit opt-in.
   */
  readonly leases?: { readonly dir?: string }
  /** Caps on every experiment's budget. */
  readonly budget?: Budget
  /**
   * Extra compensation kinds (kind → function or `CompensatorSpec`) that runs ledger and
   * `recover` replays. Adds kinds only: a built-in kind (`http.request`, `file.restore`,
   * `ephemeral`) cannot be replaced.
   */
  readonly compensators?: Compensators
  /** Where ledgers and journals go; default `.shiftup` in the working directory. */
  readonly stateDir?: string
  /** Default timeout of each rollback; default 10 seconds. */
  readonly rollbackTimeout?: Duration.Input
  /**
   * The file this config was loaded from (set by the CLI's `--config` loading, or by you when you
   * load it yourself): `recover` and the watchdog import it again to replay its `compensators`.
   * A config without it cannot provide compensators to a run (a crash could not be undone).
   */
  readonly module?: string
  /**
   * The game-day control directory (`shiftup halt`, `pause`, `resume`), an absolute path; default
   * `~/.local/state/shiftup/control`, per user. `SHIFTUP_CONTROL_DIR` overrides it. The way to
   * share controls with a team on a game-day host: a directory owned by you or root, with a
   * group and the setgid bit (`chmod 2770`), e.g. `/srv/shiftup/control`. See docs/gameday.md.
   */
  readonly controlDir?: string
  /**
   * `shiftup inventory`: the Docker engines and network endpoints to inventory, the scan's safety
   * settings (observe opt-in, extra egress) and the drift rules of `shiftup inventory diff`.
   * See docs/inventory.md.
   *
   * @example
   * inventory: { docker: true, endpoints: [{ target: "127.0.0.1", ports: [443, 6379], environment: "staging" }], rules: [{ name: "no new ports", kinds: ["port-opened"] }] }
   */
  readonly inventory?: InventorySettings
  /**
   * `shiftup misconfig`: the environment profile in force per environment or target, and the
   * config's own profiles extending a built-in one (they may only tighten the floor).
   * See docs/misconfig.md.
   *
   * @example
   * misconfig: { environments: { production: "healthcare" }, targets: { "billing-db": "payments" }, profiles: { clinic: { extends: "healthcare", certExpiryDays: 45 } } }
   */
  readonly misconfig?: MisconfigSettings
  /**
   * `shiftup watch`: observe-only jobs on schedules (experiments whose every step is observe-class,
   * inventory snapshots with drift), the finding store, the health and metrics port. See docs/watch.md.
   *
   * @example
   * watch: { jobs: [{ name: "gateway-auth", experiment: "experiments/gateway.denies-anonymous.ts", every: "5 minutes", jitter: "30 seconds" }, { name: "inventory", inventory: true, cron: "0 * * * *" }] }
   */
  readonly watch?: WatchSettings
  /**
   * `shiftup feedback`: where regression experiments are written, and which non-production target
   * stands in for each production one (by URL origin, `host:port` or container selector).
   * See docs/watch.md, "The feedback loop".
   *
   * @example
   * feedback: { dir: "experiments/regressions", map: [{ production: "https://api.example", to: "http://127.0.0.1:8081" }, { production: { container: "auth" }, to: { container: "auth-staging" } }] }
   */
  readonly feedback?: FeedbackSettings
}

const ConfigSchema = Schema.Struct({
  policy: Schema.optionalKey(PolicySettingsSchema),
  leases: Schema.optionalKey(Schema.Struct({ dir: Schema.optionalKey(Schema.String) })),
  exceptions: Schema.optionalKey(
    Schema.Array(
      Schema.Struct({
        name: Schema.String.check(Schema.isMinLength(1)),
        member: Schema.String.check(Schema.isMinLength(1)),
        from: Schema.Literals(["production", "staging", "development"]),
        to: Schema.Literals(["staging", "development", "lab"]),
      }),
    ),
  ),
  budget: Schema.optionalKey(BudgetSchema),
  compensators: Schema.optionalKey(
    Schema.Record(
      Schema.String,
      Schema.declare((u): u is object => typeof u === "function" || (typeof u === "object" && u !== null && typeof (u as { apply?: unknown }).apply === "function"), {
        expected: "a compensator: a function, or { apply, schema?, verify?, settleMs? }",
      }),
    ),
  ),
  stateDir: Schema.optionalKey(Schema.String),
  rollbackTimeout: Schema.optionalKey(Schema.Union([Schema.Number, Schema.String])),
  module: Schema.optionalKey(Schema.String),
  inventory: Schema.optionalKey(InventorySettingsSchema),
  misconfig: Schema.optionalKey(MisconfigSettingsSchema),
  watch: Schema.optionalKey(WatchSettingsSchema),
  feedback: Schema.optionalKey(FeedbackSettingsSchema),
  controlDir: Schema.optionalKey(Schema.String.check(Schema.makeFilter((s) => (isAbsolute(s) ? undefined : `must be an absolute path (runs and \`shiftup halt\` must name the same directory wherever they start), got ${JSON.stringify(s)}`)))),
})

/**
 * Validates a configuration, reporting every problem at once.
 *
 * @example
 * // shiftup.config.ts
 * export default defineConfig({ policy: { allow: { staging: ["observe"] } }, budget: { maxTargets: 3 } })
 */
export const defineConfig = (config: Config, source = "shiftup.config.ts"): Config => {
  const replaced = Object.keys(config.compensators ?? {})
    .filter((kind) => Object.hasOwn(builtins, kind))
    .map((kind) => ({ path: `compensators.${kind}`, message: `"${kind}" is a built-in compensation kind and cannot be replaced (a replaced undo could silently do nothing); give your compensator a kind of its own, e.g. "myteam.${kind}"` }))
  const decoded = decodeAll(ConfigSchema, config)
  const issues = [
    ...decoded,
    ...(decoded.length === 0 && config.misconfig !== undefined ? profileIssues(config.misconfig) : []),
    ...replaced,
    ...(config.exceptions ?? []).flatMap((x, i) =>
      stepDown[x.from] === x.to ? [] : [{ path: `exceptions[${i}].to`, message: `an exception moves a member one step only: from ${x.from} to ${stepDown[x.from]}, not ${x.to}` }],
    ),
  ]
  if (issues.length > 0) throw fail(new InvalidConfig({ source, issues }))
  return config
}
