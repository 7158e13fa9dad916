/**
 * How a failed engine call becomes a `ShiftupError`: an engine that cannot be reached at all is
 * `EngineUnavailable` (the run stops at plan time, nothing injected); any other refusal is the
 * caller's own reason (`TargetUnresolved`, `InjectionFailed`, `RollbackFailed`, `ProbeFailed`).
 */
import { EngineUnavailable, type ShiftupError } from "../../ShiftupError.ts"
import type { EngineCallError } from "./call-error.ts"

/** Maps an engine failure to the reason a person acts on, the failure kept as its cause. */
export const engineError = (address: string, e: EngineCallError, otherwise: (detail: string, cause: EngineCallError) => ShiftupError): ShiftupError =>
  e.unreachable ? new EngineUnavailable({ engine: "Docker", address, detail: e.detail, cause: e }) : otherwise(`${e.op}: ${e.detail}`, e)
