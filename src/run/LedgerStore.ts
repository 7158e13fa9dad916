/**
 * Where a run keeps its ledger, as a service the runner asks for: the file store (JSONL under the
 * state directory, every intent fsynced before its fault exists — `Ledger.ts`) or an in-memory one
 * for tests of the run engine. A `Context.Reference`: without a layer, a run uses the file store.
 *
 * @example
 * const store = LedgerStore.memory()
 * const journal = await Effect.runPromise(Runner.run(experiment).pipe(Effect.provide(LedgerStore.layer(store))))
 * store.records(journal.runId) // run, intent, applied, rolled-back, end
 */
import { Context, Effect, Layer } from "effect"
import * as Ledger from "../Ledger.ts"
import { LedgerError, type ShiftupError } from "../ShiftupError.ts"

export interface OpenOptions {
  readonly stateDir: string
  readonly runId: string
  readonly experiment: string
  /** The run's egress allowlist, for `recover`'s HTTP compensations. */
  readonly egress?: ReadonlyArray<string>
  /** The modules providing the compensation kinds this run may ledger. */
  readonly providers?: ReadonlyArray<{ readonly module: Ledger.ModuleRef; readonly kinds: ReadonlyArray<string> }>
}

export interface LedgerStore {
  /** Where the ledger of run `runId` is (the journal and the target leases name it). */
  readonly pathOf: (stateDir: string, runId: string) => string
  /** Opens (creating) the run's ledger and writes its header record, durably. */
  readonly open: (options: OpenOptions) => Effect.Effect<Ledger.Writer, ShiftupError>
  /** The records of a ledger, read back and validated; throws a `LedgerError` when it cannot. */
  readonly read: (path: string) => ReadonlyArray<Ledger.Record>
}

/** The ledger on disk: what `shiftup recover` and the watchdog read after a crash. */
export const file: LedgerStore = {
  pathOf: Ledger.pathOf,
  open: (o) => Ledger.open(o.stateDir, o.runId, o.experiment, o.egress, o.providers),
  read: Ledger.read,
}

export const LedgerStore = Context.Reference<LedgerStore>("shiftup/LedgerStore", { defaultValue: () => file })

export interface MemoryLedgerStore extends LedgerStore {
  /** Every record of run `runId`'s ledger, in order (empty when it has none). */
  readonly records: (runId: string) => ReadonlyArray<Ledger.Record>
}

/**
 * Ledgers kept in memory, one per run: nothing survives the process, so only for tests of the
 * run engine (a crash cannot be recovered from it).
 */
export const memory = (): MemoryLedgerStore => {
  const ledgers = new Map<string, Array<Ledger.Record>>()
  const pathOf = (_stateDir: string, runId: string) => `memory:${runId}`
  return {
    pathOf,
    open: (o) =>
      Effect.sync(() => {
        const path = pathOf(o.stateDir, o.runId)
        const records: Array<Ledger.Record> = [
          { type: "run", runId: o.runId, experiment: o.experiment, pid: process.pid, ...(o.egress === undefined ? {} : { egress: o.egress }), ...(o.providers === undefined ? {} : { providers: o.providers }), at: Ledger.stamp() },
        ]
        ledgers.set(path, records)
        return { path, append: (record) => Effect.sync(() => void records.push(record)) }
      }),
    read: (path) => {
      const records = ledgers.get(path)
      if (records === undefined) throw new LedgerError({ path, detail: "no such ledger in this memory store" })
      return records
    },
    records: (runId) => ledgers.get(pathOf("", runId)) ?? [],
  }
}

/** A layer that makes `store` the runs' ledger store. */
export const layer = (store: LedgerStore): Layer.Layer<never> => Layer.succeed(LedgerStore, store)
