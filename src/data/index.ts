/**
 * `shiftup/data`: data chaos on real data stores, staging and lab only — faults that change the
 * data itself (corrupt, encrypt, drop a schema object) with a write-ahead before-image that
 * restores it exactly, and integrity probes (checksums, schema fingerprints) that prove it.
 * Each engine's client is an optional peer dependency, loaded at the first query: importing
 * `shiftup/data` loads none of `pg`, `mysql2` and `redis`.
 *
 * @example
 * import * as Data from "shiftup/data"
 * const sessions = Data.Redis.target("sessions", { url: "redis://127.0.0.1:6390", environment: "lab", keys: "session:*" })
 */
import "../../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails
import type { Compensators } from "../Compensation.ts"
import { compensators as mysql } from "./mysql/index.ts"
import { compensators as postgres } from "./postgres/index.ts"
import { compensators as redis } from "./redis/index.ts"

export * as MySql from "./mysql/index.ts"
export * as Postgres from "./postgres/index.ts"
export * as Redis from "./redis/index.ts"

/** Every data compensator, by kind: what `shiftup recover` loads for a ledger naming `shiftup/data`. */
export const compensators: Compensators = { ...postgres, ...mysql, ...redis }
