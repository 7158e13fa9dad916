/**
 * Host helpers (`nsenter`, `iptables`, `tc`) run outside the terminal's process group: a Ctrl-C
 * to the group (SIGINT to every member) cannot cut a rollback's command short, while the
 * helper's own deadline still kills it — its whole group. Real processes, no Docker.
 */
import { readFileSync } from "node:fs"
import { spawn } from "node:child_process"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { runHelper } from "../../../src/docker/internal/helper.ts"
import { fixture, tempDir, useProcessCleanup, waitFor } from "../../support/proc-cli.ts"

useProcessCleanup()

/** Fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, session… */
const stat = (pid: number | "self") => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false
    throw e
  }
}

describe("host helpers", () => {
  it("run in a process group and session of their own", async () => {
    const out = await Effect.runPromise(runHelper("sh", ["-c", "echo $$; cat /proc/$$/stat"], { timeoutMs: 5000 }))
    const [pid, line] = out.split("\n")
    const fields = line!.split(") ")[1]!.split(" ")
    // Its group and session are led by itself, not by this process's.
    expect(fields[2]).toBe(pid)
    expect(fields[3]).toBe(pid)
    expect(fields[2]).not.toBe(stat("self")[2])
  })

  it("survive SIGINT sent to their parent's process group again and again", async () => {
    // The fixture leads a process group of its own, as a terminal's foreground job does.
    const env: Record<string, string | undefined> = { ...process.env }
    for (const k of ["NODE_OPTIONS", "VITEST", "VITEST_WORKER_ID", "VITEST_POOL_ID", "VITEST_MODE"]) delete env[k]
    const child = spawn(process.execPath, [fixture("docker-helper-sigint.ts")], { cwd: tempDir(), env, stdio: ["ignore", "pipe", "inherit"], detached: true })
    let out = ""
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c))
    const exited = new Promise<void>((resolve) => child.once("close", () => resolve()))
    const group = child.pid ?? 0
    try {
      await waitFor("the helper to run", () => out.includes("started") && readFileSync(`/proc/${group}/task/${group}/children`, "utf8").trim() !== "", { timeoutMs: 30_000 })
      for (let i = 0; i < 4; i++) {
        process.kill(-group, "SIGINT")
        await new Promise((r) => setTimeout(r, 120))
      }
      await exited
      expect(out).toContain("helper finished")
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-group, "SIGKILL")
    }
  })

  it("are killed, their whole group, when their deadline passes", async () => {
    const started = Date.now()
    const failure = await Effect.runPromise(Effect.flip(runHelper("sh", ["-c", "sleep 30 & echo $! >&2; wait"], { timeoutMs: 300 })))
    expect(Date.now() - started).toBeLessThan(5000)
    expect(failure.killed).toBe(true)
    // The background sleep (same group as the helper) went with it.
    const background = Number(failure.stderr.trim())
    expect(background).toBeGreaterThan(0)
    await waitFor("the background process to be gone", () => !alive(background) || stat(background)[0] === "Z")
  })

  it("are started again when a terminal's signal ended them before they ran (between fork and setsid)", async () => {
    const marker = `${tempDir()}/once`
    // The first run ends itself with SIGINT, as a pending group signal would; the second runs.
    const out = await Effect.runPromise(runHelper("sh", ["-c", `if [ ! -e ${marker} ]; then touch ${marker}; kill -INT $$; fi; echo ran`], { timeoutMs: 5000 }))
    expect(out.trim()).toBe("ran")
  })
})
