/**
 * `shiftup run` of a property (`Property.make`): many real runs, one line each, then the verdict —
 * the minimal counterexample with its replay line, or how far it got. Exit codes are the CLI's:
 * 0 passed, 1 a counterexample (a finding), otherwise the code of the run that stopped it.
 */
import type { Config } from "../Config.ts"
import * as Journal from "../Journal.ts"
import * as Property from "../Property.ts"
import { fail, InvalidArguments } from "../ShiftupError.ts"
import { relative } from "node:path"
import type { CliIo } from "./main.ts"

export const runProperties = async (
  selected: ReadonlyArray<{ readonly file: string; readonly property: Property.Property }>,
  opts: { readonly config: Config; readonly profile?: string | undefined; readonly stateDir: string | undefined; readonly signal: AbortSignal | undefined; readonly seed: string | undefined; readonly replay: string | undefined },
  io: CliIo,
): Promise<number> => {
  const replay = opts.replay === undefined ? undefined : Property.parseReplay(opts.replay)
  if (opts.replay !== undefined && replay === undefined) throw fail(new InvalidArguments({ detail: `--replay ${opts.replay}: expected <seed>:<path> as a property printed it, e.g. --replay 42:12:1:1` }))
  const seed = opts.seed === undefined ? undefined : Number(opts.seed)
  if (seed !== undefined && !Number.isInteger(seed)) throw fail(new InvalidArguments({ detail: `--seed ${opts.seed}: expected a whole number` }))
  if (replay !== undefined && selected.length > 1) throw fail(new InvalidArguments({ detail: "--replay replays one property's counterexample: name the one file that holds it" }))
  let code = 0
  for (const { file, property } of selected) {
    if (opts.signal?.aborted === true) break
    const { maxFaults, windowMs, tickMs } = property.bounds
    io.out(`property ${property.id} — ${property.title}\n  ${replay === undefined ? `up to ${property.runs} schedules` : "replaying one schedule"} of ≤ ${maxFaults} of ${Object.keys(property.definition.faults).length} faults in ${windowMs} ms (tick ${tickMs} ms)\n`)
    const result = await Property.check(property, {
      run: { config: opts.config, ...(opts.profile === undefined ? {} : { profile: opts.profile }), ...(opts.stateDir === undefined ? {} : { stateDir: opts.stateDir }), ...(opts.signal === undefined ? {} : { signal: opts.signal }) },
      ...(replay === undefined ? {} : { replay }),
      ...(seed === undefined ? {} : { seed }),
      onRun: (r) => io.out(`  ${String(r.n).padStart(3)} ${r.stage.padEnd(6)} ${r.counterexample ? "✗" : r.status === "passed" ? "✓" : "!"} ${Property.show(r.schedule)} (${r.durationMs} ms, run ${r.runId})\n`),
    })
    io.out(Property.describe(result, relative(process.cwd(), file) || file))
    code = Math.max(code, result.status === "passed" ? 0 : result.status === "counterexample" ? Journal.exitCodes.failed : (result.stoppedBy?.journal.exitCode ?? Journal.exitCodes.invalid))
  }
  return code
}
