/**
 * Data.MySql against a real MariaDB (one server for the file, with grant tables and a password
 * for `app`): each fault is injected through the real runner, seen by the integrity probes during
 * the method, and rolled back to the very same rows (a sorted `mariadb-dump`) and the very same
 * definition (`SHOW CREATE TABLE`, `SHOW CREATE TRIGGER`, `SHOW GRANTS`). The floor refuses
 * production and unknown environments for every data fault with zero connections at the server
 * (its `Connections` counter), staging refuses `encrypt`; a scope over maxRows is refused before
 * anything is touched; bad input is a typed error saying what to change. The password never
 * reaches the ledger, the journal or the reports.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import * as Data from "shiftup/data"
import { Expect, Experiment, type Fault, type Journal, Runner } from "shiftup"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startMariaLab, type MariaLab } from "../support/mariadb.ts"
import { users } from "../support/mysql-tables.ts"
import { ledgerRecords, tempDir, useProcessCleanup } from "../support/proc-cli.ts"
import * as Compensation from "../../src/Compensation.ts"
import { faultOf } from "../../src/internal/capability.ts"
import { makeStore, RunContext } from "../../src/RunContext.ts"

useProcessCleanup()

let lab: MariaLab
beforeAll(async () => {
  lab = await startMariaLab()
})
afterAll(() => lab?.stop())

let n = 0
/** A fresh database with the users table; the target scoped to it. */
const world = async (environment: "lab" | "staging" | "production" | "undeclared" = "lab") => {
  const db = `t${++n}_${Math.random().toString(36).slice(2, 6)}`
  await lab.database(db, users)
  const table = `${db}.users`
  const target = Data.MySql.target("shop-db", { url: `${lab.url}${db}`, passwordEnv: lab.passwordEnv, tables: [table], ...(environment === "undeclared" ? {} : { environment }) })
  return { db, table, target, rows: await lab.rows(table), definition: await lab.definition(table) }
}

type World = Awaited<ReturnType<typeof world>>

const run = (w: World, method: ReadonlyArray<Fault.Fault | Expect.Check<any>>, extra: Partial<Experiment.Definition> = {}) =>
  Runner.runPromise(
    Experiment.make({ id: "data.mysql.test", title: "a data fault, observed and rolled back", targets: { db: w.target }, budget: { maxDestroySteps: 3, maxConcurrentFaults: 6 }, method: [...method], ...extra }),
    { stateDir: tempDir("shiftup-state-"), journal: false },
  )

const expectRestored = async (w: World, j: Journal.Journal) => {
  expect(j.rollbacks.map((r) => `${r.fault}: ${r.outcome}${r.error === undefined ? "" : ` ${r.error}`}`).every((l) => l.endsWith(": restored")), JSON.stringify(j.rollbacks)).toBe(true)
  expect(await lab.rows(w.table)).toEqual(w.rows)
  expect(await lab.definition(w.table)).toBe(w.definition)
}

const query = async (sql: string) => (await lab.admin.query(sql))[0] as Array<Record<string, unknown>>

