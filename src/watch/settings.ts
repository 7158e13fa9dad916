/**
 * The `watch` section of `shiftup.config.ts`: the jobs `shiftup watch` runs on schedules, where
 * it keeps its finding store, where it answers `/healthz` and `/metrics`. Typed here and
 * validated with the rest of the config (every issue at once); cron expressions are checked by
 * the scheduler when `shiftup watch` starts (the cron library loads only there).
 */
import { isIP } from "node:net"
import { Schema, type Duration } from "effect"
import { durationOption, millisOf } from "../internal/validate.ts"
import type { PostgresStoreOptions } from "./store/postgres.ts"

interface JobCommon {
  /** Unique among the jobs: lowercase letters, digits, dots and dashes (it labels metrics and owns its findings). */
  readonly name: string
  /** A fixed interval, e.g. `"30 seconds"`, `"5 minutes"` or milliseconds. Exactly one of `every` and `cron`. */
  readonly every?: Duration.Input
  /** A cron expression (5 or 6 fields, seconds first when 6), e.g. `"*\/5 * * * *"`. */
  readonly cron?: string
  /** A random delay up to this added to every tick, so watchers do not probe in step. Default none. */
  readonly jitter?: Duration.Input
}

/** Runs one experiment file (every step observe-class, or `shiftup watch` refuses to start). */
export interface ExperimentJob extends JobCommon {
  /** The experiment file, relative to the working directory; all its experiments run. */
  readonly experiment: string
}

/** Takes an inventory snapshot (the config's `inventory` section) and records its drift findings. */
export interface InventoryJob extends JobCommon {
  readonly inventory: true
}

/**
 * Where a misconfiguration or vulnerability job reads its facts: `"docker"` (the local engine's
 * containers, read through its API — no container is contacted; `{ docker: { labels } }`: only
 * those with all these labels, `key` or `key=value`), `"inventory"` (the config's
 * `inventory` sources, endpoints planned against the floor as for `shiftup inventory`), or a
 * snapshot file another process writes (`shiftup inventory --out`), read again at every tick.
 */
export type FactSource = "docker" | "inventory" | { readonly snapshot: string } | { readonly docker: { readonly labels: ReadonlyArray<string> } }

/** Evaluates the misconfiguration rules (docs/misconfig.md) under the profile in force for each asset. */
export interface MisconfigJob extends JobCommon {
  readonly misconfig: {
    readonly from: FactSource
    /** One profile for every asset, over the config's `misconfig` choices (the CLI's `--profile`). */
    readonly profile?: string
    /** Only these rule ids; default every rule. */
    readonly rules?: ReadonlyArray<string>
  }
}

/** Matches the packages of the inventory's images (or an SBOM) against a local OSV database: a finding per package and advisory. */
export interface VulnsJob extends JobCommon {
  readonly vulns: {
    /** A directory of OSV JSON advisories (searched recursively) or one OSV JSON file; read at every tick, never fetched. */
    readonly osv: string
    /** Whose packages: the containers' images (`"docker"`, `"inventory"`: read from each image without running it), a snapshot's recorded packages, or a CycloneDX/SPDX SBOM file. */
    readonly from: FactSource | { readonly sbom: string }
  }
}

export type WatchJob = ExperimentJob | InventoryJob | MisconfigJob | VulnsJob

/**
 * One probe-rate budget for the whole watcher: every job's probes draw from it, on top of each
 * run's own pacing (docs/continuous.md).
 */
export interface ProbeSettings {
  /** Probes per second, all jobs together. */
  readonly maxRate: number
  /** Probes that may go at once after a quiet spell (the bucket's size); default 1 (evenly spaced). */
  readonly burst?: number
  /** The least time between two probes to one host, whichever jobs send them; default none. */
  readonly perTargetInterval?: Duration.Input
}

