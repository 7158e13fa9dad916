/**
 * What container probes observe: in a run, exactly the members the run planned; outside a run,
 * the selector resolved afresh — stopped containers included, unlike a fault, since an exit code
 * is only observable once a container has stopped. An unreachable engine fails with
 * `EngineUnavailable`; anything else (a planned container that has gone, a refused call) with
 * `ProbeFailed`.
 */
import type { Effect } from "effect"
import { causedBy, ProbeFailed, type ShiftupError } from "../../ShiftupError.ts"
import type { Container } from "../model.ts"
import type { ContainerTarget } from "../targets.ts"
import { members } from "./members.ts"

/** The failure of probe `probe` on `target`, with a detail. */
export const failedWith = (probe: string, target: string) => (detail: string, cause?: unknown) => new ProbeFailed({ probe, target, detail, ...causedBy(cause) })

/** The members a probe observes (see the module's header). */
export const observed = (target: ContainerTarget, probe: string): Effect.Effect<ReadonlyArray<Container>, ShiftupError> =>
  members(target.select.all === true ? target : { ...target, select: { ...target.select, all: true } }, failedWith(probe, target.id))
