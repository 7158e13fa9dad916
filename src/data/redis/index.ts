/**
 * `Data.Redis`: data chaos on a real Redis — corrupt, encrypt, expire, flush, evict or replay the
 * keys in a declared scope, each with a write-ahead before-image (DUMP + expiry instant) that restores it exactly,
 * and a checksum probe that proves it. The `redis` client is loaded at the first connection.
 *
 * @example
 * import * as Data from "shiftup/data"
 * const sessions = Data.Redis.target("sessions", { url: "redis://127.0.0.1:6390", environment: "lab", keys: "session:*" })
 * // method: [Data.Redis.corrupt(sessions, { mode: "garble-json" }), …]
 */
export * as Client from "./client.ts"
export { RedisClient } from "./client.ts"
export { compensators } from "./compensators.ts"
export { type CorruptMode, type CorruptOptions, corrupt } from "./faults/corrupt.ts"
export { type EncryptOptions, encrypt, encryptedPrefix } from "./faults/encrypt.ts"
export { type EvictionPolicy, type EvictionPressureOptions, evictionPressure } from "./faults/eviction-pressure.ts"
export { type ExpireOptions, expire } from "./faults/expire.ts"
export { type FlushDbOptions, flushDb } from "./faults/flush-db.ts"
export { type ReplayOptions, replay } from "./faults/replay.ts"
export type { CommonOptions } from "./internal/fault.ts"
export { type Checksum, checksum } from "./probes/checksum.ts"
export { type Snapshot, snapshot } from "./probes/snapshot.ts"
export { type KeyValue, value } from "./probes/value.ts"
export { isRedisTarget, type RedisTarget, type RedisTargetOptions, target } from "./targets.ts"
