/**
 * Declaring a `data.postgres.*` compensation kind once, for the fault that records it and the
 * compensator that replays it (src/data/internal/table-kind.ts, with PostgreSQL's sessions and
 * catalog). Every record names the server and the table; each kind adds its before-image.
 */
import { Effect, type Schema } from "effect"
import { RunContext } from "../../../RunContext.ts"
import { declareTable, type TableRecord } from "../../internal/table-kind.ts"
import { requireTable } from "./catalog.ts"
import { applicationName, withSession } from "./client.ts"

export { type Base, connectionOf, EnvName, Key } from "../../internal/table-kind.ts"

export type PgRecord<K extends string, F extends Schema.Struct.Fields> = TableRecord<K, F>

/**
 * Declares a `data.postgres.*` kind.
 *
 * @example
 * export const RestoreValues = declare({ kind: "data.postgres.restore-values", fields: { … }, undo, verify, settleMs: 5000 })
 */
export const declare = declareTable({
  schemes: ["postgres", "postgresql"],
  defaultPort: 5432,
  withSession,
  requireTable,
  // The dead run's sessions are gone (they carry its run id): what one of them was doing (a
  // statement, a COMMIT) has landed or been rolled back, and nothing of it can land after the undo.
  settled: (c, wrap) =>
    Effect.gen(function* () {
      const { runId } = yield* RunContext
      const rows = yield* withSession(c, wrap, (s) => s.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()", [applicationName(runId)]))
      return rows[0]?.["n"] === 0
    }),
})
