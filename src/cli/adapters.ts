/**
 * Loading the compensators a ledger names. Each intent records the module its compensator lives
 * in (`shiftup`, an adapter subpath such as `shiftup/docker`, or a config file's absolute path);
 * `recover` and the watchdog import exactly those, lazily, so nobody pays for loading dockerode
 * unless a ledger needs it. Ledgers written before intents named their module fall back to the
 * adapter a kind's prefix belongs to.
 */
import { isAbsolute } from "node:path"
import { pathToFileURL } from "node:url"
import { builtins, type Compensators } from "../Compensation.ts"
import type { ModuleRef } from "../Ledger.ts"
import { describeUnknown, fail, isShiftupError, LoadFailed } from "../ShiftupError.ts"

/** The adapters a ledger may name, by subpath. */
const adapters: Readonly<Record<string, () => Promise<{ readonly compensators: Compensators }>>> = {
  "shiftup/docker": () => import("../docker/index.ts"),
  "shiftup/data": () => import("../data/index.ts"),
  "shiftup/ctk": () => import("../ctk/compensators.ts"),
}

/** The module an old ledger's intent (with no `module`) most likely needs, by its kind's prefix. */
export const moduleOfKind = (kind: string): ModuleRef | undefined => (Object.hasOwn(builtins, kind) ? "shiftup" : kind.startsWith("docker.") ? "shiftup/docker" : kind.startsWith("data.") ? "shiftup/data" : kind.startsWith("ctk.") ? "shiftup/ctk" : undefined)

/** The compensators module `ref` provides; a `LoadFailed` naming it when it cannot be loaded. */
export const loadModule = async (ref: ModuleRef): Promise<Compensators> => {
  if (ref === "shiftup") return builtins
  const adapter = adapters[ref]
  if (adapter !== undefined) return (await adapter()).compensators
  if (!isAbsolute(ref)) throw fail(new LoadFailed({ file: ref, detail: `it is neither a shiftup adapter (${Object.keys(adapters).join(", ")}) nor an absolute file path` }))
  let mod: { readonly default?: { readonly compensators?: Compensators }; readonly compensators?: Compensators }
  try {
    mod = (await import(pathToFileURL(ref).href)) as typeof mod
  } catch (e) {
    if (isShiftupError(e)) throw e
    throw fail(new LoadFailed({ file: ref, detail: `${describeUnknown(e)} (the run that ledgered this compensation loaded its compensators from there: restore the file, or pass --config with a working compensator of the same kind)` }))
  }
  const found = mod.default?.compensators ?? mod.compensators
  if (found === undefined) throw fail(new LoadFailed({ file: ref, detail: "it exports no `compensators` (neither `default.compensators` nor a named `compensators`)" }))
  return found
}
