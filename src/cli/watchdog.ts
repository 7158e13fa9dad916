/**
 * The dead-man switch: `shiftup run --watchdog` starts a detached watcher before anything is
 * injected. It polls the runner's pid; when the runner is gone — killed with SIGKILL, the machine
 * out of memory, a hung terminal — it replays every compensation that runner left pending in its
 * ledgers, records `by: "watchdog"` there, writes a report, and exits. A runner that ends
 * normally leaves nothing pending, so the watcher simply exits.
 */
import { spawn } from "node:child_process"
import { existsSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { ensureDir, errnoOf } from "../internal/dirs.ts"
import { processAlive } from "../internal/process.ts"
import { incomplete, recover, type RecoverReport } from "../Recover.ts"
import { describeUnknown, fail, LedgerError } from "../ShiftupError.ts"
import { loadModule } from "./adapters.ts"

const pollMs = 200

const dir = (stateDir: string) => join(stateDir, "watchdog")

/** A state directory the watchdog cannot use, as the documented error (not a stack trace). */
const unusable = (stateDir: string, e: unknown) => {
  const errno = errnoOf(e)
  return fail(new LedgerError({ path: dir(stateDir), detail: `the watchdog cannot use the state directory ${stateDir === "" ? '""' : stateDir}: ${describeUnknown(e)}; choose a writable --state-dir (nothing was injected)`, ...(errno === undefined ? {} : { errno }) }))
}

/**
 * Starts the watcher for this process and waits until it is ready; throws a `ShiftupError` if it
 * does not come up, so that nothing is injected without the switch the user asked for.
 */
export const startWatchdog = async (stateDir: string): Promise<{ readonly pid: number; readonly log: string }> => {
  const ready = join(dir(stateDir), `${process.pid}.ready`)
  const log = join(dir(stateDir), `${process.pid}.log`)
  let out: number
  try {
    if (stateDir === "") throw new Error("it is empty")
    ensureDir(dir(stateDir))
    rmSync(ready, { force: true })
    out = openSync(log, "a", 0o600)
  } catch (e) {
    throw unusable(stateDir, e)
  }
  const bin = fileURLToPath(new URL("../../bin/shiftup.js", import.meta.url))
  const child = spawn(process.execPath, [bin, "watchdog", "--pid", String(process.pid), "--state-dir", stateDir], { detached: true, stdio: ["ignore", out, out] })
  child.unref()
  const deadline = Date.now() + 15_000
  while (!existsSync(ready)) {
    if (child.exitCode !== null || Date.now() > deadline) throw unusable(stateDir, new Error(`the watchdog did not start (see ${log}); run without --watchdog or fix the cause`))
    await new Promise((r) => setTimeout(r, 50))
  }
  return { pid: child.pid ?? 0, log }
}

/**
 * The watcher's own loop (`shiftup watchdog --pid N`): waits for the runner to go, then recovers
 * its ledgers, loading each compensation's compensator from the module its intent names (the
 * watcher never saw the run's config). A ledger it cannot read is reported, and counts as not
 * recovered: it might have been the runner's.
 */
export const watch = async (pid: number, stateDir: string, write: (line: string) => void): Promise<RecoverReport> => {
  ensureDir(dir(stateDir))
  const stamp = () => new Date().toISOString()
  write(`${stamp()} watchdog ${process.pid} watching runner ${pid}`)
  writeFileSync(join(dir(stateDir), `${pid}.ready`), String(process.pid), { mode: 0o600 })
  while (processAlive(pid)) await new Promise((r) => setTimeout(r, pollMs))
  const report = await Effect.runPromise(recover({ stateDir, load: loadModule, by: "watchdog", pid, force: true }))
  for (const i of report.items) write(`${stamp()} ${i.outcome} ${i.fault} on ${i.target} (run ${i.runId}): ${i.compensation}${i.error === undefined ? "" : ` — ${i.error}`}`)
  for (const b of report.bad) write(`${stamp()} NOT RECOVERED ${b.error}`)
  for (const l of report.locked) write(`${stamp()} NOT RECOVERED ${l.ledger}: held by ${l.by.purpose} pid ${l.by.pid}`)
  for (const u of report.unrecorded) write(`${stamp()} UNRECORDED ${u.ledger} seq ${u.seq}: ${u.error}`)
  const restored = report.items.filter((i) => i.outcome === "restored").length
  write(`${stamp()} runner ${pid} is gone; ${report.items.length === 0 && !incomplete(report) ? "nothing was pending" : `${restored} restored, ${report.items.length - restored} not restored, ${report.bad.length + report.locked.length} ledger(s) not recovered`}`)
  try {
    writeFileSync(join(dir(stateDir), `${pid}.json`), `${JSON.stringify({ runner: pid, watchdog: process.pid, at: stamp(), ...report }, null, 2)}\n`, { mode: 0o600 })
  } catch (e) {
    write(`${stamp()} cannot write the report ${join(dir(stateDir), `${pid}.json`)}: ${describeUnknown(e)}`)
  }
  rmSync(join(dir(stateDir), `${pid}.ready`), { force: true })
  return report
}

/** What a watchdog recorded for a runner pid, if it has finished. */
export const watchdogReport = (stateDir: string, pid: number): (RecoverReport & { readonly runner: number; readonly watchdog: number; readonly at: string }) | undefined => {
  let text: string
  try {
    text = readFileSync(join(dir(stateDir), `${pid}.json`), "utf8")
  } catch (e) {
    if (errnoOf(e) === "ENOENT") return undefined
    throw e
  }
  return JSON.parse(text) as never
}
