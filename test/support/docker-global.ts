/**
 * Global setup of the test run for Docker: before any test, the engine must answer (a clear
 * failure otherwise, naming the opt-out); after every test, no container, network or image
 * labelled `shiftup.run` may remain (invariant 5 for the whole suite). Objects already there
 * before the suite started (left by an earlier, killed run on the same engine) are named in a
 * warning, not blamed on this run. Skipped entirely when SHIFTUP_TEST_DOCKER=0 excludes the
 * Docker tests (see README).
 */
import { Effect } from "effect"
import * as Engine from "../../src/docker/engine.ts"

const enabled = process.env["SHIFTUP_TEST_DOCKER"] !== "0"
const label = ["shiftup.run"]

/** Every object labelled `shiftup.run` on the engine, by id, with a name to print. */
const labelled = (engine: Engine.Engine) =>
  Effect.all([engine.list({ all: true, labels: label }), engine.networks(label), engine.images(label)]).pipe(
    Effect.map(([containers, networks, images]) => [
      ...containers.map((c) => [c.id, `container ${c.name}`] as const),
      ...networks.map((n) => [n.id, `network ${n.name}`] as const),
      ...images.map((i) => [i.id, `image ${i.tags[0] ?? i.id}`] as const),
    ]),
  )

let before = new Set<string>()

export const setup = async (): Promise<void> => {
  if (!enabled) return
  const engine = Engine.make({ timeoutMs: 5000 })
  try {
    await Effect.runPromise(engine.ping)
  } catch (e) {
    engine.close()
    throw new Error(
      `No Docker engine answers at ${engine.address} (${(e as { detail?: string }).detail ?? String(e)}). The Docker tests need one: start dockerd (see README, "Docker"), or set SHIFTUP_TEST_DOCKER=0 to leave the Docker tests out of this run.`,
    )
  }
  try {
    const found = await Effect.runPromise(labelled(engine))
    before = new Set(found.map(([id]) => id))
    if (found.length > 0) console.warn(`[shiftup tests] ${found.length} Docker object(s) labelled shiftup.run were on the engine before this run (an earlier run was killed?): ${found.map(([, name]) => name).join(", ")}. They are not this run's; remove them with \`docker rm -f\` / \`docker network rm\`.`)
  } finally {
    engine.close()
  }
}

export const teardown = async (): Promise<void> => {
  if (!enabled) return
  const engine = Engine.make({ timeoutMs: 5000 })
  try {
    const left = (await Effect.runPromise(labelled(engine))).filter(([id]) => !before.has(id)).map(([, name]) => name)
    if (left.length > 0) throw new Error(`the test suite left ${left.length} Docker object(s) labelled shiftup.run behind: ${left.join(", ")}`)
  } finally {
    engine.close()
  }
}
