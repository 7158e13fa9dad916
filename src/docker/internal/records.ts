/**
 * What a `docker.*` compensation looks like in a ledger, as Effect Schemas: `recover` decodes
 * every record against its kind's schema before replaying it, so a damaged or hand-written
 * ledger is refused instead of trusted. The fields every Docker compensation carries come from
 * `fault.ts` (kind, description, engine, target, containers); each kind adds its own.
 */
import { Schema } from "effect"

export const ContainerId = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/, { message: "a full container id (64 hexadecimal digits)" }))

/** The engine the compensation was captured on: a unix socket or a tcp address (what `Engine.at` connects to). */
export const EngineAddress = Schema.String.check(
  Schema.isPattern(/^(unix:\/\/\/\S+|tcp:\/\/[A-Za-z0-9.\-[\]:]+)$/, { message: "a Docker engine address: unix:///path or tcp://host:port" }),
)

const Count = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))

/** Milliseconds since the epoch. */
export const EpochMs = Count

/** Milliseconds a recovery waits at most for something in flight: bounded, so a record cannot hold recovery forever. */
export const SettleMs = Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum: 0, maximum: 10 * 60_000 }))

/** A host pid. */
export const Pid = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1))

/** A network namespace's inode (`net:[inode]`). */
export const Inode = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1))

export const Strings = Schema.Array(Schema.String)

export const StringMap = Schema.Record(Schema.String, Schema.String)

/** The schema of a record of `kind`: the fields every Docker compensation has, and `fields`. */
export const record = <const F extends Schema.Struct.Fields>(kind: string, fields: F) =>
  Schema.Struct({
    kind: Schema.Literal(kind),
    description: Schema.String,
    engine: EngineAddress,
    target: Schema.String,
    containers: Schema.Array(ContainerId),
    ...fields,
  })

/** The namespace a network fault entered, per container: what its rollback must enter again (and nothing else). */
export const NamespaceRecord = Schema.Struct({ container: ContainerId, name: Schema.String, pid: Pid, netns: Inode })
