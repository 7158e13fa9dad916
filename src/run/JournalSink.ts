/**
 * Where a finished run's journal goes, as a service the runner asks for: the file sink (written
 * to a temporary file and renamed, so a reader never sees half of it — `Journal.write`) or an
 * in-memory one for tests. A `Context.Reference`: without a layer, journals are files.
 */
import { Context, Effect, Layer } from "effect"
import * as Journal from "../Journal.ts"

export interface JournalSink {
  /** Keeps `journal` at `path` (the run's journal option); fails with what went wrong when it cannot. */
  readonly write: (journal: Journal.Journal, path: string) => Effect.Effect<void, unknown>
}

export const file: JournalSink = { write: (journal, path) => Effect.try({ try: () => Journal.write(journal, path), catch: (e) => e }) }

export const JournalSink = Context.Reference<JournalSink>("shiftup/JournalSink", { defaultValue: () => file })

export interface MemoryJournalSink extends JournalSink {
  /** The journals written so far, by path. */
  readonly journals: ReadonlyMap<string, Journal.Journal>
}

/** Journals kept in memory, by path. */
export const memory = (): MemoryJournalSink => {
  const journals = new Map<string, Journal.Journal>()
  return { journals, write: (journal, path) => Effect.sync(() => void journals.set(path, journal)) }
}

/** A layer that makes `sink` where runs' journals go. */
export const layer = (sink: JournalSink): Layer.Layer<never> => Layer.succeed(JournalSink, sink)
