/**
 * How every Redis data fault is built. The capture (read-only, just before the injection) finds
 * the keys in scope, picks the sample, and takes a before-image of each key the fault will change
 * or create; that record is ledgered and fsynced before anything is written. The injection then
 * changes exactly those keys (the run's store hands it the capture's plan). Preflight, at plan
 * time and only for a fault the policy allows, refuses a scope too large to before-image.
 */
import { createHash, randomInt } from "node:crypto"
import { Effect } from "effect"
import type * as Compensation from "../../../Compensation.ts"
import * as Fault from "../../../Fault.ts"
import { RunContext } from "../../../RunContext.ts"
import { causedBy, describeUnknown, fail, InjectionFailed, InvalidExperiment, type Issue, TargetUnresolved } from "../../../ShiftupError.ts"
import type { RedisTarget } from "../targets.ts"
import { batched, counted, type Session, session } from "./client.ts"
import { bytesOf, type Image, imageOf } from "./images.ts"
import { type ConfigName, configOf, type RecordFields } from "./kind.ts"
import { type Found, scan } from "./scope.ts"

/** The module a fresh process imports to get the Redis compensators again (`recover`, the watchdog). */
export const providerModule = "shiftup/data"

export const defaultMaxKeys = 10_000
export const defaultMaxBytes = 16 * 1024 * 1024

/** Options every Redis data fault takes. */
export interface CommonOptions {
  /** Step id; default `<fault> <target>`. */
  readonly id?: string
  /** The share of the keys in scope the fault changes, 0 to 1; default 1 (every key). */
  readonly sample?: number
  /** Picks the sample (same seed, same keys, same changes); default a random one, named in the plan's description. */
  readonly seed?: number
  /** The most keys the scope may hold; a larger scope is refused at plan time. Default 10 000. */
  readonly maxKeys?: number
  /** The most bytes (DUMP payloads) the scope may hold; a larger scope is refused at plan time. Default 16 MiB. */
  readonly maxBytes?: number
}

/** Issues with the common options (every one at once). */
export const commonIssues = (o: CommonOptions): Array<Issue> => {
  const issues: Array<Issue> = []
  if (o.sample !== undefined && !(typeof o.sample === "number" && o.sample >= 0 && o.sample <= 1)) issues.push({ path: "sample", message: `${String(o.sample)} is not a share between 0 and 1` })
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) issues.push({ path: "seed", message: `${String(o.seed)} is not an integer` })
  for (const k of ["maxKeys", "maxBytes"] as const) {
    const v = o[k]
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1)) issues.push({ path: k, message: `${String(v)} is not a positive integer` })
  }
  return issues
}

/** Refuses a fault's options when it is built. */
export const invalidOptions = (fault: string, target: RedisTarget, issues: ReadonlyArray<Issue>): void => {
  if (issues.length > 0) throw fail(new InvalidExperiment({ source: `shiftup/data Redis.${fault} on "${target.id}"`, issues }))
}

/** The keys a sample picks: ordered by a hash of seed and key, the first `ceil(sample × n)`. */
export const pick = (keys: ReadonlyArray<string>, sample: number, seed: number): ReadonlyArray<string> => {
  const n = Math.ceil(sample * keys.length)
  if (n >= keys.length) return keys
  const rank = (k: string) => createHash("sha256").update(`${seed}\u0000${k}`).digest("hex")
  return keys
    .map((k) => [rank(k), k] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([, k]) => k)
    .sort()
}

/** What the capture hands the injection. */
export interface Plan {
  /** The keys the fault changes (found by the scan, or named by the fault). */
  readonly keys: ReadonlyArray<string>
  readonly seed: number
}

/**
 * How far a change reaches beyond the keys it names: `db`, every key of the target's database
 * (FLUSHDB); `server`, every key of every database (eviction under `maxmemory`).
 */
export type Reach = "db" | "server"

