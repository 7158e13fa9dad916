/**
 * `npm run demo:data`, as a process: it starts a real redis-server and a session API with a
 * planted weakness, runs the Redis session experiment through the CLI, must find the weakness
 * and print equal checksums before and after (exit 0), and must leave nothing running.
 */
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { finish, journals, pendingIntents, repoRoot, spawnNode, tempDir, useProcessCleanup } from "../support/proc-cli.ts"
import { portRefused } from "../support/proc-lab.ts"

useProcessCleanup()


describe("npm run demo:data", () => {
  it("finds the planted weakness with a data fault, restores the sessions exactly (equal checksums) and exits 0", async () => {
    const cwd = tempDir("shiftup-demo-data-")
    const demo = spawnNode(join(repoRoot, "node_modules", "tsx", "dist", "cli.mjs"), [join(repoRoot, "src", "demo", "data-main.ts")], { cwd, env: { TSX_TSCONFIG_PATH: join(repoRoot, "tsconfig.json") } })
    const r = await finish(demo, 100_000, "npm run demo:data")
    expect(r.code, r.output).toBe(0)
    const before = /checksum before: (\w+)… over 3 keys/.exec(r.stdout)?.[1]
    const after = /checksum after: {2}(\w+)… over 3 keys — restored exactly/.exec(r.stdout)?.[1]
    expect(before, r.output).toMatch(/^[0-9a-f]{16}$/)
    expect(after).toBe(before)
    expect(r.stdout).toMatch(/finding \[critical\] GET \/admin as bob during faults/)
    expect(r.stdout).toContain("The data fault found the planted weakness")
    const state = join(cwd, ".shiftup")
    const runs = journals(state)
    expect(runs.map((j) => [j.experiment.id, j.status])).toEqual([["sessions.fail-closed.store-corrupted", "failed"]])
    expect(runs[0]?.rollbacks.map((x) => x.outcome)).toEqual(["restored", "restored"])
    expect(pendingIntents(state)).toEqual([])
    // The demo's redis-server is gone: its pid no longer exists, and nothing listens on its port.
    const [, pid, port] = /redis-server pid (\d+), 127\.0\.0\.1:(\d+), password-protected/.exec(r.stdout) ?? []
    expect(Number(pid)).toBeGreaterThan(0)
    expect(() => process.kill(Number(pid), 0), "redis-server still running after the demo").toThrow(expect.objectContaining({ code: "ESRCH" }))
    expect(await portRefused(Number(port)), "redis-server still listening after the demo").toBe(true)
  }, 120_000)
})
