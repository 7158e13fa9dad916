/**
 * Ctrl-C, again and again, during a rollback. A terminal sends SIGINT to its whole foreground
 * process group; the helpers a rollback runs (`nsenter`, `iptables`, `tc`) must not be in that
 * group, or the second Ctrl-C kills them half-way and leaves DROP rules or a tbf behind. A real
 * `shiftup run` leads its own process group here (as a shell would make it), holds a partition of
 * 300 rules and a bandwidth limit; the test sends SIGINT to the group, then again every 150 ms
 * until the run has ended. The rollback must complete: exit 3, every rollback restored, and not
 * one tagged rule or tbf left in the container's namespace.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { Effect } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Engine from "../../src/docker/engine.ts"
import { ensureImages } from "../../src/testing/docker/images.ts"
import { bin, fixture, journals, ledgerFiles, pendingIntents, readLedger, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"

useProcessCleanup()

const unique = `sigint-${randomBytes(3).toString("hex")}`
const name = `${unique}-box`
const engine = Engine.make({ timeoutMs: 20_000 })
const call = <A>(e: Effect.Effect<A, unknown>): Promise<A> => Effect.runPromise(e as Effect.Effect<A>)
let id = ""

const children = new Set<ChildProcess>()

beforeAll(async () => {
  const [image] = await call(ensureImages(engine, { only: ["busybox"] }))
  if (image === undefined) throw new Error("no busybox image")
  id = await call(engine.run({ name, image, command: ["sleep", "3600"], labels: { "shiftup.run": unique } }))
}, 60_000)

afterEach(() => {
  // A run left behind by a failed test leads its own group: end the group by its pid.
  for (const c of children) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(-c.pid, "SIGKILL")
  children.clear()
})

afterAll(async () => {
  await call(engine.remove(id))
  engine.close()
}, 60_000)

const inNamespace = async (file: string, args: ReadonlyArray<string>) => execFileSync("nsenter", ["-t", String((await call(engine.inspect(id))).state.pid), "-n", file, ...args], { encoding: "utf8" })
const leftovers = async () => ({
  rules: (await inNamespace("iptables-save", [])).split("\n").filter((l) => l.includes("shiftup:")).length,
  tbf: (await inNamespace("tc", ["qdisc", "show"])).split("\n").filter((l) => l.includes("tbf")),
})

describe("Ctrl-C again and again during a rollback (SIGINT to the process group)", () => {
  it("the rollback's helpers are not in the terminal's group: every rule and the tbf are removed, the run reports its rollback complete", async () => {
    const state = tempDir()
    const env: Record<string, string | undefined> = { ...process.env, SHIFTUP_FIXTURE_CONTAINER: name, SHIFTUP_FIXTURE_PEERS: "100" }
    for (const k of ["NODE_OPTIONS", "VITEST", "VITEST_WORKER_ID", "VITEST_POOL_ID", "VITEST_MODE"]) delete env[k]
    // Its own process group, as a shell makes a foreground job: the group a terminal's Ctrl-C reaches.
    const child = spawn(process.execPath, [bin, "run", fixture("docker-sigint.ts"), "--state-dir", state], { cwd: tempDir("shiftup-cwd-"), env, stdio: ["ignore", "pipe", "pipe"], detached: true })
    children.add(child)
    let out = ""
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c))
    child.stderr.setEncoding("utf8").on("data", (c: string) => (out += c))
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)))
    const pid = child.pid ?? 0
    const records = () => ledgerFiles(state).flatMap(readLedger)
    await waitFor("both faults applied", () => records().filter((r) => r.type === "applied").length === 2, { timeoutMs: 60_000 })
    expect((await leftovers()).rules).toBe(200)
    const signals: Array<number> = []
    const started = Date.now()
    const ctrlC = () => {
      process.kill(-pid, "SIGINT")
      signals.push(Date.now() - started)
    }
    ctrlC()
    let done = false
    void exited.then(() => (done = true))
    // Ctrl-C again and again (120–450 ms apart in the reported case; faster here): until the run ends.
    while (!done) {
      await new Promise((r) => setTimeout(r, 60))
      if (!done) ctrlC()
    }
    const code = await exited
    const journal = journals(state)[0]
    console.info(`${signals.length} SIGINTs to the group over ${Date.now() - started} ms of rollback; exit ${code}`)
    expect(signals.length, out).toBeGreaterThanOrEqual(2)
    expect(await leftovers()).toEqual({ rules: 0, tbf: [] })
    expect(code, out).toBe(3)
    expect(journal?.status).toBe("aborted")
    expect(journal?.rollbacks.map((r) => [r.fault, r.outcome])).toEqual([
      [`bandwidth ${name}`, "restored"],
      [`partition ${name}`, "restored"],
    ])
    expect(pendingIntents(state)).toEqual([])
  }, 120_000)
})
