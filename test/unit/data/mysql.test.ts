/**
 * Data.MySql without a server: the target's classification facts and validation, identifier
 * quoting and table names, the kinds' schemas (a password-holding or forged record is refused,
 * never replayed), and that importing `shiftup/data` loads no `mysql2`.
 */
import { spawnSync } from "node:child_process"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import * as Data from "../../../src/data/index.ts"
import { RestoreValues } from "../../../src/data/mysql/faults/corrupt.ts"
import { Recreate } from "../../../src/data/mysql/faults/drop-object.ts"
import { ident, parseTable, qualified } from "../../../src/data/mysql/internal/sql.ts"
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
  it("is always a data store, declares its endpoint (default port 3306), and resolves without contacting anything", async () => {
    const t = Data.MySql.target("shop", { url: "mariadb://app@127.0.0.1/shop", tables: ["users", "other.lines"], environment: "staging" })
    expect(t.dataStore).toBe("mysql")
    expect(t.endpoint).toBe("127.0.0.1:3306")
    expect(t.tables).toEqual([{ schema: "shop", name: "users" }, { schema: "other", name: "lines" }])
    const resolved = await Effect.runPromise(t.resolve)
    expect(resolved.members[0]?.endpoints).toEqual([{ host: "127.0.0.1", port: 3306, protocol: "tcp" }])
    expect(classify(t, resolved.members)).toMatchObject({ environment: "staging", dataStore: { is: true, engine: "mysql" } })
    const bare = Data.MySql.target("x", { url: "mysql://app@127.0.0.1/shop", tables: ["t"] })
    expect(classify(bare, (await Effect.runPromise(bare.resolve)).members).effective).toBe("production")
  })

  it("refuses a password in the URL, another scheme, a bare table without a database, every issue at once", () => {
    const e = thrown(() => Data.MySql.target("db", { url: "postgres://app:hunter2@127.0.0.1/", tables: ["users"], environment: "lab" }))
    expect(e._tag).toBe("InvalidExperiment")
    expect(e.message).toMatch(/scheme is postgres; expected mysql or mariadb/)
    expect(e.message).toMatch(/holds a password/)
    expect(e.message).toMatch(/"users" is not a table name \(database.table; a bare name needs a database in the URL\)/)
    expect(e.message).not.toContain("hunter2")
  })
})

describe("SQL text", () => {
  it("quotes identifiers with backticks and reads table names back exactly", () => {
    expect(ident("a`b")).toBe("`a``b`")
    expect(qualified({ schema: "Shop", name: "order lines" })).toBe("`Shop`.`order lines`")
    expect(parseTable("`Sales`.`Order ``Lines`", "x")).toEqual({ schema: "Sales", name: "Order `Lines" })
    expect(parseTable("Users", "shop")).toEqual({ schema: "shop", name: "Users" })
    expect(parseTable("a.b.c", "shop")).toBeUndefined()
    expect(parseTable("users; DROP TABLE x", "shop")).toBeUndefined()
  })
})

describe("the compensation kinds", () => {
  const base = { target: "db", description: "d", url: "mysql://app@127.0.0.1:3306/shop", schema: "shop", table: "users" }

  it("decode a record, and refuse one holding a password or naming another scheme", async () => {
    const ok = RestoreValues.make({ ...base, column: "role", rows: [{ k: ["1"], v: "user" }] } as never)
    expect((await Effect.runPromise(Effect.result(RestoreValues.decode(ok))))._tag).toBe("Success")
    for (const url of ["mysql://app:pw@127.0.0.1/shop", "postgres://app@127.0.0.1/shop"]) {
      const bad = RestoreValues.make({ ...base, url, column: "role", rows: [] } as never)
      expect((await Effect.runPromise(Effect.result(RestoreValues.decode(bad))))._tag, url).toBe("Failure")
    }
    const forged = Recreate.make({ ...base, object: "table", name: "x", definition: "DROP TABLE users", state: "" } as never)
    expect((await Effect.runPromise(Effect.result(Recreate.decode(forged))))._tag).toBe("Failure")
  })

  it("are registered once each under shiftup/data", () => {
    expect(Object.keys(Data.MySql.compensators).sort()).toEqual(["data.mysql.decrypt", "data.mysql.recreate", "data.mysql.restore-values"])
    for (const k of Object.keys(Data.MySql.compensators)) expect(Data.compensators[k]).toBe(Data.MySql.compensators[k])
  })
})

it("importing shiftup/data, and building targets, faults and probes, loads no mysql2", () => {
  const script = `
    import { registerHooks } from "node:module"
    registerHooks({ resolve(s, c, next) { if (s === "mysql2" || s.startsWith("mysql2/")) console.log("LOADED " + s); return next(s, c) } })
    const Data = await import("./src/data/index.ts")
    const t = Data.MySql.target("db", { url: "mysql://app@127.0.0.1/x", tables: ["t"], environment: "lab" })
    Data.MySql.corrupt(t, { table: "t", column: "c", mode: "null" })
    Data.MySql.encrypt(t, { table: "t", columns: ["c"] })
    Data.MySql.dropObject(t, { table: "t", trigger: "audit" })
    Data.MySql.checksum(t, { table: "t" })
    Data.MySql.schema(t, { table: "t" })
    console.log("done")
    await import("mysql2/promise") // the control: the hook does see mysql2 when it is loaded
  `
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: repoRoot, encoding: "utf8" })
  expect(r.stdout, r.stderr).toContain("done")
  expect(r.stdout.split("done")[0]).not.toContain("LOADED")
  expect(r.stdout.split("done")[1]).toContain("LOADED mysql2")
})
