/**
 * Configuration: a typed `shiftup.config.ts` written with `defineConfig`. It can tighten the
 * policy and the budget and register compensators for `recover`; it can never lower the floor.
 */
import { Duration, Schema } from "effect"
import { BudgetSchema, type Budget } from "./Budget.ts"
import { builtins, type Compensators } from "./Compensation.ts"
import { decodeAll } from "./internal/validate.ts"
import { PolicySettingsSchema, type PolicySettings } from "./Policy.ts"
import { fail, InvalidConfig } from "./ShiftupError.ts"

export interface Config {
  readonly policy?: PolicySettings
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
}

const ConfigSchema = Schema.Struct({
  policy: Schema.optionalKey(PolicySettingsSchema),
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
  const issues = [...decodeAll(ConfigSchema, config), ...replaced]
  if (issues.length > 0) throw fail(new InvalidConfig({ source, issues }))
  return config
}
