/**
 * Data.Postgres without a server: the target's classification facts and validation, identifier
 * quoting and table names, the kinds' schemas (a forged or password-holding record is refused,
 * never replayed), and that importing `shiftup/data` loads no `pg`.
 */
import { spawnSync } from "node:child_process"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import * as Data from "../../../src/data/index.ts"
import { Decrypt } from "../../../src/data/postgres/faults/encrypt.ts"
import { RestoreValues } from "../../../src/data/postgres/faults/corrupt.ts"
import { Recreate } from "../../../src/data/postgres/faults/drop-object.ts"
import { ident, parseTable, qualified } from "../../../src/data/postgres/internal/sql.ts"
import { classify } from "../../../src/internal/classify.ts"
import { repoRoot } from "../../support/proc-cli.ts"

const thrown = (f: () => unknown): { readonly _tag?: string; readonly message: string } => {
  try {
    f()
  } catch (e) {
    return e as { _tag?: string; message: string }
  }
  throw new Error("expected a throw")
}

describe("the target", () => {
  it("is always a data store, declares its endpoint, and resolves without contacting anything", async () => {
    const t = Data.Postgres.target("orders", { url: "postgres://app@127.0.0.1:6543/shop", tables: ["orders", "Sales.lines"], environment: "staging" })
    expect(t.dataStore).toBe("postgres")
    expect(t.endpoint).toBe("127.0.0.1:6543")
    expect(t.tables).toEqual([{ schema: "public", name: "orders" }, { schema: "sales", name: "lines" }])
    const r = await Effect.runPromise(t.resolve)
    expect(r.members[0]?.endpoints).toEqual([{ host: "127.0.0.1", port: 6543, protocol: "tcp" }])
    const c = classify(t, r.members)
    expect(c).toMatchObject({ environment: "staging", dataStore: { is: true, engine: "postgres" } })
    // No environment: unknown, which the floor treats as production.
    const bare = Data.Postgres.target("x", { url: "postgres://app@127.0.0.1/shop", tables: ["t"] })
    expect(classify(bare, (await Effect.runPromise(bare.resolve)).members).effective).toBe("production")
  })

  it("reports every issue at once, each saying what to change", () => {
    const e = thrown(() => Data.Postgres.target("db", { url: "mysql://root:pw@127.0.0.1/x", tables: ["a.b.c", ""], passwordEnv: "1BAD" }))
    expect(e._tag).toBe("InvalidExperiment")
    expect(e.message).toMatch(/the scheme is mysql; expected postgres or postgresql/)
    expect(e.message).toMatch(/holds a password/)
    expect(e.message).toMatch(/"1BAD" is not an environment variable name/)
    expect(e.message).toMatch(/"a\.b\.c" is not a table name/)
    expect(e.message).not.toContain(":pw@")
  })
})

describe("SQL text", () => {
  it("quotes every identifier so it reads back exactly", () => {
    expect(ident('we"ird')).toBe('"we""ird"')
    expect(qualified({ schema: "public", name: "Order Lines" })).toBe('"public"."Order Lines"')
    expect(parseTable('"My ""Schema"".x"."T"')).toEqual({ schema: 'My "Schema".x', name: "T" })
    expect(parseTable("Orders")).toEqual({ schema: "public", name: "orders" })
    for (const bad of ["", "a.", ".a", "a b", "a;drop table x", 'a"b']) expect(parseTable(bad), bad).toBeUndefined()
  })
})

describe("the kinds' schemas", () => {
  const base = { description: "d", target: "db", url: "postgres://app@127.0.0.1:5432/shop", passwordEnv: "PG_PW", schema: "public", table: "users" }
  const decodes = (k: { readonly decode: (c: never) => Effect.Effect<unknown, unknown> }, c: object) => Effect.runPromise(Effect.exit(k.decode(c as never))).then((x) => x._tag === "Success")

  it("accept what the faults ledger", async () => {
    expect(await decodes(RestoreValues, { ...base, kind: "data.postgres.restore-values", column: "role", rows: [{ k: ["1"], v: "user" }, { k: ["2"], v: null }] })).toBe(true)
    expect(await decodes(Decrypt, { ...base, kind: "data.postgres.decrypt", key: Buffer.alloc(32).toString("base64"), columns: ["name"], rows: [{ k: ["1"], h: ["0123456789abcdef0123456789abcdef"] }] })).toBe(true)
    expect(await decodes(Recreate, { ...base, kind: "data.postgres.recreate", object: "index", name: "i", definition: "CREATE INDEX i ON public.users USING btree (a)", state: "false,false" })).toBe(true)
  })

  it("refuse a record holding a password, a bad variable name, or a forged shape", async () => {
    const ok = { ...base, kind: "data.postgres.restore-values", column: "role", rows: [] }
    expect(await decodes(RestoreValues, { ...ok, url: "postgres://app:secret@127.0.0.1/shop" })).toBe(false)
    expect(await decodes(RestoreValues, { ...ok, url: "http://127.0.0.1/shop" })).toBe(false)
    expect(await decodes(RestoreValues, { ...ok, passwordEnv: "$(rm -rf)" })).toBe(false)
    expect(await decodes(RestoreValues, { ...ok, rows: [{ k: [1], v: "x" }] })).toBe(false)
    expect(await decodes(Recreate, { ...base, kind: "data.postgres.recreate", object: "table", name: "t", definition: "DROP TABLE t", state: "" })).toBe(false)
    expect(await decodes(Decrypt, { ...base, kind: "data.postgres.decrypt", key: "not base64!", columns: [], rows: [] })).toBe(false)
  })

  it("are registered once each under shiftup/data", () => {
    expect(Object.keys(Data.Postgres.compensators).sort()).toEqual(["data.postgres.database-setting", "data.postgres.decrypt", "data.postgres.end-sessions", "data.postgres.recreate", "data.postgres.restore-rows", "data.postgres.restore-values"])
    for (const k of Object.keys(Data.Postgres.compensators)) expect(Data.compensators[k]).toBe(Data.Postgres.compensators[k])
  })
})

it("importing shiftup/data, and building targets, faults and probes, loads no pg", () => {
  const script = `
    import { registerHooks } from "node:module"
    registerHooks({ resolve(s, c, next) { if (s === "pg" || s.startsWith("pg/")) console.log("LOADED " + s); return next(s, c) } })
    const Data = await import("./src/data/index.ts")
    const t = Data.Postgres.target("db", { url: "postgres://app@127.0.0.1/x", tables: ["t"], environment: "lab" })
    Data.Postgres.corrupt(t, { table: "t", column: "c", mode: "null" })
    Data.Postgres.checksum(t, { table: "t" })
    console.log("done")
    await import("pg") // the control: the hook does see pg when it is loaded
  `
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: repoRoot, encoding: "utf8" })
  expect(r.stdout, r.stderr).toContain("done")
  expect(r.stdout.split("done")[0]).not.toContain("LOADED")
  expect(r.stdout.split("done")[1]).toContain("LOADED pg")
})
