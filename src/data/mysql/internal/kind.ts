/**
 * Declaring a `data.mysql.*` compensation kind once, for the fault that records it and the
 * compensator that replays it (src/data/internal/table-kind.ts, with MySQL's sessions and
 * catalog). Every record names the server and the table (`schema` is the database).
 */
import { declareTable } from "../../internal/table-kind.ts"
import { requireTable } from "./catalog.ts"
import { withSession } from "./client.ts"

export { type Base, Key } from "../../internal/table-kind.ts"

/**
 * Declares a `data.mysql.*` kind.
 *
 * @example
 * export const RestoreValues = declare({ kind: "data.mysql.restore-values", fields: { … }, undo, verify, settleMs: 5000 })
 */
export const declare = declareTable({ schemes: ["mysql", "mariadb"], defaultPort: 3306, withSession, requireTable })
