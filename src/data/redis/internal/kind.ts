/**
 * Declaring a `data.redis.*` compensation kind, once, for the fault that records it and the
 * compensator that replays it. Every Redis kind undoes the same way — its record holds the server
 * (URL without a password, the name of the variable holding it) and a before-image of each key
 * the fault changes — so a kind differs only in its name: what it undoes.
 */
import { Schema } from "effect"
import * as Compensation from "../../../Compensation.ts"
import { CredentialsRefused, describeUnknown, RollbackFailed, type ShiftupError } from "../../../ShiftupError.ts"
import { serverOf } from "../../internal/connection.ts"
import { batched, defaultPort, RedisCallError, type Session, session } from "./client.ts"
import { differs, restoreImage } from "./images.ts"

/** `redis://[user@]host[:port][/db]`: never a password (a ledger must not hold one). */
const Url = Schema.String.check(Schema.isPattern(/^rediss?:\/\/([^:@/\s]+@)?[^@/\s]+(\/\d*)?$/, { message: "a redis:// or rediss:// URL without a password" }))
const EnvName = Schema.String.check(Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "an environment variable name" }))
const Base64 = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9+/]*={0,2}$/, { message: "base64" }))

export const ImageSchema = Schema.Struct({
  key: Schema.String,
  dump: Schema.NullOr(Base64),
  content: Schema.NullOr(Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/, { message: "a SHA-256 in hex" }))),
  expireAt: Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(-1)),
})

/**
 * The server parameters a fault may set, and so a record may set back. Only these: a forged
 * ledger must not be able to make `recover` set `dir` or `dbfilename` (writing files where it likes).
 */
export const configNames = ["maxmemory", "maxmemory-policy"] as const
export type ConfigName = (typeof configNames)[number]

export const ConfigSchema = Schema.Struct({
  name: Schema.Literals(configNames),
  value: Schema.String.check(Schema.isPattern(/^[a-z0-9-]{1,40}$/, { message: "a number of bytes or an eviction policy" })),
})

const fields = {
  url: Url,
  passwordEnv: Schema.optionalKey(EnvName),
  images: Schema.Array(ImageSchema),
  /** Server parameters as they were before the fault (CONFIG GET), put back before the keys. */
  config: Schema.optionalKey(Schema.Array(ConfigSchema)),
}

export type RedisRecord = Compensation.RecordOf<string, typeof fields>

/** A record's fields as a fault builds them (kind, description and target are added by the builder). */
export interface RecordFields {
  readonly url: string
  readonly passwordEnv?: string
  readonly images: ReadonlyArray<Schema.Schema.Type<typeof ImageSchema>>
  readonly config?: ReadonlyArray<Schema.Schema.Type<typeof ConfigSchema>>
}

/** The current values of `names` (CONFIG GET). */
export const configOf = async (s: Session, names: ReadonlyArray<ConfigName>): Promise<ReadonlyArray<{ readonly name: ConfigName; readonly value: string }>> => {
  const out: Array<{ readonly name: ConfigName; readonly value: string }> = []
  for (const name of names) {
    // The reply is [name, value] (RESP2) or a map (RESP3), flattened by the client either way.
    const reply = (await s.call(["CONFIG", "GET", name])) as ReadonlyArray<string> | Record<string, string>
    const value = Array.isArray(reply) ? reply[1] : (reply as Record<string, string>)[name]
    if (typeof value !== "string") throw new Error(`CONFIG GET ${name} answered nothing: is CONFIG renamed or disabled on this server?`)
    out.push({ name, value })
  }
  return out
}

/** What differs between the server's parameters now and `config` (one phrase), or undefined. */
const configDiffers = async (s: Session, config: ReadonlyArray<{ readonly name: ConfigName; readonly value: string }>): Promise<string | undefined> => {
  const now = await configOf(
    s,
    config.map((c) => c.name),
  )
  const off = config.filter((c, i) => now[i]?.value !== c.value)
  return off.length === 0 ? undefined : off.map((c) => `${c.name} is ${now[config.indexOf(c)]?.value} instead of ${c.value}`).join("; ")
}

const connectionOf = (r: RedisRecord) => ({ url: r.url, ...(r.passwordEnv === undefined ? {} : { passwordEnv: r.passwordEnv }) })

const call = <A>(r: RedisRecord, what: string, body: (s: Session) => Promise<A>) =>
  session(connectionOf(r), body, (e): ShiftupError =>
    // Credentials no retry can fix: say what to change, and let the restore stop at once.
    e instanceof RedisCallError && e.credentials !== undefined
      ? new CredentialsRefused({ fault: r.kind, target: r.target, server: serverOf(connectionOf(r), defaultPort), ...(r.passwordEnv === undefined ? {} : { passwordEnv: r.passwordEnv }), problem: e.credentials, ...(e.said === undefined ? {} : { detail: e.said }), cause: e })
      : new RollbackFailed({ fault: r.kind, target: r.target, detail: `${what}: ${e instanceof RedisCallError ? e.message : describeUnknown(e)}`, cause: e }),
  )

/** Declares the kind `kind`: restores every before-image of its record, and verifies each came back. */
export const declare = <const K extends string>(kind: K) =>
  Compensation.declare({
    kind,
    fields,
    apply: (r) =>
      call(r, "restoring the before-images", async (s) => {
        // The parameters first: under a lowered maxmemory the RESTOREs would fail (OOM) or be evicted.
        if (r.config !== undefined && r.config.length > 0) await s.call(["CONFIG", "SET", ...r.config.flatMap((c) => [c.name, c.value])])
        await batched(r.images, (image) => restoreImage(s, image))
      }),
    verify: (r) =>
      call(r, "reading the keys back", async (s) => {
          // The server's clock decides what has expired, not this machine's.
          const [seconds, micros] = (await s.call(["TIME"])) as [string, string]
          const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
          const config = r.config === undefined ? undefined : await configDiffers(s, r.config)
          const found = [...(config === undefined ? [] : [config]), ...(await batched(r.images, (image) => differs(s, image, now))).filter((d): d is string => d !== undefined)]
          return found.length === 0 ? undefined : found.length <= 3 ? found.join("; ") : `${found.slice(0, 3).join("; ")} and ${found.length - 3} more keys`
      }),
    // Commands an injection already sent land within milliseconds; a crash mid-injection leaves
    // at most one key's MULTI in flight.
    settleMs: 2000,
  })
