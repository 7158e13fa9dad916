/**
 * Where each compensation kind's compensator comes from, and whether a fresh process could load
 * it again (invariant 5: after a SIGKILL, `recover` — another process — restores the world). The
 * precedence is fixed: built-in kinds first (nothing replaces them), then the adapter that built
 * the fault, then the config, then compensators passed to `run`. A kind whose provider has no
 * module a fresh process can import is refused before the run touches anything.
 */
import * as Compensation from "../Compensation.ts"
import type { Config } from "../Config.ts"
import type { ModuleRef } from "../Ledger.ts"
import type { FaultCapability } from "./capability.ts"

/** Compensators given to `run` directly, with the module that exports them (if any). */
export interface Extra {
  readonly compensators?: Compensation.Compensators
  readonly module?: string
}

export type Located =
  | { readonly _tag: "found"; readonly module: ModuleRef; readonly compensator: Compensation.Compensator }
  /** In-process only: the fault's own `release` undoes it, and it dies with this process. */
  | { readonly _tag: "ephemeral" }
  | { readonly _tag: "unrecoverable"; readonly detail: string }

export const builtinModule: ModuleRef = "shiftup"

export const locate = (kind: string, cap: Pick<FaultCapability, "provider" | "release">, config: Config, extra: Extra): Located => {
  if (kind === "ephemeral")
    return cap.release === undefined ? { _tag: "unrecoverable", detail: "an ephemeral compensation needs the fault's `release`" } : { _tag: "ephemeral" }
  const builtin = Compensation.builtins[kind]
  if (builtin !== undefined) return { _tag: "found", module: builtinModule, compensator: builtin }
  const fromAdapter = cap.provider?.compensators[kind]
  if (fromAdapter !== undefined && cap.provider !== undefined) return { _tag: "found", module: cap.provider.module, compensator: fromAdapter }
  for (const [source, compensators, module, how] of [
    ["the config", config.compensators, config.module, "load the config from its file (`--config`, or set `module` to the config file's path)"],
    ["`run`", extra.compensators, extra.module, "pass `compensatorModule`: the path of a module exporting `compensators`"],
  ] as const) {
    const found = compensators?.[kind]
    if (found === undefined) continue
    if (module === undefined) return { _tag: "unrecoverable", detail: `its compensator "${kind}" comes from ${source} with no file a fresh process (\`shiftup recover\`, the watchdog) could load again; ${how}` }
    return { _tag: "found", module, compensator: found }
  }
  return { _tag: "unrecoverable", detail: `no compensator is registered for kind "${kind}": load the adapter that defines it or add it to the config's \`compensators\`` }
}
