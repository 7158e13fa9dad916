/**
 * The PostgreSQL finding store on a real PostgreSQL 15 (started by this file on a free
 * 127.0.0.1 port, role `app` with a scram password from an environment variable): the same
 * contract suite as the SQLite store (test/support/store-contract.ts), each test in its own
 * schema; and what only this store has: two watchers opening one database at once migrate it
 * once, a server still starting is waited for, a database from a newer shiftup is refused, and
 * the password never shows in an error.
 */
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { FindingStoreError, openPostgres, pgMigrations, type PostgresStoreOptions } from "shiftup/watch"
import { startPgLab, type PgLab } from "../support/postgres.ts"
import { anon, at, storeContract } from "../support/store-contract.ts"

let lab: PgLab
beforeAll(async () => {
  lab = await startPgLab("SHIFTUP_TEST_STORE_PASSWORD")
  await lab.admin.query("GRANT CREATE ON DATABASE postgres TO app")
}, 60_000)
afterAll(async () => {
  await lab?.stop()
})

let n = 0
const options = (schema = `contract_${process.pid}_${n++}`): PostgresStoreOptions => ({ kind: "postgres", url: lab.url, passwordEnv: lab.passwordEnv, schema })

describe("the PostgreSQL store", () => {
  storeContract({
    fresh: async () => {
      const o = options()
      return { store: await openPostgres(o), reopen: () => openPostgres(o) }
    },
  })

  it("two watchers opening one new database at once migrate it once; host/port/database/user work as the URL does", async () => {
    const o = options()
    const [a, b] = await Promise.all([openPostgres(o), openPostgres({ kind: "postgres", host: "127.0.0.1", port: lab.port, database: "postgres", user: "app", passwordEnv: lab.passwordEnv, schema: o.schema as string })])
    try {
      await a.record("gateway", [anon], at(0))
      expect(await b.get((await a.open())[0]?.fingerprint as string)).toMatchObject({ state: "new" })
      expect((await lab.admin.query(`SELECT version FROM "${o.schema}".schema_version`)).rows).toEqual([{ version: pgMigrations.length }])
      expect(b.name).toBe(`postgres://app@127.0.0.1:${lab.port}/postgres`)
    } finally {
      await a.close()
      await b.close()
    }
  })

  it("waits for a server still starting up rather than failing", async () => {
    // In front of the real server, a proxy that answers the first 5 connections as a starting
    // PostgreSQL does (FATAL 57P03), then passes connections through.
    let refused = 0
    const frame = (code: string, text: string) => {
      const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${text}\0\0`, "utf8")
      const head = Buffer.alloc(5)
      head.write("E", 0)
      head.writeInt32BE(fields.length + 4, 1)
      return Buffer.concat([head, fields])
    }
    const proxy = net.createServer((client) => {
      if (refused < 5) {
        refused++
        client.once("data", () => client.end(frame("57P03", "the database system is starting up")))
        return
      }
      const upstream = net.connect(lab.port, "127.0.0.1")
      client.pipe(upstream).pipe(client)
      client.on("error", () => upstream.destroy())
      upstream.on("error", () => client.destroy())
    })
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()))
    try {
      const store = await openPostgres({ ...options(), url: `postgres://app@127.0.0.1:${(proxy.address() as net.AddressInfo).port}/postgres` })
      expect(refused).toBe(5)
      expect(await store.open()).toEqual([])
      await store.close()
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()))
    }
  })

  it("refuses a database from a newer shiftup", async () => {
    const o = options()
    await (await openPostgres(o)).close()
    await lab.admin.query(`UPDATE "${o.schema}".schema_version SET version = 99`)
    await expect(openPostgres(o)).rejects.toThrow(/schema version is 99, newer than this shiftup knows/)
  })

  it("a wrong or missing password: an error naming the variable, never the password", async () => {
    const env = "SHIFTUP_TEST_STORE_WRONG"
    process.env[env] = "not-the-password-Zq9x"
    const wrong = await openPostgres({ ...options(), passwordEnv: env }).catch((e: unknown) => e)
    expect(wrong).toBeInstanceOf(FindingStoreError)
    expect(String((wrong as Error).message)).toContain(`check the password in $${env}`)
    expect(JSON.stringify(wrong) + String((wrong as Error).message) + String((wrong as Error).stack)).not.toContain("not-the-password")
    const unset = await openPostgres({ ...options(), passwordEnv: "SHIFTUP_TEST_STORE_UNSET" }).catch((e: unknown) => e)
    expect((unset as Error).message).toContain("SHIFTUP_TEST_STORE_UNSET (watch.store.passwordEnv) is not set")
    const none = await openPostgres({ kind: "postgres", url: lab.url, schema: "x" }).catch((e: unknown) => e)
    expect((none as Error).message).toContain("name it in watch.store.passwordEnv")
    expect((none as Error).message).not.toContain(lab.password)
  })
})