describe("each fault: injected, seen by the probes, rolled back exactly", () => {
  it("corrupt sets a role to 'admin' (the audit triggers fire), and the checksum differs during and is equal after", async () => {
    const w = await world()
    const seen: Array<string> = []
    const probe = Data.MySql.checksum(w.target, { table: w.table })
    const record = Expect.predicate("recorded", (c: Data.MySql.Checksum) => (seen.push(c.digest), c.rows === 40))
    const j = await run(w, [Data.MySql.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin", where: "id BETWEEN 2 AND 5" }), Expect.that(probe, record)], { hypothesis: [Expect.that(probe, record)] })
    expect(j.status, j.summary).toBe("passed")
    expect(seen).toHaveLength(3)
    expect(seen[1]).not.toBe(seen[0])
    expect(seen[2]).toBe(seen[0])
    await expectRestored(w, j)
    const audit = (await query(`SELECT what FROM ${w.db}.audit`)).map((r) => r["what"])
    expect(audit).toEqual(expect.arrayContaining(["2:admin", "5:admin", "2:user", "5:user"]))
  })

  it.each([
    ["null", { column: "email", mode: "null" as const }],
    ["truncate (multibyte text)", { column: "name", mode: "truncate" as const }],
    ["negate decimal", { column: "ratio", mode: "negate" as const }],
    ["set json", { column: "meta", mode: "set" as const, value: '{"owned": true}' }],
    ["set datetime(6)", { column: "seen", mode: "set" as const, value: "1999-12-31 23:59:59.654321" }],
    ["set varbinary (sampled)", { column: "avatar", mode: "set" as const, value: "garbage", sample: 0.5 }],
    ["null float", { column: "ratio", mode: "null" as const, sample: 0.3 }],
  ])("corrupt %s is rolled back exactly", async (_, o) => {
    const w = await world()
    const j = await run(w, [Data.MySql.corrupt(w.target, { table: w.table, ...o })])
    expect(j.status, j.summary).toBe("passed")
    await expectRestored(w, j)
  })

  it("encrypt replaces text with AES-GCM ciphertext (base64), and the ledger holds the key and digests, never the plaintext", async () => {
    const w = await world()
    const state = tempDir("shiftup-state-")
    let during: ReadonlyArray<unknown> = []
    const j = await Runner.runPromise(
      Experiment.make({ id: "data.mysql.encrypt", title: "users encrypted", targets: { db: w.target }, budget: { maxDestroySteps: 1 }, method: [Data.MySql.encrypt(w.target, { table: w.table, columns: ["name", "note"] }), Expect.that(Data.MySql.checksum(w.target, { table: w.table }), Expect.predicate("any", () => true))] }),
      {
        stateDir: state,
        journal: false,
        beforeStep: async (s) => {
          if (s.kind === "check") during = (await query(`SELECT name FROM ${w.table} ORDER BY id`)).map((r) => r["name"])
        },
      },
    )
    expect(j.status, j.summary).toBe("passed")
    expect(during).toHaveLength(40)
    for (const v of during) expect(v).toMatch(/^[A-Za-z0-9+/]{40,}={0,2}$/)
    await expectRestored(w, j)
    const text = JSON.stringify(ledgerRecords(state).find((r) => r.type === "intent"))
    expect(text).toContain('"kind":"data.mysql.decrypt"')
    expect(text).not.toContain("user 12")
    expect(text).not.toContain(lab.password)
  })

  it.each([
    ["the first of three indexes", { index: "users_email" }],
    ["an index in the middle", { index: "users_name" }],
    ["a check constraint", { constraint: "users_price_check" }],
    ["a foreign key", { constraint: "users_team_fk" }],
    ["the first of two triggers (recreated before the second)", { trigger: "users_audit" }],
    ["the last trigger", { trigger: "users_audit2" }],
    ["a grant", { grant: { privilege: "SELECT", user: "reporting" } }],
  ])("dropObject %s: the schema fingerprint differs while held, the definition is identical after", async (_, o) => {
    const w = await world()
    const fps: Array<string> = []
    const probe = Data.MySql.schema(w.target, { table: w.table })
    const record = Expect.predicate("recorded", (f: Data.MySql.SchemaFingerprint) => (fps.push(f.digest), true))
    const j = await run(w, [Data.MySql.dropObject(w.target, { table: w.table, ...o }), Expect.that(probe, record)], { hypothesis: [Expect.that(probe, record)] })
    expect(j.status, `${j.summary}\n${JSON.stringify(j.rollbacks)}`).toBe("passed")
    expect(fps).toHaveLength(3)
    expect(fps[1]).not.toBe(fps[0])
    expect(fps[2]).toBe(fps[0])
    await expectRestored(w, j)
  })

  it("a change the server refuses (negating a price under CHECK (price >= 0)) fails the injection, and nothing is left changed", async () => {
    const w = await world()
    const j = await run(w, [Data.MySql.corrupt(w.target, { table: w.table, column: "price", mode: "negate" })])
    expect(j.status).toBe("aborted")
    expect(j.summary).toMatch(/CONSTRAINT `users_price_check` failed/)
    await expectRestored(w, j)
  })

  it("every statement names the run, so the server's general log says which run acted", async () => {
    const w = await world()
    const j = await run(w, [Data.MySql.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin", where: "id = 3" })])
    expect(j.status, j.summary).toBe("passed")
    expect(lab.log()).toMatch(new RegExp(`/\\* shiftup run ${j.runId} \\*/ UPDATE`))
  })

  it("between the capture and the injection the captured rows are locked; restore is idempotent", async () => {
    const w = await world()
    const fault = Data.MySql.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin", where: "id = 2" })
    const cap = faultOf(fault)
    const ctx = { ...(await Effect.runPromise(Effect.service(RunContext))), store: makeStore() }
    const within = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(Effect.provideService(e, RunContext, ctx))
    const record = await within(cap.capture)
    await lab.admin.query("SET SESSION innodb_lock_wait_timeout = 1")
    await expect(lab.admin.query(`UPDATE ${w.table} SET role = 'app-wrote' WHERE id = 2`)).rejects.toThrow(/Lock wait timeout/)
    await within(cap.inject)
    expect((await query(`SELECT role FROM ${w.table} WHERE id = 2`))[0]?.["role"]).toBe("admin")
    expect((await within(Compensation.restore(Data.compensators[record.kind], record)))._tag).toBe("restored")
    expect((await within(Compensation.restore(Data.compensators[record.kind], record)))._tag).toBe("restored")
    expect(await lab.rows(w.table)).toEqual(w.rows)
  })

  it("several faults on one table roll back in reverse order to the same rows and definition", async () => {
    const w = await world()
    const j = await run(w, [
      Data.MySql.dropObject(w.target, { table: w.table, constraint: "users_price_check" }),
      Data.MySql.corrupt(w.target, { table: w.table, column: "price", mode: "negate" }),
      Data.MySql.encrypt(w.target, { table: w.table, columns: ["note"], sample: 0.3 }),
      Data.MySql.dropObject(w.target, { table: w.table, index: "users_email" }),
      Data.MySql.dropObject(w.target, { table: w.table, index: "users_name" }),
      Data.MySql.dropObject(w.target, { table: w.table, trigger: "users_audit" }),
    ])
    expect(j.status, j.summary).toBe("passed")
    await expectRestored(w, j)
  })
})

describe("the floor and the bounds: refused before anything is touched", () => {
  const faults = (w: World) => [
    Data.MySql.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin" }),
    Data.MySql.encrypt(w.target, { table: w.table, columns: ["name"] }),
    Data.MySql.dropObject(w.target, { table: w.table, index: "users_email" }),
    Data.MySql.dropObject(w.target, { table: w.table, trigger: "users_audit" }),
    Data.MySql.dropObject(w.target, { table: w.table, grant: { privilege: "SELECT", user: "reporting" } }),
  ]

  it.each([["production"], ["unknown"]] as const)("%s: every data fault (and its probe) is refused with zero connections at the server", async (env) => {
    const w = await world(env === "unknown" ? "undeclared" : env)
    for (const fault of faults(w)) {
      const at = await lab.connections()
      const j = await run(w, [fault, Expect.that(Data.MySql.checksum(w.target, { table: w.table }), Expect.predicate("any", () => true))])
      expect(j.status).toBe("refused")
      expect(j.refusal?.rule).toBe("floor.production-data-store")
      expect(await lab.connections(), `${fault.id} on a ${env} data store reached the server`).toBe(at)
      expect(lab.log()).not.toMatch(new RegExp(`shiftup run ${j.runId}`))
    }
    expect(await lab.rows(w.table)).toEqual(w.rows)
  })

  it("staging: encrypt (destroy) is refused with zero connections; corrupt (disrupt) runs", async () => {
    const w = await world("staging")
    const at = await lab.connections()
    const refused = await run(w, [Data.MySql.encrypt(w.target, { table: w.table, columns: ["name"] })])
    expect(refused.status).toBe("refused")
    expect(refused.refusal?.rule).toBe("floor.destroy-lab-only")
    expect(await lab.connections()).toBe(at)
    const ok = await run(w, [Data.MySql.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin", sample: 0.1 })])
    expect(ok.status, ok.summary).toBe("passed")
    await expectRestored(w, ok)
  })

  it("a scope over maxRows (or maxBytes) is refused at plan time, counted on the server", async () => {
    const w = await world()
    const rows = await run(w, [Data.MySql.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin", maxRows: 39 })])
    expect(rows.status).toBe("refused")
    expect(rows.refusal?.rule).toBe("data.mysql.scope-too-large")
    expect(rows.refusal?.reason).toMatch(/40 rows .* over maxRows \(39\)/)
    const bytes = await run(w, [Data.MySql.encrypt(w.target, { table: w.table, columns: ["note"], maxBytes: 100 })])
    expect(bytes.status).toBe("refused")
    expect(bytes.refusal?.reason).toMatch(/over maxBytes \(100\)/)
    const narrowed = await run(w, [Data.MySql.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin", maxRows: 39, where: "id > 1" })])
    expect(narrowed.status, narrowed.summary).toBe("passed")
    await expectRestored(w, narrowed)
  })

  it("a table without a primary key, and a MyISAM table, are refused by the preflight", async () => {
    const w = await world()
    await lab.admin.query(`CREATE TABLE ${w.db}.loose (a int, b text) ENGINE=InnoDB; CREATE TABLE ${w.db}.old (id int PRIMARY KEY, b text) ENGINE=MyISAM; INSERT INTO ${w.db}.loose VALUES (1, 'x'); INSERT INTO ${w.db}.old VALUES (1, 'x')`)
    const target = Data.MySql.target("shop-db", { url: `${lab.url}${w.db}`, passwordEnv: lab.passwordEnv, environment: "lab", tables: ["loose", "old"] })
    const one = (table: string) => Runner.runPromise(Experiment.make({ id: "data.mysql.pre", title: "pre", targets: { db: target }, method: [Data.MySql.corrupt(target, { table, column: "b", mode: "set", value: "z" })] }), { stateDir: tempDir(), journal: false })
    const loose = await one("loose")
    expect(loose.refusal?.rule).toBe("data.mysql.no-primary-key")
    const old = await one("old")
    expect(old.refusal?.rule).toBe("data.mysql.not-transactional")
    expect(old.refusal?.reason).toMatch(/MyISAM, which has no transactions/)
  })
})

describe("bad input: typed errors that say what to change", () => {
  const invalid = (f: () => unknown) => {
    try {
      f()
    } catch (e) {
      return e as { _tag: string; message: string }
    }
    throw new Error("expected a throw")
  }

  it("a password in the URL, a table outside the scope", async () => {
    const e = invalid(() => Data.MySql.target("db", { url: "mysql://app:hunter2@127.0.0.1:3306/x", tables: ["t"], environment: "lab" }))
    expect(e._tag).toBe("InvalidExperiment")
    expect(e.message).toMatch(/holds a password: put it in an environment variable/)
    expect(e.message).not.toContain("hunter2")
    const w = await world()
    const out = invalid(() => Data.MySql.corrupt(w.target, { table: `${w.db}.audit`, column: "what", mode: "null" }))
    expect(out.message).toMatch(/audit is outside the scope of target "shop-db"/)
  })

  it("an unknown column, a bad value, an unsuitable mode", async () => {
    const w = await world()
    const col = await run(w, [Data.MySql.corrupt(w.target, { table: w.table, column: "rol", mode: "set", value: "admin" })])
    expect(col.status).toBe("invalid")
    expect(col.summary).toMatch(/column "rol" does not exist in .*users \(its columns: id, name, role/)
    const value = await run(w, [Data.MySql.corrupt(w.target, { table: w.table, column: "price", mode: "set", value: "lots" })])
    expect(value.status).toBe("invalid")
    expect(value.summary).toMatch(/"lots" is not a valid decimal\(10,2\)/)
    const mode = await run(w, [Data.MySql.corrupt(w.target, { table: w.table, column: "role", mode: "negate" })])
    expect(mode.status).toBe("refused")
    expect(mode.refusal?.reason).toMatch(/flips a number's sign; role is varchar\(20\)/)
    expect(await lab.rows(w.table)).toEqual(w.rows)
  })

  it("a wrong password: the message names the variable, never the value", async () => {
    const w = await world()
    process.env["SHIFTUP_TEST_MYSQL_WRONG"] = "not-the-password"
    const target = Data.MySql.target("shop-db", { url: `${lab.url}${w.db}`, passwordEnv: "SHIFTUP_TEST_MYSQL_WRONG", environment: "lab", tables: [w.table] })
    const j = await Runner.runPromise(Experiment.make({ id: "data.mysql.wrong", title: "wrong pw", targets: { db: target }, method: [Data.MySql.corrupt(target, { table: w.table, column: "role", mode: "null" })] }), { stateDir: tempDir(), journal: false })
    expect(j.status).toBe("invalid")
    expect(j.summary).toMatch(/Access denied.*check the password in \$SHIFTUP_TEST_MYSQL_WRONG/)
    expect(j.summary).not.toContain("not-the-password")
  })
})

describe("secrets", () => {
  it("the password never reaches the ledger, the journal, the reports or the server's log", async () => {
    const w = await world()
    const state = tempDir("shiftup-state-")
    const j = await Runner.runPromise(
      Experiment.make({
        id: "data.mysql.secret",
        title: "no password anywhere",
        targets: { db: w.target },
        budget: { maxDestroySteps: 1, maxConcurrentFaults: 3 },
        method: [
          Data.MySql.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin" }),
          Data.MySql.encrypt(w.target, { table: w.table, columns: ["email"] }),
          Data.MySql.dropObject(w.target, { table: w.table, grant: { privilege: "INSERT", user: "reporting" } }),
        ],
      }),
      { stateDir: state },
    )
    expect(j.status, j.summary).toBe("passed")
    const files: Array<string> = []
    const walk = (d: string) => readdirSync(d).forEach((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : files.push(join(d, f))))
    walk(state)
    expect(files.some((f) => f.includes("ledger"))).toBe(true)
    expect(files.some((f) => f.includes("journal"))).toBe(true)
    for (const f of files) expect(readFileSync(f, "utf8"), f).not.toContain(lab.password)
    expect(JSON.stringify(j)).not.toContain(lab.password)
    expect(lab.log()).toContain(`shiftup run ${j.runId}`)
    expect(lab.log().split("\n").filter((l) => l.includes(`shiftup run ${j.runId}`) && l.includes(lab.password))).toEqual([])
    expect(JSON.stringify(ledgerRecords(state))).toContain(`"passwordEnv":"${lab.passwordEnv}"`)
  })
})