/** A webhook called on finding state changes; the body is documented in docs/watch.md. */
export interface WebhookSettings {
  /** http(s) URL the events are POSTed to. */
  readonly url: string
  /** The environment variable holding the HMAC-SHA256 key (never the key itself in the config). */
  readonly secretEnv?: string
  /** Which states entered trigger it; default new, regressed and resolved. */
  readonly events?: ReadonlyArray<"new" | "open" | "resolved" | "regressed" | "accepted-risk">
  /** Tries per event (first + retries); default 5. */
  readonly attempts?: number
  /** The first retry's delay, doubled each time; default 500 ms. */
  readonly backoffMs?: number
  /** Per attempt; default 5000 ms. */
  readonly timeoutMs?: number
}

export interface WatchSettings {
  readonly jobs: ReadonlyArray<WatchJob>
  readonly webhooks?: ReadonlyArray<WebhookSettings>
  /** The probe budget all jobs share; default none (each run paced by its own budget only). */
  readonly probes?: ProbeSettings
  /**
   * The finding store: a SQLite file path (default `<stateDir>/watch.sqlite`, one watcher), or
   * `{ kind: "postgres", url | host/port/database/user, passwordEnv }` for several watchers
   * sharing one database (docs/watch.md, "The store").
   */
  readonly store?: string | PostgresStoreOptions
  /** How long a job's lease lasts unless renewed (renewed every third of it while the job runs): a crashed watcher's jobs are taken over after at most this. Default 30 seconds. */
  readonly leaseTtl?: Duration.Input
  /** `/healthz` and `/metrics` on 127.0.0.1 at this port (0: a free one, printed at start). Default 9464. */
  readonly port?: number
  /**
   * The address `/healthz` and `/metrics` listen on; default `127.0.0.1`. In a container, where
   * Prometheus scrapes from outside, `"0.0.0.0"` — published on the host's loopback or a private network only.
   */
  readonly listen?: string
  /** How long SIGTERM/SIGINT waits for running jobs (they are aborted, faults-free, then awaited) before exiting anyway. Default 10 seconds. */
  readonly shutdownTimeout?: Duration.Input
  /**
   * The JSON jobs file `shiftup promote` adds jobs to, read with `jobs` (docs/watch.md); default
   * `shiftup.watch-jobs.json` beside the config file (or in the working directory).
   */
  readonly jobsFile?: string
}

const DurationInput = durationOption("positive")

const FactSourceSchema = Schema.Union([
  Schema.Literals(["docker", "inventory"]),
  Schema.Struct({ snapshot: Schema.String.check(Schema.isMinLength(1)) }),
  Schema.Struct({ docker: Schema.Struct({ labels: Schema.Array(Schema.String.check(Schema.isMinLength(1))).check(Schema.isMinLength(1)) }) }),
])

export const JobSchema = Schema.Struct({
  name: Schema.String.check(Schema.makeFilter((n) => (/^[a-z0-9][a-z0-9.-]*$/.test(n) ? undefined : `a job name is lowercase letters, digits, dots and dashes (it labels metrics), got ${JSON.stringify(n)}`))),
  every: Schema.optionalKey(DurationInput),
  cron: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
  jitter: Schema.optionalKey(DurationInput),
  experiment: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
  inventory: Schema.optionalKey(Schema.Literal(true)),
  misconfig: Schema.optionalKey(
    Schema.Struct({
      from: FactSourceSchema,
      profile: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
      rules: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.isMinLength(1)))),
    }),
  ),
  vulns: Schema.optionalKey(Schema.Struct({ osv: Schema.String.check(Schema.isMinLength(1)), from: Schema.Union([FactSourceSchema, Schema.Struct({ sbom: Schema.String.check(Schema.isMinLength(1)) })]) })),
}).check(
  Schema.makeFilter((j) =>
    (j.every === undefined) === (j.cron === undefined)
      ? `job "${j.name}": give exactly one of \`every\` (an interval) and \`cron\` (a cron expression)`
      : [j.experiment, j.inventory, j.misconfig, j.vulns].filter((k) => k !== undefined).length !== 1
        ? `job "${j.name}": give exactly one of \`experiment\` (a file), \`inventory: true\`, \`misconfig: { from }\` and \`vulns: { osv, from }\``
        : undefined,
  ),
)

