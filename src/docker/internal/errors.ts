/**
 * How a failed engine call becomes a `ShiftupError`: an engine that cannot be reached at all is
 * `EngineUnavailable` (the run stops at plan time, nothing injected); any other refusal is the
 * caller's own reason (`TargetUnresolved`, `InjectionFailed`, `RollbackFailed`, `ProbeFailed`).
 */
import { EngineUnavailable, fail, type ShiftupError } from "../../ShiftupError.ts"
import type { EngineCallError } from "../model.ts"

/** Maps an engine failure to the reason a person acts on. */
export const engineError = (address: string, e: EngineCallError, otherwise: (detail: string) => ShiftupError): ShiftupError =>
  e.unreachable ? fail(new EngineUnavailable({ engine: "Docker", address, detail: e.detail })) : otherwise(`${e.op}: ${e.detail}`)
