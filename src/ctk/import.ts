/**
 * `shiftup import ctk <file> [--out <file.ts>]`: the TypeScript experiment equivalent to a Chaos
 * Toolkit file — the same document, typed, given to `Ctk.experiment` — for teams moving over:
 * from there, replace activities step by step with shiftup's own faults and probes. Inline
 * secrets become environment variables (a secret does not belong in source code), listed in
 * the file's header.
 */
import { writeFileSync } from "node:fs"
import { basename, resolve } from "node:path"
import type { CliIo } from "../cli/main.ts"
import { describeUnknown, fail, InvalidArguments, isShiftupError } from "../ShiftupError.ts"
import type { CtkExperiment, SecretValue } from "./model.ts"
import { readDocument } from "./read.ts"
import { experimentId } from "./translate.ts"
import { validate } from "./validate.ts"

const envName = (scope: string, key: string) => `CTK_SECRET_${scope}_${key}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_")

/** The TypeScript source of a checked experiment. */
export const toTypeScript = (ctk: CtkExperiment, options: { readonly id: string; readonly file: string; readonly environment?: string; readonly notes: ReadonlyArray<string> }): string => {
  const moved: Array<string> = []
  const secrets: Record<string, Record<string, SecretValue>> = {}
  for (const [scope, keys] of Object.entries(ctk.secrets ?? {})) {
    secrets[scope] = {}
    for (const [k, v] of Object.entries(keys)) {
      if (typeof v !== "string") secrets[scope][k] = v
      else {
        moved.push(`${envName(scope, k)} (was secrets.${scope}.${k})`)
        secrets[scope][k] = { type: "env", key: envName(scope, k) }
      }
    }
  }
  const doc: CtkExperiment = { ...ctk, ...(ctk.secrets === undefined ? {} : { secrets }) }
  const literal = JSON.stringify(doc, null, 2).replace(/^(\s*)"([A-Za-z_$][\w$]*)":/gm, "$1$2:")
  const header = [
    `${ctk.title}`,
    "",
    `Ported from the Chaos Toolkit experiment ${basename(options.file)} by \`shiftup import ctk\`. It runs`,
    "as that file does under `shiftup run` (docs/chaostoolkit.md): every URL and executable is a target",
    "checked by the safety floor, rollbacks are ledgered and always run.",
    ...(moved.length === 0 ? [] : ["", "Inline secrets now come from the environment; set:", ...moved.map((m) => `  ${m}`)]),
    ...(options.notes.length === 0 ? [] : ["", ...options.notes]),
  ]
  const opts = { id: options.id, ...(options.environment === undefined ? {} : { environment: options.environment }) }
  return `/**\n${header.map((l) => ` *${l === "" ? "" : ` ${l.replace(/\*\//g, "* /")}`}`).join("\n")}\n */\nimport * as Ctk from "shiftup/ctk"\n\nexport default Ctk.experiment(${literal.replace(/\n/g, "\n  ").replace(/^/, "\n  ")},\n  ${JSON.stringify(opts).replace(/"([A-Za-z_$][\w$]*)":/g, "$1: ")},\n)\n`
}

export const importCommand = async (rest: ReadonlyArray<string>, opts: { readonly out: string | undefined; readonly environment: string | undefined }, io: CliIo): Promise<number> => {
  const [kind, file] = rest
  if (kind !== "ctk" || file === undefined) throw fail(new InvalidArguments({ detail: "`shiftup import` takes `ctk <experiment.json|.yaml>`" }))
  const abs = resolve(file)
  const { experiment: ctk, notes } = validate(await readDocument(abs), file)
  // Checked as `run` checks it (unsupported constructs named, exit 4); the environment it reads
  // is the run's business, not the import's.
  const id = experimentId(ctk, abs)
  const ts = toTypeScript(ctk, { id, file: abs, notes, ...(opts.environment === undefined ? {} : { environment: opts.environment }) })
  if (opts.out === undefined) {
    io.out(ts)
    return 0
  }
  try {
    writeFileSync(opts.out, ts)
  } catch (e) {
    if (isShiftupError(e)) throw e
    throw fail(new InvalidArguments({ detail: `--out ${opts.out}: ${describeUnknown(e)}` }))
  }
  io.out(`wrote ${opts.out}: experiment "${id}" (${ctk.method.length} method step(s), ${ctk.rollbacks?.length ?? 0} rollback(s))\n`)
  return 0
}
