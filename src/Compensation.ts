/**
 * Compensations: how to undo a fault, as serialisable data. The same compensator runs in the
 * runner's rollback and in `shiftup recover` (from the ledger, in another process), so every
 * compensator must be idempotent: running it twice leaves the world as running it once.
 */
import { readdir, rename, rm, writeFile } from "node:fs/promises"
import { basename, dirname, join } from "node:path"
import { Effect, type Schema } from "effect"
import { send } from "./internal/http.ts"
import { processAlive } from "./internal/process.ts"
import { describeUnknown, fail, RollbackFailed, type ShiftupError, UnknownCompensation } from "./ShiftupError.ts"

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
 *   `applied`) may still take to land on its target; recovery lets it settle first.
 */
export interface CompensatorSpec {
  readonly apply: (c: Compensation) => Effect.Effect<void, ShiftupError>
  readonly schema?: Schema.Top
  readonly verify?: (c: Compensation) => Effect.Effect<string | undefined, ShiftupError>
  readonly settleMs?: number
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

/** Sends the request that switches a fault off (e.g. a lab's fault switch). */
export const httpRequest = (spec: { readonly target: string; readonly method: string; readonly url: string; readonly body?: string; readonly description: string }): Compensation => ({
  kind: "http.request",
  ...spec,
})

/** Restores a file's saved contents (base64), or removes it if it did not exist. */
export const fileRestore = (spec: { readonly target: string; readonly path: string; readonly content: string | null; readonly description: string }): Compensation => ({
  kind: "file.restore",
  ...spec,
})

/**
 * A fault that lives only inside this process (an in-process proxy, an interceptor on a
 * dispatcher): the fault's own `release` undoes it during the run, and it dies with the process,
 * so `recover` has nothing to replay once that process is gone.
 */
export const ephemeral = (spec: { readonly target: string; readonly description: string }): Compensation => ({ kind: "ephemeral", pid: process.pid, ...spec })


export const builtins: Compensators = {
  ephemeral: (c) =>
    typeof c["pid"] === "number" && c["pid"] !== process.pid && !processAlive(c["pid"])
      ? Effect.void
      : Effect.fail(rollbackError(c, `it lives in process ${String(c["pid"])}, which is still running: only that process can release it`)),
  "http.request": (c) =>
    send(
      { method: String(c["method"]), url: String(c["url"]), ...(typeof c["body"] === "string" ? { body: c["body"] } : {}), headers: { "content-type": "application/json" }, timeoutMs: 5000 },
      { probe: "compensation", target: String(c["target"]) },
    ).pipe(
      Effect.mapError((e) => rollbackError(c, e.message)),
      Effect.flatMap((r) => (r.status >= 200 && r.status < 300 ? Effect.void : Effect.fail(rollbackError(c, `switch answered ${r.status}`)))),
    ),
  "file.restore": (c) =>
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
    }),
}

/** Replays one compensation through the known compensators. */
export const apply = (compensators: Compensators, c: Compensation): Effect.Effect<void, ShiftupError> => {
  const run = compensators[c.kind]
  return run === undefined ? Effect.fail(fail(new UnknownCompensation({ kind: c.kind }))) : Effect.suspend(() => specOf(run).apply(c))
}
