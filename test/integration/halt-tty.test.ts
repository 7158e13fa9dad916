/**
 * An approval gate at a real terminal: the CLI runs under `script` (a pseudo-terminal), asks
 * before the second fault, and the person answers. "n" aborts the run and rolls back the first
 * fault; "y" lets it run to the end.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { bin, fixture, journals, pendingIntents, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"

useProcessCleanup()

const children = new Set<ChildProcess>()
afterEach(() => {
  // `script` leads its own process group (detached): kill the group by its pid.
  for (const c of children) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(-c.pid, "SIGKILL")
  children.clear()
})

const atTerminal = async (answer: "n" | "y") => {
  const dir = tempDir("shiftup-world-")
  const state = tempDir("shiftup-state-")
  writeFileSync(join(dir, "a.txt"), "ORIGINAL A")
  writeFileSync(join(dir, "b.txt"), "ORIGINAL B")
  const command = [process.execPath, bin, "run", fixture("report", "gameday-held.ts"), "--state-dir", state, "--approve", "overwrite-b"].map((a) => `'${a}'`).join(" ")
  const env: Record<string, string | undefined> = { ...process.env, SHIFTUP_CONTROL_DIR: tempDir("shiftup-control-"), SHIFTUP_FIXTURE_DIR: dir, SHIFTUP_FIXTURE_HOLD: "10" }
  for (const k of ["NODE_OPTIONS", "VITEST", "VITEST_WORKER_ID", "VITEST_POOL_ID", "VITEST_MODE"]) delete env[k]
  const child = spawn("script", ["-qec", command, "/dev/null"], { cwd: tempDir("shiftup-cwd-"), env, stdio: ["pipe", "pipe", "pipe"], detached: true })
  children.add(child)
  let out = ""
  child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c))
  child.stderr.setEncoding("utf8").on("data", (c: string) => (out += c))
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)))
  await waitFor("the approval prompt", () => out.includes("proceed? [y/N]"), { timeoutMs: 30_000 })
  child.stdin.write(`${answer}\n`)
  const code = await exited
  const files = [readFileSync(join(dir, "a.txt"), "utf8"), readFileSync(join(dir, "b.txt"), "utf8")]
  return { code, out, files, journal: journals(state)[0], state }
}

// Not skipped: `script` (util-linux) gives the test a real terminal and is on every Debian.
describe("approval gates at a terminal", () => {
  it("needs /usr/bin/script for a pseudo-terminal", () => {
    expect(existsSync("/usr/bin/script"), "/usr/bin/script is missing (util-linux)").toBe(true)
  })

  it("declined at the terminal: abort, the first fault rolled back, the second never injected", async () => {
    const r = await atTerminal("n")
    expect(r.code, r.out).toBe(3)
    expect(r.files).toEqual(["ORIGINAL A", "ORIGINAL B"])
    expect(r.journal?.status).toBe("aborted")
    expect(r.journal?.errors[0]?.message).toContain('approval for "overwrite-b" declined: declined at the terminal')
    expect(r.journal?.rollbacks.map((x) => [x.fault, x.outcome])).toEqual([["overwrite-a", "restored"]])
    expect(pendingIntents(r.state)).toEqual([])
  })

  it("approved at the terminal: the run goes on and ends passed", async () => {
    const r = await atTerminal("y")
    expect(r.code, r.out).toBe(0)
    expect(r.out).toContain('approval ✓ inject "overwrite-b": approved at the terminal')
    expect(r.journal?.rollbacks.length).toBe(2)
    expect(r.files).toEqual(["ORIGINAL A", "ORIGINAL B"])
  })
})
