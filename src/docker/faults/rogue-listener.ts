/**
 * Rogue listener: "does anybody notice a new open port?" — a labelled container listening next
 * to the target, removed by its labels on rollback (also after a crash between create and ledger).
 */
import { Effect, Schema } from "effect"
import { RunContext } from "../../RunContext.ts"
import { fail, InjectionFailed } from "../../ShiftupError.ts"
import * as DockerFault from "../internal/fault.ts"
import type { FaultOptions } from "../internal/fault.ts"
import { declare } from "../internal/kind.ts"
import { runLabel } from "../reaper.ts"
import type { ContainerTarget } from "../targets.ts"

/** The label selector of a compensation. */
const selectorOf = (labels: Readonly<Record<string, string>>): ReadonlyArray<string> => Object.entries(labels).map(([k, v]) => `${k}=${v}`)

const NonEmpty = Schema.String.check(Schema.isMinLength(1))

/** Removes every container carrying all of `labels` (created by a fault); none left is fine. */
export const RemoveLabelled = declare({
  kind: "docker.remove-labelled",
  // Exactly the labels a fault puts on what it creates: a record cannot name anyone else's containers.
  fields: { labels: Schema.Struct({ [runLabel]: NonEmpty, "shiftup.fault": NonEmpty }) },
  undo: (r, engine) =>
    Effect.gen(function* () {
      const selector = selectorOf(r.labels)
      // Never "every container": a compensation without labels removes nothing.
      if (selector.length === 0) return
      const found = yield* engine.list({ all: true, labels: selector })
      yield* DockerFault.eachOf(found, (s) => engine.remove(s.id))
    }),
  verify: (r, engine) =>
    Effect.gen(function* () {
      const selector = selectorOf(r.labels)
      if (selector.length === 0) return undefined
      const left = yield* engine.list({ all: true, labels: selector })
      return left.length === 0 ? undefined : `${left.map((x) => x.name).join(", ")} (labelled ${selector.join(", ")}) still there`
    }),
  // Creating and starting the listener takes some 250 ms on the engine.
  settleMs: 5000,
})

export interface RogueListenerOptions extends FaultOptions {
  /** The port it listens on, inside its container and published on 127.0.0.1. */
  readonly port: number
  /** Default `shiftup-lab/rogue:latest` (listens on `$PORT`). */
  readonly image?: string
  /** The network to join; default the target container's first network. Must be one of its networks. */
  readonly network?: string
}

const safeName = (s: string) => s.replace(/[^a-zA-Z0-9_.-]/g, "-").slice(0, 60)

/**
 * "Does anybody notice a new open port?": starts a labelled container that listens on `port`,
 * published on 127.0.0.1 and attached to the network of the target's (first) container, so a
 * detector scanning that network sees it. The target is the container whose network it joins
 * (policy and budget are checked against it; safety `disrupt`). Rollback removes every container
 * labelled with this run and fault: idempotent, and it also removes one created just before a crash.
 *
 * @example
 * Docker.rogueListener(auth, { port: 4444 })
 */
export const rogueListener = (target: ContainerTarget, options: RogueListenerOptions) => {
  const id = options.id ?? `rogue listener ${options.port} next to ${target.id}`
  const image = options.image ?? "shiftup-lab/rogue:latest"
  const refuse = (detail: string) => Effect.fail(fail(new InjectionFailed({ fault: id, target: target.id, detail })))
  const labelsFor = (runId: string) => ({ [runLabel]: runId, "shiftup.fault": id })
  return DockerFault.make({
    id,
    title: `start a rogue listener on port ${options.port} next to ${target.id}`,
    target,
    kind: RemoveLabelled,
    capture: (list) =>
      Effect.gen(function* () {
        const runId = (yield* RunContext).runId
        if (!(Number.isInteger(options.port) && options.port >= 1 && options.port <= 65_535)) return yield* refuse(`port must be 1–65535, got ${options.port}`)
        const first = list[0]
        if (first === undefined) return yield* refuse("the target has no container")
        const joinable = Object.keys(first.networks).filter((n) => n !== "host" && n !== "none")
        const network = options.network ?? joinable[0]
        if (network === undefined) return yield* refuse(`${first.name} is on no network a container can join (${Object.keys(first.networks).join(", ") || "none"})`)
        if (!joinable.includes(network)) return yield* refuse(`${first.name} is not on network "${network}" (it is on ${joinable.join(", ") || "none"})`)
        const labels = labelsFor(runId)
        return {
          record: {
            description: `remove the rogue listener on port ${options.port} in network ${network} (containers labelled ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(", ")})`,
            labels,
            containers: [],
          },
          plan: network,
        }
      }),
    inject: (_list, engine, network) =>
      Effect.gen(function* () {
        const runId = (yield* RunContext).runId
        if (network === undefined) return yield* refuse("no network was captured for this run")
        yield* engine.run({
          name: `shiftup-rogue-${safeName(runId)}-${options.port}`,
          image,
          env: { PORT: String(options.port) },
          labels: labelsFor(runId),
          publish: [{ containerPort: options.port, hostPort: options.port }],
          network,
        })
      }),
  })
}
