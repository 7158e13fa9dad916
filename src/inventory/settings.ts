/**
 * The `inventory` section of `shiftup.config.ts`: which sources `shiftup inventory` reads, the
 * safety settings of its scan, and the drift rules of `shiftup inventory diff`. Typed here,
 * validated with the rest of the config (every issue at once).
 */
import { Schema } from "effect"
import { isEgressEntry } from "../internal/egress.ts"
import type { Environment } from "../Target.ts"
import { RuleSchema, type Rule } from "./diff/rules.ts"

export interface InventoryDocker {
  /** The engine's name in asset ids; default `local`. */
  readonly name?: string
  /** `tcp://host:port` or `unix:///path`; default `DOCKER_HOST` or the default socket. */
  readonly host?: string
  readonly socketPath?: string
  /** Only containers with all these labels (`key` or `key=value`). */
  readonly labels?: ReadonlyArray<string>
}

export interface InventoryEndpoint {
  /** `host:port`, `[v6]:port`, a host or an IPv4 CIDR. */
  readonly target: string
  readonly ports?: ReadonlyArray<number>
  readonly environment?: Environment
  readonly dataStore?: boolean | string
  readonly owner?: string
  readonly labels?: Readonly<Record<string, string>>
}

export interface InventorySettings {
  /** `true`: the local engine; or engines by address, each with a name of its own. */
  readonly docker?: boolean | InventoryDocker | ReadonlyArray<InventoryDocker>
  readonly endpoints?: ReadonlyArray<string | InventoryEndpoint>
  /** Ports scanned on a host or CIDR without its own list. */
  readonly ports?: ReadonlyArray<number>
  /** Connections (and Docker inspects) in flight at once. */
  readonly concurrency?: number
  /** Connect deadline of the scan, in milliseconds; default 1000. */
  readonly timeoutMs?: number
  /** The explicit opt-in to observing production (an unknown environment is production). */
  readonly observeProduction?: boolean
  /** Destinations beyond loopback the scan may reach (CIDRs or addresses). */
  readonly egress?: ReadonlyArray<string>
  /** Extra label keys naming an owner. */
  readonly ownerLabels?: ReadonlyArray<string>
  /** Diff: certificates expiring within this many days; default 30. */
  readonly certificateWindowDays?: number
  /** Diff: images older than this many days are aging; default 90. */
  readonly imageMaxAgeDays?: number
  /** Diff: running containers not restarted for this many days; default 30. */
  readonly restartMaxAgeDays?: number
  /** Diff: what must not happen (exit 1 when it does). */
  readonly rules?: ReadonlyArray<Rule>
}

const Port = Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 65535 }))
const Positive = Schema.Number.check(Schema.isGreaterThan(0))
const Docker = Schema.Struct({ name: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))), host: Schema.optionalKey(Schema.String), socketPath: Schema.optionalKey(Schema.String), labels: Schema.optionalKey(Schema.Array(Schema.String)) })
const Env = Schema.Literals(["production", "staging", "development", "lab", "unknown"])

export const InventorySettingsSchema = Schema.Struct({
  docker: Schema.optionalKey(Schema.Union([Schema.Boolean, Docker, Schema.Array(Docker)])),
  endpoints: Schema.optionalKey(
    Schema.Array(
      Schema.Union([
        Schema.String,
        Schema.Struct({
          target: Schema.String.check(Schema.isMinLength(1)),
          ports: Schema.optionalKey(Schema.Array(Port)),
          environment: Schema.optionalKey(Env),
          dataStore: Schema.optionalKey(Schema.Union([Schema.Boolean, Schema.String])),
          owner: Schema.optionalKey(Schema.String),
          labels: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
        }),
      ]),
    ),
  ),
  ports: Schema.optionalKey(Schema.Array(Port)),
  concurrency: Schema.optionalKey(Schema.Number.check(Schema.isInt(), Schema.isGreaterThan(0))),
  timeoutMs: Schema.optionalKey(Positive),
  observeProduction: Schema.optionalKey(Schema.Boolean),
  egress: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.makeFilter((s) => (isEgressEntry(s) ? undefined : `"${s}" is not an IP address or CIDR (names are checked after resolution, so list their networks)`))))),
  ownerLabels: Schema.optionalKey(Schema.Array(Schema.String)),
  certificateWindowDays: Schema.optionalKey(Positive),
  imageMaxAgeDays: Schema.optionalKey(Positive),
  restartMaxAgeDays: Schema.optionalKey(Positive),
  rules: Schema.optionalKey(Schema.Array(RuleSchema)),
})
