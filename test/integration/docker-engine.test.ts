/**
 * A Docker engine that is down, unreachable or hung: the run stops at plan time with the typed
 * `EngineUnavailable` (exit 4), says which address it tried and what to do, and injects nothing
 * (no intent in the ledger). `reap` and `recover` say the same instead of pretending.
 */
import { createServer, type Server, type Socket } from "node:net"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { Experiment, Runner } from "shiftup"
import * as Docker from "shiftup/docker"
import { fixture, ledgerFiles, readLedger, runCli, tempDir, useProcessCleanup } from "../support/proc-cli.ts"

useProcessCleanup()

const closedPort = async () => {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

const runPause = async (dockerHost: string) => {
  const state = tempDir()
  const r = await runCli(["run", fixture("docker-pause.ts"), "--state-dir", state, "--journal", `${state}/j.json`], { env: { DOCKER_HOST: dockerHost } })
  return { r, state }
}

const servers: Array<Server> = []
const sockets = new Set<Socket>()
afterAll(async () => {
  for (const s of sockets) s.destroy()
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))))
})

describe("Docker engine down or unreachable", () => {
  it("no socket at DOCKER_HOST: exit 4, EngineUnavailable naming the address, nothing injected", async () => {
    const socket = `${tempDir()}/no-docker.sock`
    const { r, state } = await runPause(`unix://${socket}`)
    expect(r.code, r.output).toBe(4)
    expect(r.output).toContain(`cannot reach the Docker engine at unix://${socket}`)
    expect(r.output).toContain("DOCKER_HOST")
    const journal = JSON.parse(await import("node:fs").then((fs) => fs.readFileSync(`${state}/j.json`, "utf8"))) as { status: string; errors: Array<{ tag: string }> }
    expect(journal.status).toBe("invalid")
    expect(journal.errors.map((e) => e.tag)).toContain("EngineUnavailable")
    expect(ledgerFiles(state).flatMap(readLedger).filter((x) => x.type === "intent")).toEqual([])
  })

  it("connection refused on tcp: exit 4 with the tcp address", async () => {
    const port = await closedPort()
    const { r } = await runPause(`tcp://127.0.0.1:${port}`)
    expect(r.code, r.output).toBe(4)
    expect(r.output).toContain(`cannot reach the Docker engine at tcp://127.0.0.1:${port}`)
  })

  it("an engine that accepts but never answers is cut off by the call deadline", async () => {
    const hung = createServer((s) => void sockets.add(s))
    servers.push(hung)
    await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r))
    const address = `tcp://127.0.0.1:${(hung.address() as AddressInfo).port}`
    const auth = Docker.container("auth", { environment: "lab" })
    const x = Experiment.make({ id: "engine.hung", title: "hung engine", targets: { auth }, method: [Docker.pause(auth)] })
    const t0 = Date.now()
    const journal = await Effect.runPromise(Runner.run(x, { stateDir: tempDir() }).pipe(Effect.provide(Docker.Engine.layer({ host: address, timeoutMs: 400 }))))
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(journal.status).toBe("invalid")
    expect(journal.exitCode).toBe(4)
    expect(journal.errors.find((e) => e.tag === "EngineUnavailable")?.message).toMatch(/no answer within 400 ms/)
    expect(journal.rollbacks).toEqual([])
  })

  it("reap with the engine down: exit 4 and the reason", async () => {
    const r = await runCli(["reap", "--all"], { env: { DOCKER_HOST: `unix://${tempDir()}/none.sock` } })
    expect(r.code, r.output).toBe(4)
    expect(r.output).toContain("cannot reach the Docker engine")
  })
})
