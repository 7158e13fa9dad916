/**
 * A failed call to the Docker engine, as the engine client reports it. A tagged error, so
 * `Effect.catchTag("EngineCallError", …)` works on an `Engine`'s calls, that keeps what failed
 * underneath as its `cause`. It is not a reason of the family: the adapter maps it at its
 * boundary to the reason a person acts on (`EngineUnavailable` when the engine could not be
 * reached, else the reason of the step that called) and hands it on as that reason's `cause`.
 */
import { Data } from "effect"

export class EngineCallError extends Data.TaggedError("EngineCallError")<{
  readonly op: string
  /** The HTTP status the engine answered (404 no such object, 304 no change, 409 conflict); absent when it never answered, and for the failures of several calls at once. */
  readonly status?: number
  readonly detail: string
  /** The engine could not be reached at all (refused, no socket, timed out). */
  readonly unreachable: boolean
  /** What failed underneath: the Docker client's error, or each failure of several calls. */
  readonly cause?: unknown
}> {
  override get message() {
    return `${this.op}: ${this.detail}`
  }
}
