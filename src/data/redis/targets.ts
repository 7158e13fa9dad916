/**
 * A Redis target: one server (a URL without a password, the password in an environment variable)
 * and the keys its faults may touch (`keys`: Redis glob patterns). It is always a data store —
 * production and unknown environments are refused for every step, staging for `destroy` — and it
 * declares its endpoint so planning checks the egress allowlist and fault contacts against it.
 */
import { Effect } from "effect"
import { fail, InvalidExperiment, type Issue, TargetUnresolved } from "../../ShiftupError.ts"
import * as Target from "../../Target.ts"
import { type Connection, connectionIssues, endpointOf } from "../internal/connection.ts"
import { defaultPort } from "./internal/client.ts"

export interface RedisTargetOptions extends Pick<Target.TargetOptions, "environment" | "labels" | "owner"> {
  /** The server, without a password: `redis://127.0.0.1:6379/0` (`rediss://` for TLS). A user name may be in it. */
  readonly url: string
  /** The environment variable holding the password; read when connecting (also by `shiftup recover`). */
  readonly passwordEnv?: string
  /** The scope: the keys faults may touch, as a Redis glob pattern or a list of them (`"session:*"`). */
  readonly keys: string | ReadonlyArray<string>
}

/** A Redis target: the core's Target plus where the server is and which keys are in scope. */
export interface RedisTarget extends Target.Target {
  readonly kind: "redis"
  readonly connection: Connection
  /** `host:port` of the server. */
  readonly endpoint: string
  /** The scope, as Redis glob patterns. */
  readonly keys: ReadonlyArray<string>
}

const schemes = ["redis", "rediss"]

/**
 * A Redis server and the keys in scope. Invalid options (a password in the URL, another scheme,
 * an empty scope…) throw `InvalidExperiment` listing every issue.
 *
 * @example
 * const sessions = Redis.target("sessions", { url: "redis://127.0.0.1:6390", passwordEnv: "SESSIONS_REDIS_PASSWORD", environment: "lab", keys: "session:*" })
 */
export const target = (id: string, options: RedisTargetOptions): RedisTarget => {
  const keys = typeof options.keys === "string" ? [options.keys] : [...(options.keys ?? [])]
  const issues: Array<Issue> = [...connectionIssues(id, options, schemes)]
  if (keys.length === 0) issues.push({ path: `${id}.keys`, message: 'name the keys faults may touch: a pattern such as "session:*", or a list of them' })
  for (const [i, k] of keys.entries()) if (typeof k !== "string" || k === "") issues.push({ path: `${id}.keys[${i}]`, message: "a key pattern is a non-empty string" })
  if (issues.length > 0) throw fail(new InvalidExperiment({ source: `Redis target "${id}"`, issues }))
  const connection: Connection = { url: options.url, ...(options.passwordEnv === undefined ? {} : { passwordEnv: options.passwordEnv }) }
  const endpoint = endpointOf(connection, defaultPort)
  const url = new URL(options.url)
  const host = url.hostname.replace(/^\[|\]$/g, "")
  const port = Number(url.port === "" ? defaultPort : url.port)
  const db = url.pathname.replace(/^\//, "") || "0"
  const member: Target.Facts = {
    // No user, no password: the member's id lands in the plan and the journal.
    id: `${url.protocol}//${endpoint}/${db}`,
    hostnames: [host],
    ports: [port],
    endpoints: [{ host, port, protocol: "tcp" }],
    labels: { ...options.labels },
  }
  const base = Target.make(id, {
    kind: "redis",
    // Always a data store: the floor then refuses production and unknown for every step.
    dataStore: "redis",
    ...(options.environment === undefined ? {} : { environment: options.environment }),
    ...(options.labels === undefined ? {} : { labels: options.labels }),
    ...(options.owner === undefined ? {} : { owner: options.owner }),
    // Read-only and local: nothing connects to the server at discovery.
    resolve: Effect.suspend(() =>
      options.passwordEnv !== undefined && process.env[options.passwordEnv] === undefined
        ? Effect.fail(fail(new TargetUnresolved({ target: id, detail: `the environment variable ${options.passwordEnv} (its passwordEnv) is not set: export it with the server's password, or remove passwordEnv if the server has none` })))
        : Effect.succeed({ members: [member], population: 1 }),
    ),
  })
  return { ...base, kind: "redis", connection, endpoint, keys }
}

export const isRedisTarget = (u: unknown): u is RedisTarget => Target.isTarget(u) && u.kind === "redis" && "connection" in u && "keys" in u
