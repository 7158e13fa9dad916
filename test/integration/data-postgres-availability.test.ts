/**
 * Data.Postgres availability and replay faults against a real PostgreSQL 15 (20 connections at
 * most): each fault is injected through the real runner and observed from outside shiftup — a
 * writer times out under lockTable and longTransaction, a new session is refused under
 * exhaustConnections, a new session cannot write under readOnly, older rows are back under
 * replay — then rolled back, and the world is exactly as before: no backend carries a shiftup
 * marker, the database's settings are identical, the rows are identical. A compensation replayed
 * in a fresh process (nothing held in memory, as `recover`) ends exactly the marked backends the
 * server still has. The floor refuses production and unknown targets with zero connections, and
 * the connection budget is checked at plan time.
 */
import { Effect } from "effect"
import pg from "pg"
import * as Data from "shiftup/data"
import { Expect, Experiment, type Fault, type Journal, Runner } from "shiftup"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Compensation from "../../src/Compensation.ts"
import { faultOf } from "../../src/internal/capability.ts"
import { makeStore, RunContext } from "../../src/RunContext.ts"
import { type AvailLab, startAvailLab } from "../support/pg-avail.ts"
import { tempDir, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

let lab: AvailLab
beforeAll(async () => {
  lab = await startAvailLab("SHIFTUP_TEST_PG_AVAIL_PASSWORD")
})
afterAll(() => lab?.stop())

type Env = "lab" | "staging" | "production" | "undeclared"
const targetOn = (table: string, environment: Env = "lab", url = lab.url) =>
  Data.Postgres.target("app-db", { url, passwordEnv: lab.lab.passwordEnv, tables: [table], ...(environment === "undeclared" ? {} : { environment }) })

/** A generator experiment: `during` runs while `fault` is held. */
const runHeld = (target: Data.Postgres.PostgresTarget, fault: Fault.Fault, during: () => Promise<void>) =>
  Runner.runPromise(
    Experiment.gen({ id: "data.postgres.avail", title: "held, observed, rolled back", targets: { db: target }, mayInject: { db: "disrupt" } }, function* (ctx) {
      yield* ctx.inject(fault)
      yield* Effect.promise(during)
    }),
    { stateDir: tempDir("shiftup-state-"), journal: false },
  )

/** A declarative experiment of one fault: its preflight runs at plan time. */
const runPlanned = (target: Data.Postgres.PostgresTarget, fault: Fault.Fault) =>
  Runner.runPromise(Experiment.make({ id: "data.postgres.planned", title: "planned", targets: { db: target }, method: [fault] }), { stateDir: tempDir("shiftup-state-"), journal: false })

const restored = (j: Journal.Journal) => {
  expect(j.status, `${j.summary} ${JSON.stringify(j.rollbacks)}`).toBe("passed")
  expect(j.rollbacks.map((r) => r.outcome)).toEqual(["restored"])
}

describe("each fault is felt from outside while held, and gone after rollback", () => {
  it("lockTable: a writer times out while the lock is held; afterwards no marked session, the same rows, writes go through", async () => {
    const table = await lab.table()
    const rows = await lab.rows(table)
    const target = targetOn(table)
    let during = ""
    let held = 0
    const j = await runHeld(target, Data.Postgres.lockTable(target, { table, mode: "exclusive" }), async () => {
      during = await lab.attempt(`UPDATE ${table} SET name = name WHERE id = 1`)
      held = await lab.marked()
    })
    restored(j)
    expect(during).toBe("55P03") // lock_not_available
    expect(held).toBe(1)
    expect(await lab.marked()).toBe(0)
    expect(await lab.attempt(`UPDATE ${table} SET name = name WHERE id = 1`)).toBe("ok")
    expect(await lab.rows(table)).toEqual(rows)
  })

  it("longTransaction: writers of the locked rows time out, other rows write, the session holds an old snapshot; rollback ends it", async () => {
    const table = await lab.table()
    const rows = await lab.rows(table)
    const target = targetOn(table)
    const seen: Record<string, string> = {}
    const j = await runHeld(target, Data.Postgres.longTransaction(target, { table, rows: "id <= 3" }), async () => {
      seen["locked"] = await lab.attempt(`UPDATE ${table} SET name = name WHERE id = 2`)
      seen["free"] = await lab.attempt(`UPDATE ${table} SET name = name WHERE id = 9`)
      const [s] = (await lab.db.query("SELECT state, backend_xid IS NOT NULL AS xid, backend_xmin IS NOT NULL AS xmin FROM pg_stat_activity WHERE application_name LIKE 'shiftup hold %'")).rows
      seen["session"] = `${s?.state} xid=${s?.xid} xmin=${s?.xmin}`
    })
    restored(j)
    expect(seen).toEqual({ locked: "55P03", free: "ok", session: "idle in transaction xid=true xmin=true" })
    expect(await lab.marked()).toBe(0)
    expect(await lab.attempt(`UPDATE ${table} SET name = name WHERE id = 2`)).toBe("ok")
    expect(await lab.rows(table)).toEqual(rows)
  })

  it("exhaustConnections: every free slot held, a new session is refused; rollback closes them all and sessions connect again", async () => {
    const table = await lab.table()
    const target = targetOn(table)
    const free = Number((await lab.db.query("SELECT 20 - 3 - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS f")).rows[0].f)
    let during = ""
    let held = 0
    const j = await runHeld(target, Data.Postgres.exhaustConnections(target, { connections: free, leave: 0 }), async () => {
      during = await lab.attempt("SELECT 1")
      held = await lab.marked()
    })
    restored(j)
    expect(held).toBe(free)
    expect(during).toBe("53300") // too_many_connections
    expect(await lab.marked()).toBe(0)
    expect(await lab.attempt("SELECT 1")).toBe("ok")
  })

  it("readOnly (the database had no setting): new sessions cannot write; rollback RESETs, and they write again", async () => {
    const table = await lab.table()
    const rows = await lab.rows(table)
    const target = targetOn(table)
    expect(await lab.settings()).toBe("none")
    let during = ""
    let setting = ""
    const j = await runHeld(target, Data.Postgres.readOnly(target), async () => {
      during = await lab.attempt(`UPDATE ${table} SET name = name WHERE id = 1`)
      setting = await lab.settings()
    })
    restored(j)
    expect(during).toBe("25006") // read_only_sql_transaction
    expect(setting).toBe("{default_transaction_read_only=on}")
    expect(await lab.settings()).toBe("none")
    expect(await lab.attempt(`UPDATE ${table} SET name = name WHERE id = 1`)).toBe("ok")
    expect(await lab.rows(table)).toEqual(rows)
  })

  it("readOnly puts an explicit value back exactly (off stays set, other settings stay)", async () => {
    const table = await lab.table()
    const target = targetOn(table)
    await lab.db.query("ALTER DATABASE appdb SET default_transaction_read_only = off")
    await lab.db.query("ALTER DATABASE appdb SET work_mem = '5MB'")
    try {
      const before = await lab.settings()
      expect(before).toBe('{default_transaction_read_only=off,work_mem=5MB}')
      let during = ""
      const j = await runHeld(target, Data.Postgres.readOnly(target), async () => {
        during = await lab.attempt("CREATE TEMP TABLE x (a int)")
      })
      restored(j)
      expect(during).toBe("25006")
      expect(await lab.settings()).toBe(before)
    } finally {
      await lab.db.query("ALTER DATABASE appdb RESET ALL")
    }
  })

  it("readOnly on a database the role does not own is refused at plan time (data.postgres.not-owner)", async () => {
    const target = Data.Postgres.target("pg-db", { url: lab.lab.url, passwordEnv: lab.lab.passwordEnv, tables: ["public.x"], environment: "lab" })
    const j = await runPlanned(target, Data.Postgres.readOnly(target))
    expect(j.status).toBe("refused")
    expect(j.refusal?.rule).toBe("data.postgres.not-owner")
  })
})

describe("replay: older rows written back, and the rows before the replay restored exactly", () => {
  it("a revoked token and an old password hash come back while held; rollback gives back today's rows", async () => {
    const table = await lab.table()
    const target = targetOn(table)
    let during: ReadonlyArray<string> = []
    let old: ReadonlyArray<string> = []
    let today: ReadonlyArray<string> = []
    const j = await Runner.runPromise(
      Experiment.gen({ id: "data.postgres.replay", title: "replayed", targets: { db: target }, mayInject: { db: "disrupt" } }, function* (ctx) {
        const snap = yield* ctx.observe(Data.Postgres.snapshot(target, { table, where: "id <= 5" }))
        old = yield* Effect.promise(() => lab.rows(table))
        // Since the snapshot: the password hash (email here) changed, a token (row 3) revoked, a row added.
        yield* Effect.promise(async () => {
          await lab.db.query(`UPDATE ${table} SET email = 'rotated-' || id, meta = NULL WHERE id IN (1, 2)`)
          await lab.db.query(`DELETE FROM ${table} WHERE id = 3`)
          await lab.db.query(`INSERT INTO ${table} (id, name) VALUES (100, 'new')`)
          today = await lab.rows(table)
        })
        yield* ctx.inject(Data.Postgres.replay(target, { snapshot: snap }))
        during = yield* Effect.promise(() => lab.rows(table))
      }),
      { stateDir: tempDir("shiftup-state-"), journal: false },
    )
    restored(j)
    // The five old rows are back (row 3 too), row 100 stays: old ∪ {100}.
    expect(during).toEqual([...old, ...today.filter((r) => r.includes('"id": 100'))].sort())
    expect(await lab.rows(table)).toEqual(today)
  })

  it("a snapshot kept as JSON replays in a declarative experiment of another run; a ragged or out-of-scope snapshot is refused when built", async () => {
    const table = await lab.table()
    const target = targetOn(table)
    let kept = ""
    const first = await Runner.runPromise(
      Experiment.make({ id: "data.postgres.keep", title: "keep", targets: { db: target }, method: [Expect.that(Data.Postgres.snapshot(target, { table, where: "id = 7" }), Expect.predicate("kept", (s: Data.Postgres.Snapshot) => ((kept = JSON.stringify(s)), true)))] }),
      { stateDir: tempDir("shiftup-state-"), journal: false },
    )
    expect(first.status).toBe("passed")
    await lab.db.query(`UPDATE ${table} SET role = 'revoked' WHERE id = 7`)
    const today = await lab.rows(table)
    const snapshot = JSON.parse(kept) as Data.Postgres.Snapshot
    let during = ""
    const j = await Runner.runPromise(
      Experiment.make({
        id: "data.postgres.replay-file",
        title: "replay",
        targets: { db: target },
        method: [Data.Postgres.replay(target, { snapshot }), Expect.that(Data.Postgres.snapshot(target, { table, where: "id = 7" }), Expect.predicate("old", (s: Data.Postgres.Snapshot) => ((during = JSON.stringify(s)), true)))],
      }),
      { stateDir: tempDir("shiftup-state-"), journal: false },
    )
    restored(j)
    expect(during).toBe(kept)
    expect(await lab.rows(table)).toEqual(today)
    expect(() => Data.Postgres.replay(target, { snapshot: { ...snapshot, rows: [{ k: ["7"], v: ["x"] }] } })).toThrow(/snapshot\.rows\[0\]/)
    // A damaged before-image in a ledger is never replayed.
    const forged = { kind: "data.postgres.restore-rows", description: "", target: "app-db", url: lab.url, schema: table.split(".")[0] as string, table: "users", columns: ["name"], rows: [{ k: [7], v: ["x"] }] }
    await expect(Effect.runPromise(Compensation.restore(Data.compensators["data.postgres.restore-rows"], forged))).rejects.toThrow(/InvalidCompensation|does not decode|rows/)
    expect(await lab.rows(table)).toEqual(today)
    expect(() => Data.Postgres.replay(target, { snapshot: { ...snapshot, table: "audit" } })).toThrow(/outside the scope/)
  })
})

describe("recover: a fresh process ends the marked backends the server still holds, and only those", () => {
  it.each([
    ["lockTable", (target: Data.Postgres.PostgresTarget, table: string) => Data.Postgres.lockTable(target, { table })],
    ["exhaustConnections", (target: Data.Postgres.PostgresTarget) => Data.Postgres.exhaustConnections(target, { connections: 3 })],
  ] as const)("%s", async (_, make) => {
    const table = await lab.table()
    const target = targetOn(table)
    const fault = make(target, table)
    const cap = faultOf(fault)
    const base = await Effect.runPromise(Effect.service(RunContext))
    const runner = { ...base, runId: "20260101T000000-abcdef", store: makeStore() }
    const inRun = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(Effect.provideService(e, RunContext, runner))
    // Sessions that are not this fault's: another marker, and a plain one of the same role.
    const bystanders = await Promise.all(
      ["shiftup hold 20260101T000000-abcdef 00000000", "app"].map(async (name) => {
        const c = new pg.Client({ host: "127.0.0.1", port: lab.lab.port, user: "app", password: lab.lab.password, database: "appdb", application_name: name })
        c.on("error", () => undefined)
        await c.connect()
        return c
      }),
    )
    try {
      const record = await inRun(cap.capture)
      await inRun(cap.inject)
      expect(await lab.marked()).toBe(fault.id.startsWith("lock") ? 2 : 4)
      // `recover`: a fresh store (nothing held in this process), the crashed run's id.
      const recover = { ...base, runId: "recover", store: makeStore() }
      const outcome = await Effect.runPromise(Effect.provideService(Compensation.restore(Data.compensators[record.kind], record), RunContext, recover))
      expect(outcome._tag).toBe("restored")
      expect(await lab.marked()).toBe(1)
      for (const c of bystanders) expect((await c.query("SELECT 1 AS one")).rows[0].one).toBe(1)
      expect(await lab.attempt(`UPDATE ${table} SET name = name WHERE id = 1`)).toBe("ok")
    } finally {
      await inRun(Compensation.restore(Data.compensators[EndSessionsKind], { kind: EndSessionsKind, description: "", target: "x", url: lab.url, passwordEnv: lab.lab.passwordEnv, marker: "shiftup hold 20260101T000000-abcdef 00000000", pids: [] })).catch(() => undefined)
      await Promise.all(bystanders.map((c) => c.end().catch(() => undefined)))
    }
  })
})

const EndSessionsKind = "data.postgres.end-sessions"

describe("the floor and the budget: refused before anything is touched", () => {
  const all = (target: Data.Postgres.PostgresTarget, table: string) => [
    Data.Postgres.lockTable(target, { table }),
    Data.Postgres.longTransaction(target, { table }),
    Data.Postgres.exhaustConnections(target, { connections: 2 }),
    Data.Postgres.readOnly(target),
    Data.Postgres.replay(target, { snapshot: { schema: table.split(".")[0] as string, table: "users", key: ["id"], columns: ["name"], rows: [{ k: ["1"], v: ["x"] }] } }),
  ]

  it.each([["production"], ["undeclared"]] as const)("%s: every availability and replay fault (and the snapshot probe) is refused with zero connections at the server", async (env) => {
    const table = await lab.table()
    const target = targetOn(table, env)
    for (const fault of all(target, table)) {
      const at = lab.lab.connections()
      const j = await Runner.runPromise(
        Experiment.make({ id: "data.postgres.floor", title: "floor", targets: { db: target }, method: [fault, Expect.that(Data.Postgres.snapshot(target, { table }), Expect.predicate("any", () => true))] }),
        { stateDir: tempDir("shiftup-state-"), journal: false },
      )
      expect(j.status).toBe("refused")
      expect(j.refusal?.rule).toBe("floor.production-data-store")
      expect(lab.lab.connections(), `${fault.id} on a ${env} data store reached the server`).toBe(at)
    }
  })

  it("staging: the availability faults are disrupt and run", async () => {
    const table = await lab.table()
    const target = targetOn(table, "staging")
    for (const fault of all(target, table).slice(0, 4)) expect(fault.safety).toBe("disrupt")
    const j = await runHeld(target, Data.Postgres.lockTable(target, { table }), async () => undefined)
    restored(j)
    expect(await lab.marked()).toBe(0)
  })

  it("exhaustConnections over the free slots less `leave`, or over maxConnections, is refused at plan time and opens nothing", async () => {
    const table = await lab.table()
    const target = targetOn(table)
    const free = Number((await lab.db.query("SELECT 20 - 3 - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS f")).rows[0].f)
    for (const [fault, detail] of [
      [Data.Postgres.exhaustConnections(target, { connections: free }), /fewer than leave \(1\)/],
      [Data.Postgres.exhaustConnections(target, { connections: free - 2, leave: 3 }), /fewer than leave \(3\)/],
      [Data.Postgres.exhaustConnections(target, { connections: 5, maxConnections: 4 }), /over maxConnections \(4\)/],
    ] as const) {
      const j = await runPlanned(target, fault)
      expect(j.status).toBe("refused")
      expect(j.refusal?.rule).toBe("data.postgres.connections-budget")
      expect(j.refusal?.reason).toMatch(detail)
      expect(await lab.marked()).toBe(0)
    }
    expect(() => Data.Postgres.exhaustConnections(target, { connections: 0 })).toThrow(/connections must be an integer of at least 1/)
    expect(() => Data.Postgres.lockTable(target, { table, mode: "total" as never })).toThrow(/not a lock mode/)
    expect(() => Data.Postgres.lockTable(target, { table, maxHold: "1 millis" })).toThrow(/maxHold/)
  })
})
