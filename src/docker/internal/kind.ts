/**
 * Declaring a `docker.*` compensation kind, once, for both sides: the fault builds its records
 * (`kind.make`, typed by the schema) and the compensator (`compensators.ts` registers it) decodes
 * them with the same schema before it acts, so a damaged or hand-written ledger is refused
 * instead of trusted, and nothing reads a record field by field. Every Docker record carries the
 * engine it was captured on, the target and its containers; each kind adds its own fields.
 */
import { Effect, Schema, type SchemaAST } from "effect"
import * as Compensation from "../../Compensation.ts"
import { isShiftupError, RollbackFailed, type ShiftupError } from "../../ShiftupError.ts"
import type { DockerEngine as Client, EngineCallError } from "../model.ts"
import { at, DockerEngine } from "./client.ts"
import { engineError } from "./errors.ts"

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

/** The namespace a network fault entered, per container: what its rollback must enter again (and nothing else). */
export const NamespaceRecord = Schema.Struct({ container: ContainerId, name: Schema.String, pid: Pid, netns: Inode })

/** The fields every Docker compensation carries besides kind, description and target. */
const common = { engine: EngineAddress, containers: Schema.Array(ContainerId) }

/** A decoded record of a Docker kind: the common fields and the kind's own. */
export type DockerRecord<K extends string, F extends Schema.Struct.Fields> = Compensation.RecordOf<K, typeof common & F>

/** The common part of every Docker record. */
export interface Base {
  readonly engine: string
  readonly target: string
  readonly containers: ReadonlyArray<string>
}

export interface DockerKindOptions<K extends string, F extends Schema.Struct.Fields> {
  /** `docker.<verb>`: what the compensation does. */
  readonly kind: K
  readonly fields: F
  /** A rule across fields (see `Compensation.declare`). */
  readonly check?: SchemaAST.Check<DockerRecord<K, F>>
  /** Undoes the record through the engine it names; idempotent. */
  readonly undo: (record: DockerRecord<K, F>, engine: Client) => Effect.Effect<void, EngineCallError | ShiftupError>
  /** Reads the world after an undo: `undefined` when it is as captured, else one line saying what still differs. */
  readonly verify: (record: DockerRecord<K, F>, engine: Client) => Effect.Effect<string | undefined, EngineCallError | ShiftupError>
  /** How long an injection of this kind that was in flight when its runner died may still take to land. */
  readonly settleMs: number
}

/** The engine a record names: the current one when it is at that address, else a shared client for it. */
const engineFor = (address: string): Effect.Effect<Client> =>
  Effect.gen(function* () {
    const current = yield* DockerEngine
    return current.address === address ? current : at(address)
  })

/** Runs `body` with the record's engine; engine failures become `RollbackFailed` (or `EngineUnavailable`). */
const withEngine =
  <R, A>(kind: string, body: (record: R, engine: Client) => Effect.Effect<A, EngineCallError | ShiftupError>) =>
  (record: R): Effect.Effect<A, ShiftupError> =>
    Effect.gen(function* () {
      // Every Docker record has these (`common`); TypeScript cannot see it through the generic kind.
      const { engine: address, target } = record as R & Base
      const engine = yield* engineFor(address)
      const rollback = (detail: string, cause: unknown) => new RollbackFailed({ fault: kind, target, detail, cause })
      return yield* body(record, engine).pipe(Effect.mapError((e) => (isShiftupError(e) ? e : engineError(address, e, rollback))))
    })

/**
 * Declares a `docker.*` compensation kind.
 *
 * @example
 * export const Unpause = declare({ kind: "docker.unpause", fields: {}, undo: (r, engine) => …, verify: (r, engine) => …, settleMs: 2000 })
 */
export const declare = <const K extends string, const F extends Schema.Struct.Fields>(o: DockerKindOptions<K, F>): Compensation.Kind<DockerRecord<K, F>> =>
  Compensation.declare<K, typeof common & F>({
    kind: o.kind,
    fields: { ...common, ...o.fields },
    ...(o.check === undefined ? {} : { check: o.check }),
    apply: withEngine(o.kind, o.undo),
    verify: withEngine(o.kind, o.verify),
    settleMs: o.settleMs,
  })
