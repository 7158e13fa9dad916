/**
 * DockerEngine operations still in flight on a container. A runner killed while it waited on
 * `docker stop` leaves the engine stopping the container on its own: its SIGTERM went out (a
 * `kill` event), and the exit (`die`) comes when the process gives in or the stop's timeout sends
 * SIGKILL. A recovery that starts the container "again" before that exit finds it running, does
 * nothing, and then the stop lands. So recovery first asks the engine's event log whether a stop,
 * restart or kill began since the compensation was captured and has not ended, and waits for it.
 *
 * The engine keeps a bounded buffer of past events (about 256, engine-wide): on a very busy
 * engine an old `kill` may have been dropped from it. The compensation's settle time (the
 * stop's timeout plus a margin, `settleMs` in its record) bounds the wait either way.
 */
import { Effect } from "effect"
import type { DockerEngine } from "../model.ts"
import { EngineCallError } from "./call-error.ts"

const callError = (detail: string, cause: unknown): EngineCallError => new EngineCallError({ op: "events", detail, unreachable: false, cause })

const readTimeoutMs = 10_000

/** Seconds since the epoch, with milliseconds (the engine takes `seconds.fraction`). */
const seconds = (ms: number) => ms / 1000

/**
 * When a stop, restart or kill of container `id` began (epoch ms) that has not ended in an exit
 * yet and may still land (it began less than `windowMs` ago); `undefined` when none did since
 * `sinceMs`.
 */
export const pendingStop = (engine: DockerEngine, id: string, sinceMs: number, windowMs: number): Effect.Effect<number | undefined, EngineCallError> =>
  Effect.tryPromise({
    try: async (signal) => {
      const until = Date.now()
      let pending: number | undefined
      for await (const e of engine.events({ containers: [id], sinceS: seconds(sinceMs), untilS: seconds(until) }, signal)) {
        if (e.type !== "container" || e.id !== id) continue
        if (e.action === "kill") pending ??= Number(e.timeNano / 1_000_000n)
        else if (e.action === "die" || e.action === "destroy") pending = undefined
      }
      return pending !== undefined && pending + windowMs > Date.now() ? pending : undefined
    },
    catch: (e) => callError(`reading the events of ${id.slice(0, 12)}: ${String(e)}`, e),
  }).pipe(
    // The log up to now is a bounded read: an engine that does not answer is unreachable.
    Effect.timeoutOrElse({ duration: readTimeoutMs, orElse: () => Effect.fail(new EngineCallError({ op: "events", detail: `no answer within ${readTimeoutMs} ms`, unreachable: true })) }),
  )

/** Waits until container `id` exits (or is removed) after `fromMs`, or until `untilMs` passes. */
export const awaitExit = (engine: DockerEngine, id: string, fromMs: number, untilMs: number): Effect.Effect<void, EngineCallError> =>
  Effect.tryPromise({
    try: async (signal) => {
      const controller = new AbortController()
      const stop = () => controller.abort()
      signal.addEventListener("abort", stop, { once: true })
      const timer = setTimeout(stop, Math.max(0, untilMs - Date.now()))
      try {
        // From the stop's own start: an exit between the check and this call is replayed, not missed.
        for await (const e of engine.events({ containers: [id], sinceS: seconds(fromMs) }, controller.signal))
          if (e.type === "container" && e.id === id && (e.action === "die" || e.action === "destroy")) return
      } finally {
        clearTimeout(timer)
        signal.removeEventListener("abort", stop)
      }
    },
    catch: (e) => callError(`waiting for ${id.slice(0, 12)} to exit: ${String(e)}`, e),
  })
