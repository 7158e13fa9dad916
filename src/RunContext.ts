/**
 * What a probe, fault or compensation can see of the run it belongs to: the run id (for
 * correlation headers), the egress allowlist and the per-target probe throttle. The runner
 * provides it; outside a run the defaults apply (loopback only, no throttle).
 */
import { Context, Effect } from "effect"
import { defaultEgress, makeEgress, type Egress } from "./internal/egress.ts"

export interface RunContext {
  readonly runId: string
  /** When the run began (epoch ms); absent outside a run (e.g. in `recover`). */
  readonly startedAt?: number
  /** Headers every request of the run carries (invariant 6). */
  readonly headers: Readonly<Record<string, string>>
  readonly egress: Egress
  /** Waits until `target` may be probed again under the budget's probe rate (the runner calls it before every observation). */
  readonly throttle: (target: string) => Effect.Effect<void>
}

export const version = "0.1.0"

export const correlationHeaders = (runId: string): Record<string, string> => ({
  "x-shiftup-run-id": runId,
  "user-agent": `shiftup/${version} (run ${runId})`,
})

export const RunContext = Context.Reference<RunContext>("shiftup/RunContext", {
  defaultValue: () => ({
    runId: "no-run",
    headers: correlationHeaders("no-run"),
    egress: makeEgress(defaultEgress),
    throttle: () => Effect.void,
  }),
})
