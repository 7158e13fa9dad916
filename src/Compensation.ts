/**
 * Compensations: how to undo a fault, as serialisable data. The same compensator runs in the
 * runner's rollback and in `shiftup recover` (from the ledger, in another process), so every
 * compensator must be idempotent: running it twice leaves the world as running it once.
 */
import { readdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import { basename, dirname, join, resolve } from "node:path"
import { Cause, Clock, Effect, Schema, type SchemaAST } from "effect"
import type { TlsSettings } from "./internal/http.ts"
import { processAlive } from "./internal/process.ts"
import { decodeAll } from "./internal/validate.ts"
import { describeUnknown, fail, InvalidCompensation, isShiftupError, RollbackFailed, type ShiftupError, UnknownCompensation } from "./ShiftupError.ts"

export type Json = string | number | boolean | null | ReadonlyArray<Json> | { readonly [k: string]: Json }

export interface Compensation {
  /** Which compensator replays it, e.g. `http.request`, `file.restore`, `docker.unpause`. */
  readonly kind: string
  /** One line a person reads in `plan`, the journal and `recover`. */
  readonly description: string
  readonly [field: string]: Json
}

/**
 * How one kind of compensation is replayed, in the runner's rollback and in `recover`.
 *
 * - `apply` undoes it; it must be idempotent (running it twice leaves the world as running it once).
 * - `schema` decodes a ledger record of this kind (kind, description and the kind's own fields): a
 *   record that does not decode is never replayed (a forged or damaged ledger).
 * - `verify` reads the world after `apply`: `undefined` when it equals what was captured, otherwise
 *   one line saying what still differs. Recovery repeats apply + verify until it holds or its
 *   deadline passes, so an engine call still in flight when the runner died cannot undo the undo.
 * - `settleMs` bounds how long an injection of this kind that was in flight (an intent without
 *   `applied`) may still take to land on its target; recovery lets it settle first. A record may
 *   carry a longer `settleMs` of its own (a stop with a long timeout), capped at 10 minutes.
 * - `settled` tells when nothing of such an injection can land any more (the server has no session
 *   of the dead run left): recovery asks it every 50 ms and stops settling as soon as it holds,
 *   rather than sleeping all of `settleMs`. A failure counts as "not yet".
 */
export interface CompensatorSpec {
  readonly apply: (c: Compensation) => Effect.Effect<void, ShiftupError>
  readonly schema?: Schema.Top
  readonly verify?: (c: Compensation) => Effect.Effect<string | undefined, ShiftupError>
  readonly settleMs?: number
  readonly settled?: (c: Compensation) => Effect.Effect<boolean, ShiftupError>
}

/** A compensator: its full spec, or just the function that applies it. */
export type Compensator = CompensatorSpec | ((c: Compensation) => Effect.Effect<void, ShiftupError>)
export type Compensators = Readonly<Record<string, Compensator>>

/** The spec of a compensator given either way. */
export const specOf = (c: Compensator): CompensatorSpec => (typeof c === "function" ? { apply: c } : c)

/**
 * Compensators together with the module a fresh process imports to get them again: an adapter's
 * subpath (`shiftup/docker`) or a config file's absolute path. The ledger's header lists the
 * providers a run may need, and `recover` and the watchdog load exactly those.
 */
export interface Provider {
  readonly module: string
  readonly compensators: Compensators
}

const rollbackError = (c: Compensation, detail: string) => fail(new RollbackFailed({ fault: c.kind, target: String(c["target"] ?? "?"), detail }))

/**
 * Sends the request that switches a fault off (e.g. a lab's fault switch). `tls` keeps what a
 * fresh process needs to reach an https switch — the CA, the name, whether to verify — never a
 * client key (a ledger is no place for one: such a switch is replayed without the certificate).
 */
export const httpRequest = (spec: {
  readonly target: string
  readonly method: string
  readonly url: string
  readonly body?: string
  readonly description: string
  readonly tls?: { readonly ca?: string; readonly servername?: string; readonly rejectUnauthorized?: boolean }
}): Compensation => ({
  kind: "http.request",
  ...spec,
})

/** Restores a file's saved contents (base64), or removes it if it did not exist. The path is made absolute, as `recover` may run elsewhere. */
export const fileRestore = (spec: { readonly target: string; readonly path: string; readonly content: string | null; readonly description: string }): Compensation => ({
  kind: "file.restore",
  ...spec,
  path: resolve(spec.path),
})

/**
 * A fault that lives only inside this process (an in-process proxy, an interceptor on a
 * dispatcher): the fault's own `release` undoes it during the run, and it dies with the process,
 * so `recover` has nothing to replay once that process is gone.
 */
export const ephemeral = (spec: { readonly target: string; readonly description: string }): Compensation => ({ kind: "ephemeral", pid: process.pid, ...spec })

const base = { description: Schema.String, target: Schema.String }
const Base64 = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9+/]*={0,2}$/))

