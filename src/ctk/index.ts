/**
 * `shiftup/ctk`: Chaos Toolkit experiments under shiftup's floor, budget and ledger.
 * `shiftup run experiment.json` (or `.yaml`) loads a file with `load`; `shiftup import ctk`
 * writes a TypeScript experiment that calls `experiment` with the same document, typed.
 *
 * @example
 * import * as Ctk from "shiftup/ctk"
 * export default Ctk.experiment({ title: "…", method: [ … ], rollbacks: [ … ] }, { environment: "staging" })
 */
import "../../bin/assert-node.js" // first: a Node.js too old for shiftup is named before a dependency fails
import type { Experiment } from "../Experiment.ts"
import type { CtkExperiment } from "./model.ts"
import { readDocument } from "./read.ts"
import { toExperiment, type TranslateOptions } from "./translate.ts"
import { validate } from "./validate.ts"

export type { Activity, ConfigurationValue, CtkExperiment, EnvValue, HttpProvider, Hypothesis, Json, JsonPathTolerance, Pauses, ProbeTolerance, ProcessProvider, Provider, RangeTolerance, RegexTolerance, SecretValue, Tolerance } from "./model.ts"
export { compensators } from "./compensators.ts"
export { egressKey, environmentKey, type TranslateOptions } from "./translate.ts"
export { isCtkFile } from "./read.ts"

/** A shiftup experiment from a Chaos Toolkit document (checked like a file: every problem at once). */
export const experiment = (document: CtkExperiment, options: TranslateOptions = {}): Experiment => {
  const { experiment: ctk, notes } = validate(document, options.source ?? `"${document.title}"`)
  return toExperiment(ctk, { ...options, notes: [...notes, ...(options.notes ?? [])] })
}

/** Reads, checks and translates a Chaos Toolkit experiment file. */
export const load = async (file: string, options: Omit<TranslateOptions, "source"> = {}): Promise<{ readonly experiment: Experiment; readonly notes: ReadonlyArray<string> }> => {
  const { experiment: ctk, notes } = validate(await readDocument(file), file)
  return { experiment: toExperiment(ctk, { ...options, source: file, notes }), notes }
}
