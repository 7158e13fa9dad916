/**
 * The one way this adapter talks to Redis: a short-lived connection per operation (a capture, an
 * injection, a compensation, one verify, one observation), opened with the password read from
 * the connection's `passwordEnv` at that moment — in the run, and in a `recover` of another
 * process alike — and always closed. The host is checked against the run's egress allowlist
 * after DNS resolution (in `recover`, the allowlist the ledger recorded), and the connection goes
 * to the address that was checked. The `redis` package is imported here, lazily, at the first
 * connection: importing `shiftup/data` never loads it, and no type of it leaves this module.
 */
import { Context, Effect } from "effect"
import { checkEgress } from "../../../internal/egress.ts"
import { RunContext } from "../../../RunContext.ts"
import type { ShiftupError } from "../../../ShiftupError.ts"
import type { Connection } from "../../internal/connection.ts"
import { endpointOf, passwordOf } from "../../internal/connection.ts"

/** Redis's default port, for a URL that names none. */
export const defaultPort = 6379

/** The few calls this adapter makes, in its own terms (raw commands in, replies out). */
export interface Session {
  /** One command; bulk strings come back as Buffers when `buffers`, as strings otherwise. */
  readonly call: (args: ReadonlyArray<string | Buffer>, buffers?: boolean) => Promise<unknown>
}

/**
 * `f` over `items`, 64 at a time: the client pipelines the commands of one batch on the
 * connection, so 10 000 keys take a fraction of 10 000 round trips. For independent commands
 * only — never inside a MULTI.
 */
export const batched = async <A, B>(items: ReadonlyArray<A>, f: (a: A) => Promise<B>): Promise<Array<B>> => {
  const out: Array<B> = []
  for (let i = 0; i < items.length; i += 64) out.push(...(await Promise.all(items.slice(i, i + 64).map(f))))
  return out
}

/** What a session sent and received: commands by name, RESP bytes out, reply payload bytes in. */
export interface Tally {
  readonly commands: Map<string, number>
  bytesSent: number
  bytesReceived: number
}

const replyBytes = (r: unknown): number =>
  Buffer.isBuffer(r) ? r.length : typeof r === "string" ? Buffer.byteLength(r) : typeof r === "number" ? String(r).length : Array.isArray(r) ? r.reduce((n: number, x) => n + replyBytes(x), 0) : 0

/** `s`, counting what goes through it (for a plan's contacts: what a preflight sent and received). */
export const counted = (s: Session): { readonly session: Session; readonly tally: Tally } => {
  const tally: Tally = { commands: new Map(), bytesSent: 0, bytesReceived: 0 }
  return {
    tally,
    session: {
      call: async (args, buffers) => {
        const name = String(args[0]).toUpperCase()
        tally.commands.set(name, (tally.commands.get(name) ?? 0) + 1)
        // The command as RESP puts it on the wire: *n, then $len and the bytes of each argument.
        tally.bytesSent += args.reduce((n, a) => {
          const len = typeof a === "string" ? Buffer.byteLength(a) : a.length
          return n + `$${len}\r\n`.length + len + 2
        }, `*${args.length}\r\n`.length)
        const reply = await s.call(args, buffers)
        tally.bytesReceived += replyBytes(reply)
        return reply
      },
    },
  }
}

/** A failure to reach or use the server, said so that the user knows what to change. */
export class RedisCallError extends Error {
  readonly endpoint: string
  readonly unreachable: boolean
  /** The credentials are the problem: the password variable unset, the password refused, or one required. */
  readonly credentials: "unset" | "refused" | "required" | undefined
  /** The server's own words, when it answered. */
  readonly said: string | undefined
  constructor(endpoint: string, detail: string, unreachable: boolean, credentials?: { readonly problem: "unset" | "refused" | "required"; readonly said?: string }) {
    super(`redis at ${endpoint}: ${detail}`)
    this.name = "RedisCallError"
    this.endpoint = endpoint
    this.unreachable = unreachable
    this.credentials = credentials?.problem
    this.said = credentials?.said
  }
}

interface MinimalClient {
  on(event: "error", listener: (e: unknown) => void): unknown
  connect(): Promise<unknown>
  sendCommand(args: ReadonlyArray<string | Buffer>, options?: { readonly typeMapping?: Record<number, unknown> }): Promise<unknown>
  destroy(): void
  readonly isOpen: boolean
}

interface RedisModule {
  readonly createClient: (options: object) => MinimalClient
}

let loaded: Promise<RedisModule> | undefined

/** The `redis` package, imported once it is first needed; a clear error when it is not installed. */
const redisModule = (): Promise<RedisModule> =>
  (loaded ??= import("redis").then(
    (m) => m as unknown as RedisModule,
    (e: unknown) => {
      loaded = undefined
      throw new Error(`the "redis" package is not installed (it is an optional peer dependency of shiftup/data): npm install redis@5 (${e instanceof Error ? e.message : String(e)})`)
    },
  ))