const restoreFile = (c: Compensation) =>
  Effect.tryPromise({
    try: async () => {
      const path = String(c["path"])
      if (c["content"] === null) return rm(path, { force: true })
      // Write then rename: a crash mid-restore never leaves a half-written file.
      const tmp = `${path}.shiftup-restore-${process.pid}`
      await writeFile(tmp, Buffer.from(String(c["content"]), "base64"))
      await rename(tmp, path)
      // A process killed between its write and its rename left its temp file: this replay
      // (typically `recover`) restored the file, so remove those leftovers too (invariant 5).
      const prefix = `${basename(path)}.shiftup-restore-`
      const stale = (await readdir(dirname(path)).catch(() => [] as Array<string>)).filter((f) => f.startsWith(prefix))
      await Promise.all(stale.map((f) => rm(join(dirname(path), f), { force: true })))
    },
    catch: (e) => rollbackError(c, describeUnknown(e)),
  })

const fileDiffers = (c: Compensation) =>
  Effect.tryPromise({
    try: async () => {
      const path = String(c["path"])
      const now = await readFile(path).catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? null : Promise.reject(e)))
      if (c["content"] === null) return now === null ? undefined : `${path} exists (${now.length} bytes) but did not before the fault`
      const saved = Buffer.from(String(c["content"]), "base64")
      return now === null ? `${path} is missing` : now.equals(saved) ? undefined : `${path} has ${now.length} bytes that differ from the ${saved.length} saved before the fault`
    },
    catch: (e) => rollbackError(c, `cannot read the file back: ${describeUnknown(e)}`),
  })