const EnvName = Schema.String.check(Schema.makeFilter((n) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(n) ? undefined : `must be an environment variable name, got ${JSON.stringify(n)}`)))

const PostgresStoreSchema = Schema.Struct({
  kind: Schema.Literal("postgres"),
  url: Schema.optionalKey(
    Schema.String.check(
      Schema.makeFilter((u) => {
        let url: URL
        try {
          url = new URL(u)
        } catch {
          return "is not a URL (expected postgres://user@host:5432/database)"
        }
        if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") return `the scheme is ${url.protocol.replace(/:$/, "")}; expected postgres`
        // The message must not repeat the URL: it holds the password.
        if (url.password !== "") return "the URL holds a password: put it in an environment variable and name that variable in `passwordEnv`"
        const mode = url.searchParams.get("sslmode")
        if (mode !== null && !["disable", "require", "verify-ca", "verify-full"].includes(mode)) return `sslmode=${mode}: use require or verify-full (or disable on a network you trust) — allow and prefer may fall back to plain text`
        return undefined
      }),
    ),
  ),
  host: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
  port: Schema.optionalKey(Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 65_535 }))),
  database: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
  user: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
  passwordEnv: Schema.optionalKey(EnvName),
  schema: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
  poolSize: Schema.optionalKey(Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 100 }))),
  tls: Schema.optionalKey(Schema.Literals(["disable", "require", "verify-full"])),
  caFile: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
}).check(Schema.makeFilter((o) => ((o.url === undefined) === (o.host === undefined) ? "give exactly one of `url` and `host` (with port, database, user)" : undefined)))

export const WatchSettingsSchema = Schema.Struct({
  jobs: Schema.Array(JobSchema).check(
    Schema.makeFilter((jobs) => {
      const names = jobs.map((j) => j.name)
      const twice = names.filter((n, i) => names.indexOf(n) !== i)
      return twice.length === 0 ? undefined : `job names must be unique: ${[...new Set(twice)].join(", ")} appear more than once`
    }),
  ),
  webhooks: Schema.optionalKey(
    Schema.Array(
      Schema.Struct({
        url: Schema.String.check(Schema.makeFilter((u) => (/^https?:\/\/[^\s]+$/.test(u) ? undefined : `must be an http(s) URL, got ${JSON.stringify(u)}`))),
        secretEnv: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
        events: Schema.optionalKey(Schema.Array(Schema.Literals(["new", "open", "resolved", "regressed", "accepted-risk"]))),
        attempts: Schema.optionalKey(Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 20 }))),
        backoffMs: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))),
        timeoutMs: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThan(0))),
      }),
    ),
  ),
  probes: Schema.optionalKey(
    Schema.Struct({
      maxRate: Schema.Number.check(Schema.isGreaterThan(0), Schema.makeFilter((n) => (Number.isFinite(n) ? undefined : "must be finite"))),
      burst: Schema.optionalKey(Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1))),
      perTargetInterval: Schema.optionalKey(DurationInput),
    }),
  ),
  store: Schema.optionalKey(Schema.Union([Schema.String.check(Schema.isMinLength(1)), PostgresStoreSchema])),
  // Shorter than a round trip plus its renewal, a lease expires before its scan is recorded: fencing would refuse every scan.
  leaseTtl: Schema.optionalKey(DurationInput.check(Schema.makeFilter((u) => (millisOf(u) < 1000 ? "must be at least 1 second (a lease renewed every third of it must outlive a scan's database round trips)" : undefined)))),
  port: Schema.optionalKey(Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum: 0, maximum: 65_535 }))),
  listen: Schema.optionalKey(Schema.String.check(Schema.makeFilter((a) => (isIP(a) === 0 ? `an IP address to listen on, e.g. "127.0.0.1" or "0.0.0.0", got ${JSON.stringify(a)}` : undefined)))),
  shutdownTimeout: Schema.optionalKey(DurationInput),
  jobsFile: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
})
