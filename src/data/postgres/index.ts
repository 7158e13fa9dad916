/**
 * `Data.Postgres`: data chaos on a real PostgreSQL server — corrupt a column, encrypt text
 * columns (ransomware), drop or disable a schema object, replay older rows, and make data
 * unavailable (a table lock, a long transaction, exhausted connections, read-only mode) — each
 * with a write-ahead compensation that restores it exactly, and integrity probes (a checksum of
 * the rows, a fingerprint of the schema, a snapshot of rows) that prove it. Staging and lab
 * only; `encrypt` is lab only. `pg` is loaded at the first connection.
 *
 * @example
 * import * as Data from "shiftup/data"
 * const shop = Data.Postgres.target("shop-db", { url: "postgres://app@127.0.0.1:5432/shop", passwordEnv: "SHOP_DB_PASSWORD", environment: "lab", tables: ["public.users"] })
 * const flip = Data.Postgres.corrupt(shop, { table: "public.users", column: "role", mode: "set", value: "admin", sample: 0.1 })
 */
export { target, type PostgresTarget, type PostgresTargetOptions } from "./targets.ts"
export { corrupt, type CorruptMode, type CorruptOptions } from "./faults/corrupt.ts"
export { encrypt, type EncryptOptions } from "./faults/encrypt.ts"
export { dropObject, type DropObjectOptions, type ObjectKind } from "./faults/drop-object.ts"
export { lockTable, type LockMode, type LockTableOptions } from "./faults/lock-table.ts"
export { longTransaction, type LongTransactionOptions } from "./faults/long-transaction.ts"
export { exhaustConnections, type ExhaustConnectionsOptions } from "./faults/exhaust-connections.ts"
export { readOnly } from "./faults/read-only.ts"
export { replay, type ReplayOptions } from "./faults/replay.ts"
export { checksum, type Checksum, type TableProbeOptions } from "./probes/checksum.ts"
export { snapshot, type Snapshot, type SnapshotOptions } from "./probes/snapshot.ts"
export { schema, type SchemaFingerprint } from "./probes/schema.ts"
export type { DataFaultOptions } from "./internal/fault.ts"
export type { HoldFaultOptions } from "./internal/hold.ts"
export type { TableName } from "./internal/sql.ts"
export type { Connection } from "../internal/connection.ts"
export { compensators } from "./compensators.ts"
