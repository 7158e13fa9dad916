/**
 * The dead-man switch: `shiftup run --watchdog` starts a detached watcher before anything is
 * injected. It polls the runner's pid; when the runner is gone — killed with SIGKILL, the machine
 * out of memory, a hung terminal — it replays every compensation that runner left pending in its
 * ledgers, records `by: "watchdog"` there, writes a report, and exits. A runner that ends
 * normally leaves nothing pending, so the watcher simply exits.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { processAlive } from "../internal/process.ts"
import * as Ledger from "../Ledger.ts"
import { recover, type RecoverReport } from "../Recover.ts"
import { adapterCompensators, pendingKinds } from "./adapters.ts"

const pollMs = 200

const dir = (stateDir: string) => join(stateDir, "watchdog")


/**
 * Starts the watcher for this process and waits until it is ready; throws if it does not come up,
 * so that nothing is injected without the switch the user asked for.
 */
export const startWatchdog = async (stateDir: string): Promise<{ readonly pid: number; readonly log: string }> => {
  mkdirSync(dir(stateDir), { recursive: true })
  const ready = join(dir(stateDir), `${process.pid}.ready`)
  rmSync(ready, { force: true })
  const log = join(dir(stateDir), `${process.pid}.log`)
  const out = openSync(log, "a")
  const bin = fileURLToPath(new URL("../../bin/shiftup.js", import.meta.url))
  const child = spawn(process.execPath, [bin, "watchdog", "--pid", String(process.pid), "--state-dir", stateDir], { detached: true, stdio: ["ignore", out, out] })
  child.unref()
  const deadline = Date.now() + 15_000
  while (!existsSync(ready)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the watchdog did not start (see ${log}); run without --watchdog or fix the cause`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return { pid: child.pid ?? 0, log }
}

/** The watcher's own loop (`shiftup watchdog --pid N`): waits for the runner to go, then recovers. */
export const watch = async (pid: number, stateDir: string, write: (line: string) => void): Promise<RecoverReport> => {
  mkdirSync(dir(stateDir), { recursive: true })
  const stamp = () => new Date().toISOString()
  write(`${stamp()} watchdog ${process.pid} watching runner ${pid}`)
  writeFileSync(join(dir(stateDir), `${pid}.ready`), String(process.pid))
  while (processAlive(pid)) await new Promise((r) => setTimeout(r, pollMs))
  const mine = Ledger.list(stateDir).filter((path) => {
    try {
      return Ledger.owner(Ledger.read(path))?.pid === pid
    } catch {
      return false
    }
  })
  const compensators = await adapterCompensators(pendingKinds(mine))
  const report = await Effect.runPromise(recover({ ledgers: mine, stateDir, compensators, by: "watchdog", pid, force: true }))
  for (const i of report.items) write(`${stamp()} ${i.outcome} ${i.fault} on ${i.target} (run ${i.runId}): ${i.compensation}${i.error === undefined ? "" : ` — ${i.error}`}`)
  write(`${stamp()} runner ${pid} is gone; ${report.items.length === 0 ? "nothing was pending" : `${report.items.filter((i) => i.outcome === "restored").length} restored, ${report.items.filter((i) => i.outcome === "failed").length} failed`}`)
  writeFileSync(join(dir(stateDir), `${pid}.json`), `${JSON.stringify({ runner: pid, watchdog: process.pid, at: stamp(), ...report }, null, 2)}\n`)
  rmSync(join(dir(stateDir), `${pid}.ready`), { force: true })
  return report
}

/** What a watchdog recorded for a runner pid, if it has finished. */
export const watchdogReport = (stateDir: string, pid: number): (RecoverReport & { readonly runner: number; readonly watchdog: number; readonly at: string }) | undefined => {
  try {
    return JSON.parse(readFileSync(join(dir(stateDir), `${pid}.json`), "utf8")) as never
  } catch {
    return undefined
  }
}
