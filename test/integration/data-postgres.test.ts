/**
 * Data.Postgres against a real PostgreSQL 15 (one server for the file): each fault is injected
 * through the real runner, seen by the integrity probes during the method, and rolled back to the
 * very same rows (a sorted dump of them) and the very same definition (`pg_dump --schema-only`).
 * The floor refuses production and unknown environments for every data fault with zero
 * connections at the server (counted in its log), staging refuses `encrypt`; a table without a
 * primary key and a scope over maxRows are refused before anything is touched; bad input is a
 * typed error saying what to change. The password (scram, from `passwordEnv`) never reaches the
 * ledger or the journal.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { Effect } from "effect"
import { join } from "node:path"
import * as Data from "shiftup/data"
import { Expect, Experiment, type Fault, type Journal, Runner } from "shiftup"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { users } from "../support/pg-tables.ts"
import { startPgLab, type PgLab } from "../support/postgres.ts"
import { ledgerRecords, tempDir, useProcessCleanup } from "../support/proc-cli.ts"
import * as Compensation from "../../src/Compensation.ts"
import { faultOf } from "../../src/internal/capability.ts"
import { makeStore, RunContext } from "../../src/RunContext.ts"

useProcessCleanup()

let lab: PgLab
beforeAll(async () => {
  lab = await startPgLab()
})
afterAll(() => lab?.stop())


let n = 0
/** A fresh schema with the users table; the target scoped to it. */
const world = async (environment: "lab" | "staging" | "production" | "undeclared" = "lab", extra: Partial<Data.Postgres.PostgresTargetOptions> = {}) => {
  const schema = `t${++n}_${Math.random().toString(36).slice(2, 6)}`
  await lab.schema(schema, users(schema))
  const table = `${schema}.users`
  const target = Data.Postgres.target("shop-db", { url: lab.url, passwordEnv: lab.passwordEnv, tables: [table], ...(environment === "undeclared" ? {} : { environment }), ...extra })
  return { schema, table, target, rows: await lab.rows(table), dump: lab.dump(table) }
}

type World = Awaited<ReturnType<typeof world>>

const run = (w: World, method: ReadonlyArray<Fault.Fault | Expect.Check<any>>, extra: Partial<Experiment.Definition> = {}) =>
  Runner.runPromise(
    Experiment.make({ id: "data.postgres.test", title: "a data fault, observed and rolled back", targets: { db: w.target }, budget: { maxDestroySteps: 3, maxConcurrentFaults: 5 }, method: [...method], ...extra }),
    { stateDir: tempDir("shiftup-state-"), journal: false },
  )

const expectRestored = async (w: World, j: Journal.Journal) => {
  expect(j.rollbacks.map((r) => `${r.fault}: ${r.outcome}${r.error === undefined ? "" : ` ${r.error}`}`).every((l) => l.endsWith(": restored")), JSON.stringify(j.rollbacks)).toBe(true)
  expect(await lab.rows(w.table)).toEqual(w.rows)
  expect(lab.dump(w.table)).toBe(w.dump)
}

/** The step ids of checks that held, and of those that did not. */
const outcomes = (j: Journal.Journal) => j.steps.map((s) => `${s.id}: ${s.outcome}`)