/** `RESP_TYPES.BLOB_STRING` (`$`): bulk strings as Buffers, for DUMP payloads and binary values. */
const blobString = 36

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** What a connection failure means for the user. */
const explain = (c: Connection, e: unknown): { readonly detail: string; readonly unreachable: boolean; readonly credentials?: { readonly problem: "refused" | "required"; readonly said: string } } => {
  const text = message(e)
  if (/WRONGPASS|invalid username-password|invalid password/i.test(text))
    return { detail: `the server refused the password${c.passwordEnv === undefined ? "" : ` in $${c.passwordEnv}`} (${text}); check the variable holds this server's password`, unreachable: false, credentials: { problem: c.passwordEnv === undefined ? "required" : "refused", said: text } }
  if (/NOAUTH|Authentication required/i.test(text))
    return { detail: `the server requires a password (${text}); put it in an environment variable and name it in the target's \`passwordEnv\``, unreachable: false, credentials: { problem: "required", said: text } }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|timeout|Socket closed/i.test(text)) return { detail: `cannot connect (${text}); is the server running, and is the url right?`, unreachable: true }
  return { detail: text, unreachable: false }
}

/**
 * Opens a connection to `c`, runs `body`, and closes the connection whatever happens. Fails with
 * `RedisCallError`: the password variable unset, the server unreachable, a refused password, a
 * failed command.
 */
export const withSession = async <A>(c: Connection, address: string, body: (s: Session) => Promise<A>): Promise<A> => {
  const endpoint = endpointOf(c, defaultPort)
  const password = passwordOf(c)
  if (c.passwordEnv !== undefined && password === undefined)
    throw new RedisCallError(endpoint, `the environment variable ${c.passwordEnv} (the target's passwordEnv) is not set: export it with the server's password`, false, { problem: "unset" })
  const { createClient } = await redisModule()
  const url = new URL(c.url)
  const tls = url.protocol === "rediss:"
  const hostname = url.hostname.replace(/^\[|\]$/g, "")
  const database = url.pathname.replace(/^\//, "")
  // Options rather than the URL: the URL's host would win over the address that was checked.
  const client = createClient({
    socket: { host: address, port: Number(url.port === "" ? defaultPort : url.port), tls, ...(tls ? { servername: hostname } : {}), connectTimeout: 5000, reconnectStrategy: false },
    ...(url.username === "" ? {} : { username: decodeURIComponent(url.username) }),
    ...(password === undefined ? {} : { password }),
    ...(database === "" ? {} : { database: Number(database) }),
  })
  // The client reports socket errors as events too; the call that meets them fails on its own.
  client.on("error", () => undefined)
  try {
    try {
      await client.connect()
    } catch (e) {
      const { detail, unreachable, credentials } = explain(c, e)
      throw new RedisCallError(endpoint, detail, unreachable, credentials)
    }
    return await body({
      call: (args, buffers = false) =>
        client.sendCommand(args, buffers ? { typeMapping: { [blobString]: Buffer } } : undefined).catch((e: unknown) => {
          const { detail, unreachable, credentials } = explain(c, e)
          throw new RedisCallError(endpoint, `${String(args[0])}: ${detail}`, unreachable, credentials)
        }),
    })
  } finally {
    // A client whose connection failed is closed already (and `destroy` would throw).
    if (client.isOpen) client.destroy()
  }
}

/** How the adapter reaches a Redis server: a service, so users and tests can provide their own. */
export interface RedisClient {
  /** Connects to `connection` at `address` (already checked against the egress allowlist), runs `body`, and always closes. */
  readonly withSession: <A>(connection: Connection, address: string, body: (s: Session) => Promise<A>) => Promise<A>
}

/** The Redis client every fault, probe and compensator uses; by default the `redis` package, loaded at the first connection. */
export const RedisClient = Context.Reference<RedisClient>("shiftup/data/RedisClient", { defaultValue: () => ({ withSession }) })

/**
 * A session as an Effect: the host checked against the run's egress allowlist first (after DNS
 * resolution), then the `RedisClient` service connects to that address; every failure mapped by
 * `onError`.
 */
export const session = <A, E>(c: Connection, body: (s: Session) => Promise<A>, onError: (e: unknown) => E): Effect.Effect<A, E> =>
  Effect.gen(function* () {
    const { egress } = yield* RunContext
    const client = yield* RedisClient
    const host = new URL(c.url).hostname.replace(/^\[|\]$/g, "")
    const at = yield* checkEgress(egress, host).pipe(Effect.mapError((e: ShiftupError) => onError(e)))
    return yield* Effect.tryPromise({ try: () => client.withSession(c, at.address, body), catch: onError })
  })
