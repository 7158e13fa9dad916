/**
 * Crash: the target's processes die the way a segfault or the OOM killer ends them — a SIGKILL
 * from the host, not an API call — so the engine applies each container's restart policy. Its
 * compensation is `docker.start` (`stop.ts`).
 */
import { Effect } from "effect"
import * as DockerFault from "../internal/fault.ts"
import type { FaultOptions } from "../internal/fault.ts"
import { processOf } from "../internal/netns.ts"
import type { Container } from "../model.ts"
import type { ContainerTarget } from "../targets.ts"
import { fail, InjectionFailed } from "../../ShiftupError.ts"
import { removedOnExit, Start, stopMarginMs } from "./stop.ts"

/** Why `crash` cannot kill a container's process from here, or `undefined` when it can. */
const notLocal = (c: Container, owner: "container" | "gone" | "other") =>
  owner === "container"
    ? undefined
    : `process ${c.state.pid} on this machine is ${owner === "gone" ? "not there" : "not"} container ${c.name}'s: is the engine on another machine or in a VM? crash kills the container's process from the engine's own host`

/**
 * Crashes the target's running containers the way a segfault or the OOM killer does: SIGKILL to
 * each one's main process (`State.Pid`) from the host, not through the engine's API, so the
 * engine sees the process die on its own and applies the container's restart policy ("always",
 * "on-failure", "unless-stopped" restart it; "no" leaves it exited). Needs root on the engine's
 * own host: each pid is checked to belong to that container (its `/proc/<pid>/cgroup` names the
 * container id) when the compensation is captured (before anything changes; refused otherwise)
 * and again right before the kill, so a pid of an
 * engine on another machine, in a VM, or reused since, is never signalled. Paused members are
 * left alone (a frozen process would only die once thawed). Rollback (`docker.start`) starts each
 * one that was running and is not running at replay time (its restart policy may have done it).
 *
 * @example
 * Docker.crash(auth)
 * Expect.that(Docker.timeToRecover(auth, { within: "20 seconds", healthy: true }), Expect.range(0, 10_000))
 */
export const crash = (target: ContainerTarget, options: FaultOptions = {}) => {
  const id = options.id ?? `crash ${target.id}`
  const refuse = (detail: string) => Effect.fail(fail(new InjectionFailed({ fault: id, target: target.id, detail })))
  const live = (list: ReadonlyArray<Container>) => list.filter((c) => c.state.running && !c.state.paused && c.state.pid > 0)
  return DockerFault.make({
    id,
    title: `crash ${target.id} (SIGKILL to its process from the host)`,
    target,
    kind: Start,
    preflight: removedOnExit("a crash"),
    capture: (list) =>
      Effect.gen(function* () {
        for (const c of live(list)) {
          const why = notLocal(c, yield* processOf(c.state.pid, c.id))
          if (why !== undefined) return yield* refuse(why)
        }
        const running = live(list)
        return {
          record: {
            description: running.length === 0 ? "nothing to start (no member was running unpaused)" : `start ${DockerFault.names(running)} again if not running (was running; its restart policy may restart it first)`,
            containers: running.map((c) => c.id),
            paused: [],
            capturedAt: Date.now(),
            settleMs: stopMarginMs,
          },
        }
      }),
    inject: (list, engine) =>
      DockerFault.eachOf(live(list), (planned) =>
        Effect.gen(function* () {
          // The pid as it is now: the container may have restarted since the plan.
          const c = yield* engine.inspect(planned.id)
          if (!c.state.running || c.state.paused || c.state.pid <= 0) return
          const owner = yield* processOf(c.state.pid, c.id)
          if (owner === "gone") return
          const why = notLocal(c, owner)
          if (why !== undefined) return yield* refuse(why)
          yield* Effect.try({
            try: () => process.kill(c.state.pid, "SIGKILL"),
            catch: (e) => (e as NodeJS.ErrnoException).code ?? String(e),
          }).pipe(
            Effect.catch((code) =>
              code === "ESRCH" ? Effect.void : refuse(code === "EPERM" ? `killing process ${c.state.pid} of ${c.name} needs root on the engine's host (EPERM)` : `kill ${c.state.pid} (${c.name}): ${code}`),
            ),
          )
        }),
      ),
  })
}

