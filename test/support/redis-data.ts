/**
 * Test support for the Redis data adapter: a client of the test's own (the `redis` package, not
 * shiftup's code, so a bug there cannot hide itself), a snapshot of a keyspace that names every
 * key's type, DUMP payload and expiry instant, seeding helpers, and the server's own counters of
 * connections and commands (to prove a refused run sent nothing).
 */
import { createClient } from "redis"

export type TestClient = ReturnType<typeof createClient>

export const connect = async (port: number, password?: string): Promise<TestClient> => {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, ...(password === undefined ? {} : { password }), socket: { reconnectStrategy: false } })
  client.on("error", () => undefined)
  await client.connect()
  return client
}

const bufferReplies = { 36: Buffer } as const

/** Every key matching `pattern`, each as `type|DUMP (base64)|expiry instant`: equal snapshots, equal data. */
export const snapshot = async (c: TestClient, pattern = "*"): Promise<Readonly<Record<string, string>>> => {
  const keys = (await c.sendCommand(["KEYS", pattern])) as Array<string>
  const out: Record<string, string> = {}
  for (const key of keys.sort()) {
    const dump = (await c.sendCommand(["DUMP", key], { typeMapping: bufferReplies })) as Buffer | null
    if (dump === null) continue
    const type = String(await c.sendCommand(["TYPE", key]))
    const at = String(await c.sendCommand(["PEXPIRETIME", key]))
    out[key] = `${type}|${dump.toString("base64")}|${at}`
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
