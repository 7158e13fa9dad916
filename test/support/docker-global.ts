/**
 * Global setup of the test run for Docker: before any test, the engine must answer (a clear
 * failure otherwise, naming the opt-out); after every test, no container, network or image
 * labelled `shiftup.run` may remain (invariant 5 for the whole suite). Skipped entirely when
 * SHIFTUP_TEST_DOCKER=0 excludes the Docker tests (see README).
 */
import { Effect } from "effect"
import * as Engine from "../../src/docker/engine.ts"

const enabled = process.env["SHIFTUP_TEST_DOCKER"] !== "0"

export const setup = async (): Promise<void> => {
  if (!enabled) return
  const engine = Engine.make({ timeoutMs: 5000 })
  try {
    await Effect.runPromise(engine.ping)
  } catch (e) {
    throw new Error(
      `No Docker engine answers at ${engine.address} (${(e as { detail?: string }).detail ?? String(e)}). The Docker tests need one: start dockerd (see README, "Docker"), or set SHIFTUP_TEST_DOCKER=0 to leave the Docker tests out of this run.`,
    )
  } finally {
    engine.close()
  }
}

export const teardown = async (): Promise<void> => {
  if (!enabled) return
  const engine = Engine.make({ timeoutMs: 5000 })
  try {
    const label = ["shiftup.run"]
    const [containers, networks, images] = await Effect.runPromise(Effect.all([engine.list({ all: true, labels: label }), engine.networks(label), engine.images(label)]))
    const left = [...containers.map((c) => `container ${c.name}`), ...networks.map((n) => `network ${n.name}`), ...images.map((i) => `image ${i.tags[0] ?? i.id}`)]
    if (left.length > 0) throw new Error(`the test suite left ${left.length} Docker object(s) labelled shiftup.run behind: ${left.join(", ")}`)
  } finally {
    engine.close()
  }
}