describe("each fault: injected, seen by the probes, rolled back exactly", () => {
  it("corrupt sets a role to 'admin' (the audit trigger fires), then writes the before-values back", async () => {
    const w = await world()
    const before = await lab.admin.query(`SELECT count(*)::int AS n FROM ${w.table} WHERE role = 'admin'`)
    expect(before.rows[0].n).toBe(1)
    const sum0 = Data.Postgres.checksum(w.target, { table: w.table, id: "sum" })
    const j = await run(w, [
      Data.Postgres.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin", where: "id BETWEEN 2 AND 5" }),
      Expect.that(sum0, Expect.predicate("the rows differ", (c: Data.Postgres.Checksum) => c.rows === 40)),
      Expect.that(Data.Postgres.checksum(w.target, { table: w.table, id: "admins" }), Expect.predicate("changed", (c: Data.Postgres.Checksum) => c.digest !== "")),
    ])
    expect(j.status, j.summary).toBe("passed")
    await expectRestored(w, j)
    // The trigger saw the flips and the restore: the audit trail is the application's, not ours to undo.
    const audit = await lab.admin.query(`SELECT what FROM "${w.schema}".audit ORDER BY at, what`)
    expect(audit.rows.map((r: { what: string }) => r.what)).toEqual(expect.arrayContaining(["2:admin", "5:admin", "2:user", "5:user"]))
  })

  it("the checksum differs while a fault is held and equals the one before after rollback", async () => {
    const w = await world()
    const seen: Array<string> = []
    const probe = Data.Postgres.checksum(w.target, { table: w.table })
    const record = Expect.predicate("recorded", (c: Data.Postgres.Checksum) => (seen.push(c.digest), true))
    const j = await run(w, [Data.Postgres.corrupt(w.target, { table: w.table, column: "name", mode: "truncate", sample: 0.5 }), Expect.that(probe, record)], { hypothesis: [Expect.that(probe, record)] })
    expect(j.status, j.summary).toBe("passed")
    // before, during, and the hypothesis again after rollback
    expect(seen).toHaveLength(3)
    expect(seen[1]).not.toBe(seen[0])
    expect(seen[2]).toBe(seen[0])
    await expectRestored(w, j)
  })

  it.each([
    ["null", { column: "email", mode: "null" as const }],
    ["truncate", { column: "name", mode: "truncate" as const }],
    ["set jsonb", { column: "meta", mode: "set" as const, value: '{"owned":true}' }],
    ["set timestamptz", { column: "seen", mode: "set" as const, value: "1999-12-31 23:59:59.123456+00" }],
  ])("corrupt %s is rolled back exactly", async (_, o) => {
    const w = await world()
    const j = await run(w, [Data.Postgres.corrupt(w.target, { table: w.table, ...o })])
    expect(j.status, j.summary).toBe("passed")
    await expectRestored(w, j)
  })

  it("encrypt replaces text with AES-GCM ciphertext (base64), and the ledger holds the key and digests, never the plaintext", async () => {
    const w = await world()
    const state = tempDir("shiftup-state-")
    let during: ReadonlyArray<string> = []
    const j = await Runner.runPromise(
      Experiment.make({
        id: "data.postgres.encrypt",
        title: "orders encrypted",
        targets: { db: w.target },
        budget: { maxDestroySteps: 1 },
        method: [
          Data.Postgres.encrypt(w.target, { table: w.table, columns: ["name", "email"] }),
          Expect.that(
            Data.Postgres.checksum(w.target, { table: w.table }),
            Expect.predicate("changed", () => true),
          ),
        ],
      }),
      {
        stateDir: state,
        journal: false,
        beforeStep: async (s) => {
          if (s.kind === "check") during = (await lab.admin.query(`SELECT name FROM ${w.table} ORDER BY id`)).rows.map((r: { name: string }) => r.name)
        },
      },
    )
    expect(j.status, j.summary).toBe("passed")
    expect(during).toHaveLength(40)
    for (const v of during) expect(v).toMatch(/^[A-Za-z0-9+/]{40,}={0,2}$/)
    await expectRestored(w, j)
    const intent = ledgerRecords(state).find((r) => r.type === "intent")
    const text = JSON.stringify(intent)
    expect(text).toContain('"kind":"data.postgres.decrypt"')
    expect(text).not.toContain("user 12")
    expect(text).not.toContain("u12@example.test")
    expect(text).not.toContain(lab.password)
  })

  it.each([
    ["index", { index: "users_email" }],
    ["constraint", { constraint: "users_price_check" }],
    ["primary key", { constraint: "users_pkey" }],
    ["trigger", { trigger: "users_audit" }],
    ["policy", { policy: "users_own" }],
    ["row security", { rowSecurity: true as const }],
  ])("dropObject %s: the schema fingerprint differs while held, pg_dump is identical after", async (_, o) => {
    const w = await world()
    const fps: Array<string> = []
    const probe = Data.Postgres.schema(w.target, { table: w.table })
    const record = Expect.predicate("recorded", (f: Data.Postgres.SchemaFingerprint) => (fps.push(f.digest), true))
    const j = await run(w, [Data.Postgres.dropObject(w.target, { table: w.table, ...o }), Expect.that(probe, record)], { hypothesis: [Expect.that(probe, record)] })
    expect(j.status, `${j.summary}\n${outcomes(j).join("\n")}`).toBe("passed")
    expect(fps).toHaveLength(3)
    expect(fps[1]).not.toBe(fps[0])
    expect(fps[2]).toBe(fps[0])
    await expectRestored(w, j)
  })

  it("a change the database refuses (negating a price under CHECK (price >= 0)) fails the injection, and nothing is left changed", async () => {
    const w = await world()
    const j = await run(w, [Data.Postgres.corrupt(w.target, { table: w.table, column: "price", mode: "negate" })])
    expect(j.status).toBe("aborted")
    expect(j.summary).toMatch(/violates check constraint "users_price_check"/)
    await expectRestored(w, j)
  })

  it("every session names the run (application_name), so the server's own log says which run acted", async () => {
    const w = await world()
    const j = await run(w, [Data.Postgres.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin", where: "id = 3" })])
    expect(j.status, j.summary).toBe("passed")
    expect(lab.server.output()).toContain(`application_name=shiftup run ${j.runId}`)
  })

  it("between the capture and the injection the captured rows are locked: no write slips between the before-image and the change", async () => {
    const w = await world()
    const fault = Data.Postgres.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin", where: "id = 2" })
    const cap = faultOf(fault)
    const ctx = { ...(await Effect.runPromise(Effect.service(RunContext))), store: makeStore() }
    const within = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(Effect.provideService(e, RunContext, ctx))
    const record = await within(cap.capture)
    // What the runner does here: ledger the record. Meanwhile the application tries to write the row.
    await lab.admin.query("SET lock_timeout = '300ms'")
    await expect(lab.admin.query(`UPDATE ${w.table} SET role = 'app-wrote' WHERE id = 2`)).rejects.toThrow(/lock timeout/)
    await lab.admin.query("RESET lock_timeout")
    await within(cap.inject)
    expect((await lab.admin.query(`SELECT role FROM ${w.table} WHERE id = 2`)).rows[0].role).toBe("admin")
    const restored = await within(Compensation.restore(Data.compensators[record.kind], record))
    expect(restored._tag).toBe("restored")
    // Idempotent: replayed again, nothing changes.
    expect((await within(Compensation.restore(Data.compensators[record.kind], record)))._tag).toBe("restored")
    expect(await lab.rows(w.table)).toEqual(w.rows)
  })

  it("several faults on one table roll back in reverse order to the same rows and definition", async () => {
    const w = await world()
    const j = await run(w, [
      Data.Postgres.dropObject(w.target, { table: w.table, constraint: "users_price_check" }),
      Data.Postgres.corrupt(w.target, { table: w.table, column: "price", mode: "negate" }),
      Data.Postgres.encrypt(w.target, { table: w.table, columns: ["role"], sample: 0.3 }),
      Data.Postgres.dropObject(w.target, { table: w.table, trigger: "users_audit" }),
    ])
    expect(j.status, j.summary).toBe("passed")
    await expectRestored(w, j)
  })
})

describe("the floor and the bounds: refused before anything is touched", () => {
  const faults = (w: World) => [
    Data.Postgres.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin" }),
    Data.Postgres.encrypt(w.target, { table: w.table, columns: ["name"] }),
    Data.Postgres.dropObject(w.target, { table: w.table, index: "users_email" }),
  ]

  it.each([["production"], ["unknown"]] as const)("%s: every data fault (and its probe) is refused with zero connections at the server", async (env) => {
    const w = await world(env === "unknown" ? "undeclared" : env)
    for (const fault of faults(w)) {
      const at = lab.connections()
      const j = await run(w, [fault, Expect.that(Data.Postgres.checksum(w.target, { table: w.table }), Expect.predicate("any", () => true))])
      expect(j.status).toBe("refused")
      expect(j.refusal?.rule).toBe("floor.production-data-store")
      expect(lab.connections(), `${fault.id} on a ${env} data store reached the server`).toBe(at)
    }
    expect(await lab.rows(w.table)).toEqual(w.rows)
  })

  it("staging: encrypt (destroy) is refused; corrupt (disrupt) runs", async () => {
    const w = await world("staging")
    const at = lab.connections()
    const refused = await run(w, [Data.Postgres.encrypt(w.target, { table: w.table, columns: ["name"] })])
    expect(refused.status).toBe("refused")
    expect(refused.refusal?.rule).toBe("floor.destroy-lab-only")
    expect(lab.connections()).toBe(at)
    const ok = await run(w, [Data.Postgres.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin", sample: 0.1 })])
    expect(ok.status, ok.summary).toBe("passed")
    await expectRestored(w, ok)
  })

  it("a table without a primary key is refused by the preflight, nothing changed", async () => {
    const w = await world()
    const audit = `${w.schema}.audit`
    await lab.admin.query(`INSERT INTO ${audit} (what) VALUES ('x'), ('y')`)
    const target = Data.Postgres.target("shop-db", { url: lab.url, passwordEnv: lab.passwordEnv, environment: "lab", tables: [audit] })
    const before = await lab.rows(audit)
    const j = await Runner.runPromise(Experiment.make({ id: "data.postgres.nopk", title: "no pk", targets: { db: target }, method: [Data.Postgres.corrupt(target, { table: audit, column: "what", mode: "set", value: "z" })] }), { stateDir: tempDir(), journal: false })
    expect(j.status).toBe("refused")
    expect(j.refusal?.rule).toBe("data.postgres.no-primary-key")
    expect(j.refusal?.reason).toMatch(/has no primary key.*add one/)
    expect(await lab.rows(audit)).toEqual(before)
  })

  it("a scope over maxRows (or maxBytes) is refused, counted at the preflight", async () => {
    const w = await world()
    const rows = await run(w, [Data.Postgres.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin", maxRows: 39 })])
    expect(rows.status).toBe("refused")
    expect(rows.refusal?.rule).toBe("data.postgres.scope-too-large")
    expect(rows.refusal?.reason).toMatch(/40 rows .* over maxRows \(39\)/)
    const bytes = await run(w, [Data.Postgres.encrypt(w.target, { table: w.table, columns: ["name"], maxBytes: 100 })])
    expect(bytes.status).toBe("refused")
    expect(bytes.refusal?.reason).toMatch(/over maxBytes \(100\)/)
    // Narrowed, the same fault fits.
    const narrowed = await run(w, [Data.Postgres.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin", maxRows: 39, where: "id > 1" })])
    expect(narrowed.status, narrowed.summary).toBe("passed")
    expect(await lab.rows(w.table)).toEqual(w.rows)
    expect(lab.dump(w.table)).toBe(w.dump)
  })
})

describe("bad input: typed errors that say what to change, nothing touched", () => {
  const invalid = (f: () => unknown) => {
    try {
      f()
    } catch (e) {
      return e as { _tag: string; message: string }
    }
    throw new Error("expected a throw")
  }

  it("a password in the URL", () => {
    const e = invalid(() => Data.Postgres.target("db", { url: "postgres://app:hunter2@127.0.0.1:5432/x", tables: ["t"], environment: "lab" }))
    expect(e._tag).toBe("InvalidExperiment")
    expect(e.message).toMatch(/holds a password: put it in an environment variable and name that variable in `passwordEnv`/)
    expect(e.message).not.toContain("hunter2")
  })

  it("passwordEnv naming an unset variable", () => {
    const e = invalid(() => Data.Postgres.target("db", { url: lab.url, passwordEnv: "SHIFTUP_TEST_NOT_SET_ANYWHERE", tables: ["t"], environment: "lab" }))
    expect(e._tag).toBe("InvalidExperiment")
    expect(e.message).toMatch(/SHIFTUP_TEST_NOT_SET_ANYWHERE is not set: export it/)
  })

  it("a table outside `tables`", async () => {
    const w = await world()
    const e = invalid(() => Data.Postgres.corrupt(w.target, { table: `${w.schema}.audit`, column: "what", mode: "null" }))
    expect(e._tag).toBe("InvalidExperiment")
    expect(e.message).toMatch(/audit is outside the scope of target "shop-db" .* add it to the target's `tables`/)
  })

  it("an unknown column: the run is invalid (exit 4), naming the table's columns; nothing touched", async () => {
    const w = await world()
    const j = await run(w, [Data.Postgres.corrupt(w.target, { table: w.table, column: "rol", mode: "set", value: "admin" })])
    expect(j.status).toBe("invalid")
    expect(j.summary).toMatch(/column "rol" does not exist in .*users \(its columns: id, name, role/)
    expect(await lab.rows(w.table)).toEqual(w.rows)
  })

  it("a value the column cannot hold, and a mode the column cannot take", async () => {
    const w = await world()
    const bad = await run(w, [Data.Postgres.corrupt(w.target, { table: w.table, column: "price", mode: "set", value: "lots" })])
    expect(bad.status).toBe("invalid")
    expect(bad.summary).toMatch(/"lots" is not a valid numeric\(10,2\)/)
    const mode = await run(w, [Data.Postgres.corrupt(w.target, { table: w.table, column: "role", mode: "negate" })])
    expect(mode.status).toBe("refused")
    expect(mode.refusal?.reason).toMatch(/flips a number's sign; role is text/)
    expect(await lab.rows(w.table)).toEqual(w.rows)
  })

  it("a `where` that is not valid SQL on the table: invalid, naming the condition", async () => {
    const w = await world()
    const j = await run(w, [Data.Postgres.corrupt(w.target, { table: w.table, column: "email", mode: "null", where: "nope > 1" })])
    expect(j.status).toBe("invalid")
    expect(j.summary).toMatch(/the condition `nope > 1` does not run on .*users: column "nope" does not exist/)
    expect(await lab.rows(w.table)).toEqual(w.rows)
  })

  it("a wrong password: the target cannot be resolved, and the message names the variable, never the value", async () => {
    const w = await world()
    process.env["SHIFTUP_TEST_PG_WRONG"] = "not-the-password"
    const target = Data.Postgres.target("shop-db", { url: lab.url, passwordEnv: "SHIFTUP_TEST_PG_WRONG", environment: "lab", tables: [w.table] })
    const j = await Runner.runPromise(Experiment.make({ id: "data.postgres.wrong", title: "wrong pw", targets: { db: target }, method: [Data.Postgres.corrupt(target, { table: w.table, column: "role", mode: "null" })] }), { stateDir: tempDir(), journal: false })
    expect(j.status).toBe("invalid")
    expect(j.summary).toMatch(/password authentication failed.*check the password in \$SHIFTUP_TEST_PG_WRONG/)
    expect(j.summary).not.toContain("not-the-password")
  })
})

describe("secrets", () => {
  it("the password never reaches the ledger, the journal or the reports", async () => {
    const w = await world()
    const state = tempDir("shiftup-state-")
    const j = await Runner.runPromise(
      Experiment.make({
        id: "data.postgres.secret",
        title: "no password anywhere",
        targets: { db: w.target },
        budget: { maxDestroySteps: 1, maxConcurrentFaults: 3 },
        method: [
          Data.Postgres.corrupt(w.target, { table: w.table, column: "role", mode: "set", value: "admin" }),
          Data.Postgres.encrypt(w.target, { table: w.table, columns: ["email"] }),
          Data.Postgres.dropObject(w.target, { table: w.table, policy: "users_own" }),
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
    expect(lab.server.output()).not.toContain(lab.password)
    // The ledger names the variable, so `recover` can read it again.
    expect(JSON.stringify(ledgerRecords(state))).toContain(`"passwordEnv":"${lab.passwordEnv}"`)
  })
})
