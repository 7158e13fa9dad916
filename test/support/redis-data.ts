/**
 * Test support for the Redis data adapter: a client of the test's own (the `redis` package, not
 * shiftup's code, so a bug there cannot hide itself), a snapshot of a keyspace that names every
 * key's type, content and expiry instant, seeding helpers, and the server's own counters of
 * connections and commands (to prove a refused run sent nothing).
 */
import { createClient } from "redis"
import { afterAll, beforeAll } from "vitest"
import { type RealServer, startRedis } from "./servers.ts"

export type TestClient = ReturnType<typeof createClient>

export const connect = async (port: number, password?: string): Promise<TestClient> => {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, ...(password === undefined ? {} : { password }), socket: { reconnectStrategy: false } })
  client.on("error", () => undefined)
  await client.connect()
  return client
}

const bufferReplies = { 36: Buffer } as const

const b64 = (b: Buffer) => b.toString("base64")

/**
 * Every key matching `pattern`, each as `type|content|expiry instant`, the content read with the
 * type's own commands and put in a canonical order (a set's members and a hash's fields sorted:
 * Redis's iteration order of a hash table is not part of the data). Equal snapshots, equal data.
 */
export const snapshot = async (c: TestClient, pattern = "*"): Promise<Readonly<Record<string, string>>> => {
  const keys = (await c.sendCommand(["KEYS", pattern])) as Array<string>
  const out: Record<string, string> = {}
  const raw = async (args: Array<string>) => (await c.sendCommand(args, { typeMapping: bufferReplies })) as unknown
  for (const key of keys.sort()) {
    const type = String(await c.sendCommand(["TYPE", key]))
    let content: string
    if (type === "string") content = b64((await raw(["GET", key])) as Buffer)
    else if (type === "hash") {
      const flat = (await raw(["HGETALL", key])) as Array<Buffer>
      const pairs: Array<string> = []
      for (let i = 0; i < flat.length; i += 2) pairs.push(`${b64(flat[i] as Buffer)}=${b64(flat[i + 1] as Buffer)}`)
      content = pairs.sort().join(",")
    } else if (type === "list") content = ((await raw(["LRANGE", key, "0", "-1"])) as Array<Buffer>).map(b64).join(",")
    else if (type === "set") content = ((await raw(["SMEMBERS", key])) as Array<Buffer>).map(b64).sort().join(",")
    else if (type === "zset") content = ((await raw(["ZRANGE", key, "0", "-1", "WITHSCORES"])) as Array<Buffer>).map(b64).join(",")
    else if (type === "none") continue
    else content = b64((await raw(["DUMP", key])) as Buffer)
    const at = String(await c.sendCommand(["PEXPIRETIME", key]))
    out[key] = `${type}|${content}|${at}`
  }
  return out
}

/** The server's own counters (INFO stats). */
export const counters = async (c: TestClient): Promise<{ readonly connections: number; readonly commands: number }> => {
  const info = String(await c.sendCommand(["INFO", "stats"]))
  const read = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1] ?? Number.NaN)
  return { connections: read("total_connections_received"), commands: read("total_commands_processed") }
}

/** A session store: JSON sessions (some expiring), and keys of every type, in and out of scope. */
export const seedSessions = async (c: TestClient): Promise<void> => {
  await c.sendCommand(["FLUSHALL"])
  const future = Date.now() + 3_600_000
  for (const [i, user] of ["alice", "bob", "carol", "dave"].entries()) {
    await c.sendCommand(["SET", `session:${user}`, JSON.stringify({ user, role: i === 0 ? "admin" : "user", csrf: `t${i}` })])
    if (i % 2 === 1) await c.sendCommand(["PEXPIREAT", `session:${user}`, String(future + i)])
  }
  await c.sendCommand(["HSET", "session:h:erin", "user", "erin", "role", "user"])
  await c.sendCommand(["RPUSH", "session:l:log", "a", "b", "c"])
  await c.sendCommand(["SADD", "session:s:ids", "1", "2", "30", "x"])
  await c.sendCommand(["ZADD", "session:z:seen", "1", "alice", "2.5", "bob"])
  await c.sendCommand(["PEXPIREAT", "session:z:seen", String(future + 99)])
  await c.sendCommand(["SET", "config:feature", "on"])
}

/**
 * One real redis-server for a test file, started in `beforeAll` (with `--requirepass` when a
 * password is given) with a client of the test's own, both stopped in `afterAll`.
 */
export const useRedisServer = (password?: string): { readonly server: RealServer; readonly client: TestClient } => {
  let server: RealServer | undefined
  let client: TestClient | undefined
  beforeAll(async () => {
    server = await startRedis(password === undefined ? [] : ["--requirepass", password])
    client = await connect(server.port, password)
  })
  afterAll(async () => {
    await client?.close()
    await server?.stop()
  })
  const started = <A>(a: A | undefined): A => {
    if (a === undefined) throw new Error("the test's redis-server is not started (useRedisServer runs in beforeAll)")
    return a
  }
  return {
    get server() {
      return started(server)
    },
    get client() {
      return started(client)
    },
  }
}
