/**
 * Configuration: a typed `shiftup.config.ts` written with `defineConfig`. It can tighten the
 * policy and the budget and register compensators for `recover`; it can never lower the floor.
 */
import { isAbsolute } from "node:path"
import { Duration, Schema } from "effect"
import { BudgetSchema, type Budget } from "./Budget.ts"
import type { Compensators } from "./Compensation.ts"
import { decodeAll } from "./internal/validate.ts"
import { PolicySettingsSchema, type PolicySettings } from "./Policy.ts"
import { fail, InvalidConfig } from "./ShiftupError.ts"

export interface Config {
  readonly policy?: PolicySettings
  /** Caps on every experiment's budget. */
  readonly budget?: Budget
  /** Extra compensators (kind → function) this process can replay. */
  readonly compensators?: Compensators
  /** Where ledgers and journals go; default `.shiftup` in the working directory. */
  readonly stateDir?: string
  /** Default timeout of each rollback; default 10 seconds. */
  readonly rollbackTimeout?: Duration.Input
  /**
   * The game-day control directory (`shiftup halt`, `pause`, `resume`), an absolute path; default
   * `~/.local/state/shiftup/control`, per user. `SHIFTUP_CONTROL_DIR` overrides it. The way to
   * share controls with a team on a game-day host: a directory owned by you or root, with a
   * group and the setgid bit (`chmod 2770`), e.g. `/srv/shiftup/control`. See docs/gameday.md.
   */
  readonly controlDir?: string
}

const ConfigSchema = Schema.Struct({
  policy: Schema.optionalKey(PolicySettingsSchema),
  budget: Schema.optionalKey(BudgetSchema),
  compensators: Schema.optionalKey(Schema.Record(Schema.String, Schema.declare((u): u is (...a: never) => unknown => typeof u === "function", { expected: "a compensator function" }))),
  stateDir: Schema.optionalKey(Schema.String),
  rollbackTimeout: Schema.optionalKey(Schema.Union([Schema.Number, Schema.String])),
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
  const issues = decodeAll(ConfigSchema, config)
  if (issues.length > 0) throw fail(new InvalidConfig({ source, issues }))
  return config
}
