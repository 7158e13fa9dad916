/**
 * Restored exactly, whatever the table: fast-check generates tables (an int or composite primary
 * key; int, text, numeric, bool, jsonb and timestamptz columns, nullable or not; an index, a check
 * constraint and a trigger to drop or disable) with random rows, and random sequences of data
 * faults on them — corrupt in every mode that fits a column, encrypt on text columns, dropObject —
 * run through the real runner against a real PostgreSQL. After rollback the rows (a sorted dump)
 * and the definition (`pg_dump --schema-only`) are those from before. Each table is created in one
 * transaction.
 */
import fc from "fast-check"
import * as Data from "shiftup/data"
import { Experiment, Runner } from "shiftup"
import { afterAll, beforeAll, expect, it } from "vitest"
import { startPgLab, type PgLab } from "../support/postgres.ts"
import { tempDir, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

let lab: PgLab
beforeAll(async () => {
  lab = await startPgLab()
})
afterAll(() => lab?.stop())

const types = ["int", "text", "numeric", "bool", "jsonb", "timestamptz"] as const
type Type = (typeof types)[number]

const noNul = (s: string) => !s.includes("\u0000") && !s.includes("\\u0000")
const valueOf: Readonly<Record<Type, fc.Arbitrary<string>>> = {
  int: fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
  text: fc.string({ unit: "grapheme", maxLength: 12 }).filter(noNul),
  numeric: fc.tuple(fc.integer({ min: -99_999, max: 99_999 }), fc.integer({ min: 0, max: 9999 })).map(([a, b]) => `${a}.${b}`),
  bool: fc.boolean().map(String),
  jsonb: fc.json({ maxDepth: 2 }).filter(noNul),
  timestamptz: fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString()),
}

const column = fc.record({ type: fc.constantFrom(...types), nullable: fc.boolean() })

const table = fc
  .record({ composite: fc.boolean(), columns: fc.array(column, { minLength: 1, maxLength: 5 }) })
  .chain((t) =>
    fc.record({
      composite: fc.constant(t.composite),
      columns: fc.constant(t.columns),
      rows: fc.array(fc.tuple(...t.columns.map((c) => (c.nullable ? fc.option(valueOf[c.type], { nil: null, freq: 4 }) : valueOf[c.type]))), { maxLength: 30 }),
    }),
  )

type Table = fc.Arbitrary<{ composite: boolean; columns: ReadonlyArray<{ type: Type; nullable: boolean }>; rows: ReadonlyArray<ReadonlyArray<string | null>> }>

/** A fault of the sequence, in terms of the table's columns (c0…): resolved against what fits when built. */
const step = fc.oneof(
  { arbitrary: fc.record({ f: fc.constant("corrupt" as const), column: fc.nat(), mode: fc.constantFrom("null", "set", "truncate", "negate"), sample: fc.constantFrom(1, 0.5, 0.2) }), weight: 4 },
  { arbitrary: fc.record({ f: fc.constant("encrypt" as const), sample: fc.constantFrom(1, 0.5) }), weight: 2 },
  { arbitrary: fc.record({ f: fc.constant("drop" as const), what: fc.constantFrom("index", "constraint", "trigger", "pkey") }), weight: 1 },
)

