/**
 * Declaring a `data.postgres.*` compensation kind once, for the fault that records it and the
 * compensator that replays it (src/data/internal/table-kind.ts, with PostgreSQL's sessions and
 * catalog). Every record names the server and the table; each kind adds its before-image.
 */
import type { Schema } from "effect"
import { declareTable, type TableRecord } from "../../internal/table-kind.ts"
import { requireTable } from "./catalog.ts"
import { withSession } from "./client.ts"

export { type Base, connectionOf, EnvName, Key } from "../../internal/table-kind.ts"

export type PgRecord<K extends string, F extends Schema.Struct.Fields> = TableRecord<K, F>

/**
 * Declares a `data.postgres.*` kind.
 *
 * @example
 * export const RestoreValues = declare({ kind: "data.postgres.restore-values", fields: { … }, undo, verify, settleMs: 5000 })
 */
export const declare = declareTable({ schemes: ["postgres", "postgresql"], withSession, requireTable })