/** The compensation kinds every process has. A configuration or an adapter cannot replace them. */
export const builtins: Readonly<Record<string, CompensatorSpec>> = {
  ephemeral: {
    schema: Schema.Struct({ kind: Schema.Literal("ephemeral"), ...base, pid: Schema.Number.check(Schema.isInt(), Schema.isGreaterThan(0)) }),
    apply: (c) =>
      typeof c["pid"] === "number" && c["pid"] !== process.pid && !processAlive(c["pid"])
        ? Effect.void
        : Effect.fail(rollbackError(c, `it lives in process ${String(c["pid"])}, which is still running: only that process can release it`)),
  },
  "http.request": {
    schema: Schema.Struct({
      kind: Schema.Literal("http.request"),
      ...base,
      method: Schema.Literals(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
      url: Schema.String.check(Schema.isPattern(/^https?:\/\/[^\s]+$/)),
      body: Schema.optionalKey(Schema.String),
      tls: Schema.optionalKey(Schema.Struct({ ca: Schema.optionalKey(Schema.String), servername: Schema.optionalKey(Schema.String), rejectUnauthorized: Schema.optionalKey(Schema.Boolean) })),
    }),
    // undici loads only when an HTTP compensation replays: a `recover` of data or Docker faults
    // never pays for it (~0.4 s of a CLI start).
    apply: (c) =>
      Effect.flatMap(Effect.promise(() => import("./internal/http.ts")), ({ send }) => send(
        {
          method: String(c["method"]),
          url: String(c["url"]),
          ...(typeof c["body"] === "string" ? { body: c["body"] } : {}),
          ...(typeof c["tls"] === "object" && c["tls"] !== null ? { tls: c["tls"] as TlsSettings } : {}),
          headers: { "content-type": "application/json" },
          timeoutMs: 5000,
        },
        { probe: "compensation", target: String(c["target"]) },
      )).pipe(
        Effect.mapError((e) => rollbackError(c, e.message)),
        Effect.flatMap((r) => (r.status >= 200 && r.status < 300 ? Effect.void : Effect.fail(rollbackError(c, `switch answered ${r.status}`)))),
      ),
  },
  "file.restore": {
    schema: Schema.Struct({
      kind: Schema.Literal("file.restore"),
      ...base,
      path: Schema.String.check(Schema.isPattern(/^\//)),
      content: Schema.NullOr(Base64),
    }),
    apply: restoreFile,
    verify: fileDiffers,
  },
}

/** Replays one compensation through the known compensators, once. */
export const apply = (compensators: Compensators, c: Compensation): Effect.Effect<void, ShiftupError> => {
  const run = compensators[c.kind]
  return run === undefined ? Effect.fail(fail(new UnknownCompensation({ kind: c.kind }))) : Effect.suspend(() => specOf(run).apply(c))
}

export type RestoreOutcome =
  | { readonly _tag: "restored"; readonly attempts: number }
  /**
   * Not restored: `detail` says what still differs (`differs`: from `verify`, when the deadline
   * passed) or the last error of `apply`.
   */
  | { readonly _tag: "incomplete"; readonly attempts: number; readonly detail: string; readonly differs: boolean }

export interface RestoreOptions {
  /** Epoch ms of an intent without `applied`: its injection may still land, so let it settle first. */
  readonly inFlightSince?: number
  /** How long settling, apply and verify may take altogether; default 30 seconds. */
  readonly deadlineMs?: number
  /** Where the record comes from, named when it does not decode. */
  readonly source?: { readonly path: string; readonly seq: number }
}

const pause = (attempt: number) => Math.min(1000, 100 * 2 ** (attempt - 1))

/** Failures no retry can cure (a refused password): the restore stops at the first, not at its deadline. */
const hopeless = (e: unknown): boolean => isShiftupError(e) && e._tag === "CredentialsRefused"

/**
 * Restores the world a compensation describes, and converges on it rather than acting once: the
 * record is decoded with its kind's schema (one that does not decode is never run), an injection
 * still in flight is given `settleMs` to land, then `apply` and `verify` repeat — both are
 * idempotent — until `verify` finds nothing different or the deadline passes. A kind without
 * `verify` is applied once; a failure no retry can cure (`CredentialsRefused`) ends it at once. Fails only when it cannot even start: an unknown kind, a record that
 * does not decode.
 */
export const restore = (compensator: Compensator | undefined, c: Compensation, options: RestoreOptions = {}): Effect.Effect<RestoreOutcome, ShiftupError> =>
  Effect.gen(function* () {
    if (compensator === undefined) return yield* Effect.fail(fail(new UnknownCompensation({ kind: c.kind })))
    const spec = specOf(compensator)
    if (spec.schema !== undefined) {
      const issues = decodeAll(spec.schema, c, { excess: "ignore" })
      if (issues.length > 0) return yield* Effect.fail(fail(new InvalidCompensation({ path: options.source?.path ?? "(in memory)", seq: options.source?.seq ?? 0, kind: c.kind, issues })))
    }
    // Effect's clock: the runner's (virtual in tests), and `inFlightSince` is on it.
    const deadline = (yield* Clock.currentTimeMillis) + (options.deadlineMs ?? 30_000)
    const left = Effect.map(Clock.currentTimeMillis, (now) => Math.max(0, deadline - now))
    // A record may carry its own settle time (a stop with a long timeout), never more than 10 min.
    const own = typeof c["settleMs"] === "number" && Number.isFinite(c["settleMs"]) ? Math.min(c["settleMs"], 600_000) : undefined
    const settleMs = spec.settleMs === undefined ? own : own === undefined ? spec.settleMs : Math.max(spec.settleMs, own)
    if (options.inFlightSince !== undefined && settleMs !== undefined) {
      const until = Math.min(deadline, options.inFlightSince + settleMs)
      for (let now = yield* Clock.currentTimeMillis; now < until; now = yield* Clock.currentTimeMillis) {
        if (spec.settled !== undefined) {
          const settled = yield* spec.settled(c).pipe(Effect.timeoutOption(until - now), Effect.exit)
          if (settled._tag === "Success" && settled.value._tag === "Some" && settled.value.value) break
        }
        const after = yield* Clock.currentTimeMillis
        if (after >= until) break
        yield* Effect.sleep(spec.settled === undefined ? until - after : Math.min(50, until - after))
      }
    }
    for (let attempt = 1; ; attempt++) {
      const applied = yield* spec.apply(c).pipe(Effect.timeoutOption(Math.max(1, yield* left)), Effect.exit)
      let detail: string | undefined =
        applied._tag === "Failure" ? describeUnknown(Cause.squash(applied.cause)) : applied.value._tag === "None" ? "timed out" : undefined
      let differs = false
      let stop = applied._tag === "Failure" && hopeless(Cause.squash(applied.cause))
      if (detail === undefined && spec.verify !== undefined) {
        const verified = yield* spec.verify(c).pipe(Effect.timeoutOption(Math.max(1, yield* left)), Effect.exit)
        stop = verified._tag === "Failure" && hopeless(Cause.squash(verified.cause))
        if (verified._tag === "Failure") detail = `cannot verify: ${describeUnknown(Cause.squash(verified.cause))}`
        else if (verified.value._tag === "None") detail = "verify timed out"
        else if (verified.value.value !== undefined) {
          detail = `still differs after ${attempt} attempt(s): ${verified.value.value}`
          differs = true
        }
      }
      if (detail === undefined) return { _tag: "restored", attempts: attempt } as const
      if (stop || spec.verify === undefined || (yield* left) <= pause(attempt)) return { _tag: "incomplete", attempts: attempt, detail, differs } as const
      yield* Effect.sleep(pause(attempt))
    }
  })

// ── Declared kinds: one declaration for the fault that records and the compensator that replays ──

/** The fields every declared kind's records carry, besides the kind's own. */
const common = { description: Schema.String, target: Schema.String }

type Fields<K extends string, F extends Schema.Struct.Fields> = { readonly kind: Schema.Literal<K>; readonly description: typeof Schema.String; readonly target: typeof Schema.String } & F

/** A ledger record of a declared kind, decoded: `kind`, `description`, `target` and the kind's own fields. */
export type RecordOf<K extends string, F extends Schema.Struct.Fields> = { readonly kind: K; readonly description: string; readonly target: string } & Schema.Struct<F>["Type"]

export interface KindOptions<K extends string, F extends Schema.Struct.Fields> {
  /** The kind's name, prefixed with its adapter (`docker.unpause`): unique across every adapter. */
  readonly kind: K
  /** The kind's own fields, as Effect Schemas (`kind`, `description` and `target` are common to all). */
  readonly fields: F
  /** A rule across fields that a field's own schema cannot say (a folder that must be its path's). */
  readonly check?: SchemaAST.Check<RecordOf<K, F>>
  /** Undoes the record; idempotent. It gets the record decoded, never the raw ledger line. */
  readonly apply: (record: RecordOf<K, F>) => Effect.Effect<void, ShiftupError>
  /** Reads the world after `apply`: `undefined` when restored, else one line saying what differs. */
  readonly verify?: (record: RecordOf<K, F>) => Effect.Effect<string | undefined, ShiftupError>
  /** How long an injection of this kind in flight when its runner died may still take to land. */
  readonly settleMs?: number
  /** Whether nothing of such an injection can land any more; lets recovery stop settling early. */
  readonly settled?: (record: RecordOf<K, F>) => Effect.Effect<boolean, ShiftupError>
}

/**
 * One compensation kind, declared once: the fault side builds its records with `make` (typed by
 * the schema), the compensator side (`compensator`, registered by `registry`) decodes them with
 * the same schema before it acts. A record that does not decode is never replayed.
 */
export interface Kind<A> {
  readonly kind: string
  readonly schema: Schema.Codec<A, unknown>
  /** A compensation of this kind from its fields (what a fault's capture returns). */
  readonly make: (fields: Omit<A, "kind">) => Compensation
  /** The record decoded; `RollbackFailed` naming every issue when it does not decode. */
  readonly decode: (c: Compensation) => Effect.Effect<A, ShiftupError>
  /** What `recover` and the runner replay it with. */
  readonly compensator: CompensatorSpec
}

/**
 * Declares a compensation kind.
 *
 * @example
 * const Resume = Compensation.declare({
 *   kind: "queue.resume",
 *   fields: { queue: Schema.String },
 *   apply: (r) => resume(r.queue),
 *   verify: (r) => Effect.map(paused(r.queue), (p) => (p ? `${r.queue} is still paused` : undefined)),
 *   settleMs: 2000,
 * })
 */
export const declare = <const K extends string, const F extends Schema.Struct.Fields>(options: KindOptions<K, F>): Kind<RecordOf<K, F>> => {
  const struct = Schema.Struct({ kind: Schema.Literal(options.kind), ...common, ...options.fields } as Fields<K, F>)
  // The struct's own type is too deep for TypeScript to equate with `RecordOf` generically.
  const schema = (options.check === undefined ? struct : struct.check(options.check as SchemaAST.Check<typeof struct.Type>)) as unknown as Schema.Codec<RecordOf<K, F>, unknown>
  const parse = Schema.decodeUnknownEffect(schema)
  const decode = (c: Compensation) =>
    parse(c, { onExcessProperty: "ignore" }).pipe(Effect.mapError((e) => rollbackError(c, `the record does not decode as ${options.kind}: ${e.message}`)))
  const verify = options.verify
  const settled = options.settled
  return {
    kind: options.kind,
    schema,
    make: (fields) => ({ ...fields, kind: options.kind }) as unknown as Compensation,
    decode,
    compensator: {
      schema,
      apply: (c) => Effect.flatMap(decode(c), options.apply),
      ...(verify === undefined ? {} : { verify: (c: Compensation) => Effect.flatMap(decode(c), verify) }),
      ...(options.settleMs === undefined ? {} : { settleMs: options.settleMs }),
      ...(settled === undefined ? {} : { settled: (c: Compensation) => Effect.flatMap(decode(c), settled) }),
    },
  }
}

/** The compensators of declared kinds, by kind; a kind declared twice, or one that is built in, is a defect. */
export const registry = (kinds: ReadonlyArray<Pick<Kind<unknown>, "kind" | "compensator">>): Compensators => {
  const out: Record<string, CompensatorSpec> = {}
  for (const k of kinds) {
    if (Object.hasOwn(builtins, k.kind)) throw new Error(`compensation kind "${k.kind}" is built in: name the adapter's own kind with its prefix`)
    if (Object.hasOwn(out, k.kind)) throw new Error(`compensation kind "${k.kind}" is declared twice`)
    out[k.kind] = k.compensator
  }
  return out
}