export interface RedisFaultOptions {
  readonly name: string
  readonly options: CommonOptions
  readonly target: RedisTarget
  readonly safety: "disrupt" | "destroy"
  /** The compensation kind, declared once (`kind.ts`): its records, its compensator. */
  readonly kind: {
    readonly kind: string
    readonly compensator: Compensation.CompensatorSpec
    readonly make: (fields: RecordFields & { readonly description: string; readonly target: string }) => Compensation.Compensation
  }
  /** What the fault does, for the title and descriptions: `garble-json`, `encrypt`… */
  readonly what: string
  /** Keys the fault creates besides the ones it changes (a ransom note): before-imaged as they are. */
  readonly creates?: ReadonlyArray<string>
  /** The keys the fault changes, named (in scope, existing or not) instead of found by a scan of the scope. */
  readonly named?: ReadonlyArray<string>
  /**
   * The change reaches keys it does not name: every key it can reach must then be in scope (and
   * so before-imaged), or the run is refused (`data.redis.keys-outside-scope`).
   */
  readonly reach?: Reach
  /** Server parameters the change sets: their values are captured (CONFIG GET) and put back first at rollback. */
  readonly config?: ReadonlyArray<ConfigName>
  /** The change, on the keys of the plan. */
  readonly change: (s: Session, plan: Plan, ctx: { readonly runId: string }) => Promise<void>
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`

/** How many keys the change could reach (the database's or the whole server's). */
const reachable = async (s: Session, reach: Reach): Promise<number> => {
  if (reach === "db") return Number(await s.call(["DBSIZE"]))
  const info = String(await s.call(["INFO", "keyspace"]))
  return [...info.matchAll(/^db\d+:keys=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0)
}

const outsideDetail = (reach: Reach, scope: string, outside: number) =>
  `the ${reach === "db" ? "database" : "server (every database: eviction picks keys anywhere)"} holds ${plural(outside, "key")} outside the scope ${scope}, which ${reach === "db" ? "FLUSHDB" : "eviction"} would remove with no before-image: make \`keys\` cover ${reach === "db" ? "the whole database (\"*\")" : "every key of the server"}, or use a server of its own`

/** A core Fault over the target's keys in scope, with a before-image of every key it changes. */
export const make = (o: RedisFaultOptions): Fault.Fault => {
  const id = o.options.id ?? `${o.name} ${o.target.id}`
  const key = `shiftup/data/redis/captured/${id}`
  const maxKeys = o.options.maxKeys ?? defaultMaxKeys
  const maxBytes = o.options.maxBytes ?? defaultMaxBytes
  const sample = o.options.sample ?? 1
  const scope = o.target.keys.join(", ")
  const conn = o.target.connection
  const find = async (s: Session, limit: number): Promise<Found> => (o.named === undefined ? scan(s, o.target.keys, limit) : { keys: [...new Set(o.named)].sort(), binary: [] })
  /** Keys the change reaches that are not in `found` (0 when it reaches only what it names). */
  const outside = async (s: Session, found: Found) => (o.reach === undefined ? 0 : Math.max(0, (await reachable(s, o.reach)) - found.keys.length - found.binary.length))
  const injectionFailed = (detail: string, cause?: unknown) => new InjectionFailed({ fault: id, target: o.target.id, detail, compensation: "none", ...causedBy(cause) })
  const tooMany = (n: number) => `the scope ${scope} holds more than ${plural(maxKeys, "key")} (found ${n > maxKeys ? `at least ${n}` : n}): narrow \`keys\`, or raise the fault's \`maxKeys\``
  const tooBig = (n: number) => `the scope ${scope} holds at least ${n} bytes (DUMP payloads), more than maxBytes ${maxBytes}: narrow \`keys\`, or raise the fault's \`maxBytes\``
  /** Read-only: the scope's size and bytes, and what the change reaches beyond it. */
  const preflight = async (s: Session): Promise<Array<Fault.Refusal>> => {
    const found = await find(s, maxKeys)
    const refusals: Array<Fault.Refusal> = []
    if (found.binary.length > 0) refusals.push({ rule: "data.redis.key-not-utf8", detail: `${plural(found.binary.length, "key")} in scope ${scope} ${found.binary.length === 1 ? "has a name" : "have names"} that ${found.binary.length === 1 ? "is" : "are"} not UTF-8 (a ledger record names keys as text); narrow \`keys\`` })
    if (found.keys.length + found.binary.length > maxKeys) return [...refusals, { rule: "data.redis.max-keys", detail: tooMany(found.keys.length + found.binary.length) }]
    const away = await outside(s, found)
    if (away > 0) refusals.push({ rule: "data.redis.keys-outside-scope", detail: outsideDetail(o.reach as Reach, scope, away) })
    let bytes = 0
    for (let i = 0; i < found.keys.length && bytes <= maxBytes; i += 256) {
      const sizes = await batched(found.keys.slice(i, i + 256), async (k) => ((await s.call(["DUMP", k], true)) as Buffer | null)?.length ?? 0)
      bytes += sizes.reduce((a, b) => a + b, 0)
    }
    return bytes > maxBytes ? [...refusals, { rule: "data.redis.max-bytes", detail: tooBig(bytes) }] : refusals
  }
  return Fault.make({
    id,
    title: `${o.what} ${o.target.id} (${scope})`,
    target: o.target,
    safety: o.safety,
    kind: o.kind.kind,
    contacts: [o.target.endpoint],
    provider: { module: providerModule, compensators: { [o.kind.kind]: o.kind.compensator } },
    compensation: Effect.gen(function* () {
      const { store } = yield* RunContext
      const seed = o.options.seed ?? randomInt(0, 2 ** 31)
      const captured = yield* session(
        conn,
        async (s) => {
            const found = await find(s, maxKeys)
            if (found.binary.length > 0) throw new Error(`${plural(found.binary.length, "key")} in scope ${found.binary.length === 1 ? "has a name" : "have names"} that ${found.binary.length === 1 ? "is" : "are"} not UTF-8; narrow \`keys\` to leave them out`)
            if (found.keys.length > maxKeys) throw new Error(tooMany(found.keys.length))
            const away = await outside(s, found)
            if (away > 0) throw new Error(outsideDetail(o.reach as Reach, scope, away))
            const config = o.config === undefined ? undefined : await configOf(s, o.config)
            const keys = pick(found.keys, sample, seed)
            const created = (o.creates ?? []).filter((k) => !keys.includes(k))
            const images: Array<Image> = await batched([...keys, ...created], (k) => imageOf(s, k))
            if (bytesOf(images) > maxBytes) throw new Error(tooBig(bytesOf(images)))
            return { plan: { keys, seed }, images, config }
        },
        (e) => injectionFailed(`capturing the before-images: ${describeUnknown(e)}`, e),
      )
      store.set(key, captured.plan)
      const fields: RecordFields & { readonly description: string; readonly target: string } = {
        description: `restore ${plural(captured.images.length, "key")} of ${scope} from their before-images (${o.what}, sample ${sample}, seed ${seed})`,
        target: o.target.id,
        url: conn.url,
        ...(conn.passwordEnv === undefined ? {} : { passwordEnv: conn.passwordEnv }),
        images: captured.images,
        ...(captured.config === undefined ? {} : { config: captured.config }),
      }
      return o.kind.make(fields)
    }),
    inject: Effect.gen(function* () {
      const ctx = yield* RunContext
      const plan = ctx.store.get<Plan>(key)
      ctx.store.delete(key)
      // The runner always captures first; without a capture there is no before-image, so no change.
      if (plan === undefined) return yield* injectionFailed("no before-image was captured in this run")
      yield* session(
        conn,
        (s) => o.change(s, plan, { runId: ctx.runId }),
        (e) => new InjectionFailed({ fault: id, target: o.target.id, detail: describeUnknown(e), compensation: "ledgered", cause: e }),
      )
    }),
    preflight: session(
      conn,
      async (raw) => {
        const started = Date.now()
        const { session: s, tally } = counted(raw)
        const refusals = await preflight(s)
        const commands = [...tally.commands].map(([name, n]) => `${name} ×${n}`).join(", ")
        const contact: Fault.PreflightContact = {
          address: o.target.endpoint,
          handshake: `read-only scope scan (${[...tally.commands.keys()].join(", ")})`,
          sent: `${commands} (${tally.bytesSent} bytes)`,
          received: `${tally.bytesReceived} bytes of replies`,
          bytesSent: tally.bytesSent,
          bytesReceived: tally.bytesReceived,
          ms: Date.now() - started,
        }
        return { refusals, contacts: [contact] }
      },
      (e) => new TargetUnresolved({ target: o.target.id, detail: `checking the scope before the run: ${describeUnknown(e)}`, cause: e }),
    ),
  })
}
