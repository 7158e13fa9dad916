/**
 * `npm run demo`, as a process: the demo starts its own lab (on a free base port given through
 * SHIFTUP_LAB_PORT), runs the catalogue through the CLI, must find the planted weakness and exit
 * 0, and must leave nothing behind: every fault rolled back, the lab's ports closed again.
 */
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { finish, journals, pendingIntents, repoRoot, spawnNode, tempDir, useProcessCleanup } from "../support/proc-cli.ts"
import { freeBasePort, portRefused } from "../support/proc-lab.ts"

useProcessCleanup()


describe("npm run demo", () => {
  it("finds the planted weakness, rolls everything back and exits 0", async () => {
    const base = await freeBasePort()
    // A temp working directory, so the demo's journals (.shiftup/) land there and are removed;
    // tsx gets the checkout's tsconfig (its `paths` map the `shiftup` specifiers), as in `npm run demo`.
    const cwd = tempDir("shiftup-demo-")
    const demo = spawnNode(join(repoRoot, "node_modules", "tsx", "dist", "cli.mjs"), [join(repoRoot, "src", "demo", "main.ts")], {
      cwd,
      env: { SHIFTUP_LAB_PORT: String(base), TSX_TSCONFIG_PATH: join(repoRoot, "tsconfig.json") },
    })
    const r = await finish(demo, 100_000, "npm run demo")
    expect(r.code, r.output).toBe(0)
    expect(r.stdout).toContain(`gateway http://127.0.0.1:${base}`)
    expect(r.stdout).toMatch(/gateway\.fails-closed\.auth-slow[^\n]*\n(?:[^\n]*\n)*?\s+FAILED 1 finding/)
    expect(r.stdout).toMatch(/finding \[critical\] GET \/admin as anonymous during faults: never 200/)
    expect(r.stdout).toContain("The demo found the planted weakness")
    expect(r.stdout).toContain('auth mode is "ok" again')

    const state = join(cwd, ".shiftup")
    const runs = journals(state)
    expect(runs.length).toBeGreaterThanOrEqual(4)
    expect(runs.filter((j) => j.status === "failed").map((j) => j.experiment.id)).toEqual(["gateway.fails-closed.auth-slow"])
    expect(runs.every((j) => j.rollbacks.every((x) => x.outcome === "restored"))).toBe(true)
    expect(pendingIntents(state)).toEqual([])
    for (const port of [base, base + 1, base + 2, base + 3]) expect(await portRefused(port), `port ${port} still open after the demo`).toBe(true)
  }, 120_000)
})