let trial = 0
it("random tables and random fault sequences are restored exactly (25 trials)", async () => {
  const seen = { corrupt: 0, encrypt: 0, drop: 0, composite: 0, empty: 0 }
  await fc.assert(
    fc.asyncProperty((table as Table), fc.array(step, { minLength: 1, maxLength: 4 }), fc.array(fc.tuple(...types.map((t) => valueOf[t])), { minLength: 1, maxLength: 1 }), async (t, steps, [values]) => {
      const schema = `p${++trial}`
      const name = `${schema}.t`
      const keyCols = t.composite ? ['"a" int', '"b" text'] : ['"id" int']
      const cols = t.columns.map((c, i) => `"c${i}" ${c.type}${c.nullable ? "" : " NOT NULL"}`)
      await lab.admin.query("BEGIN")
      try {
        await lab.admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
        await lab.admin.query(`CREATE SCHEMA ${schema} AUTHORIZATION app`)
        await lab.admin.query("SET LOCAL ROLE app")
        await lab.admin.query(
          `CREATE TABLE ${name} (${[...keyCols, ...cols].join(", ")}, PRIMARY KEY (${t.composite ? "a, b" : "id"}), CONSTRAINT t_check CHECK (c0 IS NULL OR c0 IS NOT NULL));
           CREATE INDEX t_idx ON ${name} (c0);
           CREATE FUNCTION ${schema}.keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
           CREATE TRIGGER t_trg BEFORE UPDATE ON ${name} FOR EACH ROW EXECUTE FUNCTION ${schema}.keep();`,
        )
        if (t.rows.length > 0) {
          const width = keyCols.length + t.columns.length
          const params: Array<string | null> = []
          const tuples = t.rows.map((r, i) => {
            params.push(...(t.composite ? [String(i >> 1), `k${i & 1}`] : [String(i + 1)]), ...r)
            return `(${Array.from({ length: width }, (_, j) => `$${i * width + j + 1}::${j < keyCols.length ? (t.composite && j === 1 ? "text" : "int") : (t.columns[j - keyCols.length]?.type as string)}`).join(", ")})`
          })
          await lab.admin.query(`INSERT INTO ${name} VALUES ${tuples.join(", ")}`, params)
        }
        await lab.admin.query("COMMIT")
      } catch (e) {
        await lab.admin.query("ROLLBACK")
        throw e
      }
      if (t.composite) seen.composite++
      if (t.rows.length === 0) seen.empty++
      const rows = await lab.rows(name)
      const dump = lab.dump(name)
      const target = Data.Postgres.target("prop-db", { url: lab.url, passwordEnv: lab.passwordEnv, environment: "lab", tables: [name] })
      const dropped = new Set<string>()
      const faults = steps.flatMap((s, i) => {
        if (s.f === "drop") {
          if (dropped.has(s.what)) return []
          dropped.add(s.what)
          seen.drop++
          const o = s.what === "index" ? { index: "t_idx" } : s.what === "constraint" ? { constraint: "t_check" } : s.what === "pkey" ? { constraint: "t_pkey" } : { trigger: "t_trg" }
          return [Data.Postgres.dropObject(target, { id: `f${i}`, table: name, ...o })]
        }
        // Rows are found by primary key: once it is dropped, later row faults would be refused.
        if (dropped.has("pkey")) return []
        if (s.f === "encrypt") {
          const text = t.columns.flatMap((c, j) => (c.type === "text" ? [`c${j}`] : []))
          if (text.length === 0) return []
          seen.encrypt++
          return [Data.Postgres.encrypt(target, { id: `f${i}`, table: name, columns: text, sample: s.sample })]
        }
        const j = s.column % t.columns.length
        const c = t.columns[j] as { type: Type; nullable: boolean }
        const fits = s.mode === "null" ? c.nullable : s.mode === "truncate" ? c.type === "text" : s.mode === "negate" ? c.type === "int" || c.type === "numeric" : true
        if (!fits) return []
        seen.corrupt++
        const value = values?.[types.indexOf(c.type)] as string
        return [Data.Postgres.corrupt(target, { id: `f${i}`, table: name, column: `c${j}`, mode: s.mode, sample: s.sample, ...(s.mode === "set" ? { value } : {}) })]
      })
      if (faults.length === 0) return
      const j = await Runner.runPromise(
        Experiment.make({ id: "data.postgres.property", title: "random faults", targets: { db: target }, budget: { maxConcurrentFaults: 8, maxDestroySteps: 8 }, method: faults }),
        { stateDir: tempDir("shiftup-state-"), journal: false },
      )
      const context = `${name}: ${JSON.stringify(t.columns)} ${t.rows.length} rows; ${faults.map((f) => f.title).join(" → ")}\n${j.summary}\n${JSON.stringify(j.rollbacks)}`
      expect(j.status, context).toBe("passed")
      expect(await lab.rows(name), context).toEqual(rows)
      expect(lab.dump(name), context).toBe(dump)
    }),
    { numRuns: 25 },
  )
  console.log(`coverage: ${JSON.stringify(seen)}`)
  expect(seen.corrupt).toBeGreaterThan(0)
  expect(seen.drop).toBeGreaterThan(0)
}, 240_000)
