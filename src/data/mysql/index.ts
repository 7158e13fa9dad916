/**
 * `Data.MySql`: data chaos on a real MySQL or MariaDB server — corrupt a column, encrypt text
 * columns (ransomware), drop an index, a check constraint, a foreign key or a trigger, revoke a
 * grant — each with a write-ahead before-image that restores it exactly, and integrity probes (a
 * checksum of the rows, a fingerprint of the schema) that prove it. Staging and lab only;
 * `encrypt` is lab only. `mysql2` is loaded at the first connection.
 *
 * @example
 * import * as Data from "shiftup/data"
 * const shop = Data.MySql.target("shop-db", { url: "mysql://app@127.0.0.1:3306/shop", passwordEnv: "SHOP_DB_PASSWORD", environment: "lab", tables: ["shop.users"] })
 * const flip = Data.MySql.corrupt(shop, { table: "shop.users", column: "role", mode: "set", value: "admin", sample: 0.1 })
 */
export { target, type MySqlTarget, type MySqlTargetOptions } from "./targets.ts"
export { corrupt, type CorruptMode, type CorruptOptions } from "./faults/corrupt.ts"
export { encrypt, type EncryptOptions } from "./faults/encrypt.ts"
export { dropObject, type DropObjectOptions, type ObjectKind } from "./faults/drop-object.ts"
export { checksum, type Checksum, type TableProbeOptions } from "./probes/checksum.ts"
export { schema, type SchemaFingerprint } from "./probes/schema.ts"
export type { DataFaultOptions } from "../internal/bounds.ts"
export type { TableName } from "./internal/sql.ts"
export type { Connection } from "../internal/connection.ts"
export { compensators } from "./compensators.ts"
