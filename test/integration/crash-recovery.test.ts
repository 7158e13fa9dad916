/**
 * Invariants 2 and 5 through real processes: a runner applying ledgered `destroy` faults to
 * files (Fault.fileWrite on a lab target) is SIGKILLed at points spread over its whole life —
 * chosen from its own ledger (before the ledger exists, after each intent and each `applied`,
 * while faults are held, mid-rollback, after the end) and from the files themselves (a file just
 * overwritten, its fault not yet reported applied). Before recovery every damaged file must have
 * a compensation pending in the ledger; `shiftup recover` must then restore every file byte for
 * byte, leave nothing behind, and be idempotent. A live runner's ledger is left alone unless
 * `--force`.
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { finish, fixture, ledgerFiles, ledgerRecords, pendingIntents, readLedger, runCli, spawnCli, tempDir, useProcessCleanup, waitFor } from "../support/proc-cli.ts"

useProcessCleanup()

const experiment = fixture("files-destroy.ts")
// A file restore slowed by 30 ms per replay (kind fixture.slow-file-restore) so a runner's rollback
// phase lasts long enough to be hit; `recover` gets the same config, as a team would use one config
// for both (it would find it through the ledger anyway).
const config = fixture("slow-file-restore.config.ts")

/** The lab's state: three files with random contents (one empty) and one that does not exist yet. */
const makeWorld = () => {
  const dir = tempDir("shiftup-world-")
  const originals = new Map<string, Buffer | null>([
    ["state.json", Buffer.from(JSON.stringify({ users: randomBytes(8).toString("hex"), version: Math.random() }))],
    ["blob.bin", randomBytes(1 + Math.floor(Math.random() * 4096))],
    ["empty.cfg", Buffer.alloc(0)],
    ["absent.txt", null],
  ])
  for (const [name, content] of originals) if (content !== null) writeFileSync(join(dir, name), content)
  return { dir, originals, names: [...originals.keys()] }
}

type World = ReturnType<typeof makeWorld>

/** Names of files that differ from the original (content, or existence). */
const damaged = (w: World): ReadonlyArray<string> =>
  w.names.filter((name) => {
    const path = join(w.dir, name)
    const original = w.originals.get(name) ?? null
    if (original === null) return existsSync(path)
    return !existsSync(path) || !readFileSync(path).equals(original)
  })

const expectRestored = (w: World, context: string) => {
  for (const name of w.names) {
    const path = join(w.dir, name)
    const original = w.originals.get(name) ?? null
    if (original === null) expect(existsSync(path), `${context}: ${name} must not exist`).toBe(false)
    else expect(readFileSync(path).equals(original), `${context}: ${name} must be byte-identical`).toBe(true)
  }
  // Nothing left behind: no temp files of a half-done restore, no strays.
  expect(readdirSync(w.dir).sort(), `${context}: directory listing`).toEqual(w.names.filter((n) => w.originals.get(n) !== null).sort())
}

const envFor = (w: World, hold = 40, restoreKind = "fixture.slow-file-restore") => ({
  SHIFTUP_FIXTURE_RESTORE_KIND: restoreKind,
  SHIFTUP_FIXTURE_DIR: w.dir,
  SHIFTUP_FIXTURE_FILES: w.names.join(","),
  SHIFTUP_FIXTURE_WAIT: "40",
  SHIFTUP_FIXTURE_HOLD: String(hold),
  // Each injection lingers after its write: a kill there finds a damaged file whose fault is
  // not yet `applied` — its intent must already be on disk.
  SHIFTUP_FIXTURE_INJECT_MS: "60",
})

/** run + 4 × (intent, applied) + 4 × rolled-back + end: the ledger of a complete run. */
const recordsOfCompleteRun = 1 + 4 * 2 + 4 + 1

interface Trial {
  readonly index: number
  /**
   * When to kill: once the runner's ledger holds `records` records (0: a random instant after
   * spawn), or once this test sees file number `damaged` altered (the middle of an injection).
   */
  readonly when: { readonly records: number } | { readonly damaged: number }
  readonly extraDelayMs: number
  world?: World
  runId?: string | undefined
  recordsAtKill?: number
  lastRecordAtKill?: string
  damagedBeforeRecover?: number
  restoredByRecover?: number
  exitedByItself?: boolean
}

/** The ledger file written by the runner with this pid, once its header is on disk. */
const ledgerOfPid = (state: string, pid: number): string | undefined => ledgerFiles(state).find((f) => readLedger(f)[0]?.pid === pid)

/** Starts a runner in `state` and SIGKILLs it at the trial's point; records what the kill left. */
const killTrial = async (t: Trial, state: string): Promise<void> => {
  const w = makeWorld()
  t.world = w
  const child = spawnCli(["run", experiment, "--state-dir", state, "--config", config], { env: envFor(w) })
  let ledger: string | undefined
  const records = () => {
    ledger ??= ledgerOfPid(state, child.pid)
    return ledger === undefined ? [] : readLedger(ledger)
  }
  const when = t.when
  // Generous waits: a runner reaches its point in about a second, but many at once on a loaded
  // two-core machine can take far longer.
  if ("damaged" in when) {
    const name = w.names[when.damaged] ?? ""
    await waitFor(`${name} damaged`, () => damaged(w).includes(name) || !child.running(), { everyMs: 2, timeoutMs: 90_000 })
    await new Promise((r) => setTimeout(r, t.extraDelayMs / 3))
  } else if (when.records === 0) await new Promise((r) => setTimeout(r, t.extraDelayMs * 10))
  else {
    await waitFor(`${when.records} ledger records`, () => records().length >= when.records || !child.running(), { everyMs: 2, timeoutMs: 90_000 })
    await new Promise((r) => setTimeout(r, t.extraDelayMs))
  }
  t.exitedByItself = !child.running()
  child.child.kill("SIGKILL")
  // Awaited so the pid is reaped: `recover` must see a dead runner, not a zombie.
  const exited = await child.exited
  t.exitedByItself = t.exitedByItself || exited.signal !== "SIGKILL"
  const left = records()
  t.runId = left[0]?.["runId"] as string | undefined
  t.recordsAtKill = left.length
  t.lastRecordAtKill = left.at(-1)?.type ?? "(no ledger)"
  const broken = damaged(w)
  t.damagedBeforeRecover = broken.length
  // Write-ahead compensation: every damaged file has a compensation pending in the ledger.
  const done = new Set(left.filter((r) => r.type === "rolled-back").map((r) => r.seq))
  const owed = new Set(left.filter((r) => r.type === "intent" && !done.has(r.seq)).map((r) => String(r["fault"]).replace(/^overwrite-/, "")))
  for (const name of broken) expect(owed.has(name), `trial ${t.index}: ${name} is damaged but no compensation is pending in its ledger`).toBe(true)
}

const describeTrial = (t: Trial) =>
  `#${t.index} kill ${"damaged" in t.when ? `when file ${t.when.damaged} is damaged + ${Math.floor(t.extraDelayMs / 3)}` : `after ${t.when.records} records + ${t.extraDelayMs}`} ms → ${t.recordsAtKill} records (last "${t.lastRecordAtKill}"), ${t.damagedBeforeRecover} damaged, ${t.restoredByRecover} restored by recover${t.exitedByItself === true ? ", had exited by itself" : ""}`

/** Several crashed runs share a state dir, as after a bad night; one `recover` must restore them all. */
const runBatch = async (batch: ReadonlyArray<Trial>, checkIdempotence: boolean): Promise<void> => {
  const state = tempDir("shiftup-state-")
  await Promise.all(batch.map((t) => killTrial(t, state)))
  const rec = await runCli(["recover", "--state-dir", state, "--config", config])
  const context = `${batch.map(describeTrial).join("\n")}\nrecover output:\n${rec.output}`
  expect(rec.code, context).toBe(0)
  for (const t of batch) {
    if (t.world !== undefined) expectRestored(t.world, `trial ${t.index}\n${context}`)
    t.restoredByRecover = t.runId === undefined ? 0 : rec.stdout.split("\n").filter((l) => l.startsWith("restored ") && l.includes(`(run ${t.runId})`)).length
  }
  expect(pendingIntents(state), context).toEqual([])
  if (batch.every((t) => t.restoredByRecover === 0)) expect(rec.stdout, context).toMatch(/nothing to recover/)
  if (checkIdempotence) {
    const again = await runCli(["recover", "--state-dir", state, "--config", config])
    expect(again.code, again.output).toBe(0)
    expect(again.stdout, again.output).toMatch(/nothing to recover: no compensation is pending/)
    for (const t of batch) if (t.world !== undefined) expectRestored(t.world, `trial ${t.index}, second recover`)
  }
}

/** A small deterministic generator, so a printed seed replays the torture's choices. */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** Bad ledgers a state dir may also hold: recover reports each (exit 5) and still restores the rest. */
const strays = {
  "null line": (h: string, i: string) => `${h}null\n${i}`,
  "null compensation": (h: string) => `${h}${JSON.stringify({ v: 1, type: "intent", seq: 1, fault: "f", target: "t", compensation: null, at: "2025-01-01T00:00:00.000Z" })}\n`,
  garbage: () => "these are not the records you are looking for\n",
  binary: () => "\u0000\u00ff\u0001binary\n\u0002",
  "torn middle": (h: string, i: string) => `${h}{"v":1,"type":"appl\n${i}`,
} as const
type Stray = keyof typeof strays

/** Writes a bad ledger owing the restore of a sentinel file, which must never be replayed. */
const addStray = (state: string, kind: Stray) => {
  const dir = tempDir("shiftup-stray-")
  const sentinel = join(dir, "sentinel.txt")
  writeFileSync(sentinel, "TAMPERED")
  const dead = spawnSyncPid()
  const h = `${JSON.stringify({ v: 1, type: "run", runId: `stray-${kind.replace(/ /g, "-")}`, experiment: "stray", pid: dead, at: "2025-01-01T00:00:00.000Z" })}\n`
  const i = `${JSON.stringify({ v: 1, type: "intent", seq: 1, fault: "stray", target: "t", module: "shiftup", compensation: { kind: "file.restore", description: "stray", target: "t", path: sentinel, content: Buffer.from("ORIGINAL").toString("base64") }, at: "2025-01-01T00:00:00.000Z" })}\n`
  const path = join(state, "ledger", `zz-stray-${kind.replace(/ /g, "-")}.jsonl`)
  writeFileSync(path, strays[kind](h, i), { mode: 0o600 })
  return { path, sentinel }
}
const spawnSyncPid = () => spawnSync(process.execPath, ["-e", ""]).pid

/** The torn start of a record the runner might have been appending when it died. */
const tornTail = (records: ReadonlyArray<{ readonly type: string; readonly seq?: number }>, pick: () => number) => {
  const done = new Set(records.filter((r) => r.type === "rolled-back").map((r) => r.seq))
  const open = records.filter((r) => r.type === "intent" && !done.has(r.seq))
  const seq = open[Math.floor(pick() * open.length)]?.seq
  const full = seq === undefined ? JSON.stringify({ v: 1, type: "end", status: "finished", at: new Date().toISOString() }) : JSON.stringify({ v: 1, type: pick() < 0.5 ? "rolled-back" : "applied", seq, by: "runner", at: new Date().toISOString() })
  return full.slice(0, 1 + Math.floor(pick() * (full.length - 2)))
}

/** For each ledger, how many `rolled-back` records each seq has: more than one is a double replay. */
const doubleReplays = (state: string): ReadonlyArray<string> =>
  ledgerFiles(state).flatMap((f) => {
    const counts = new Map<unknown, number>()
    // (A stray bad ledger may hold a `null` line.)
    for (const r of readLedger(f)) if (r !== null && r.type === "rolled-back") counts.set(r.seq, (counts.get(r.seq) ?? 0) + 1)
    return [...counts].filter(([, n]) => n > 1).map(([seq, n]) => `${f} seq ${String(seq)}: ${n} rolled-back records`)
  })

interface Torture {
  readonly seed: number
  readonly trials: ReadonlyArray<Trial & { torn?: boolean }>
  readonly batches: Array<{ stray: Stray | undefined; race: boolean; codes?: ReadonlyArray<number | null> }>
}

/**
 * One batch of the seeded torture: kill the batch's runners at their points, maybe tear the last
 * line of some ledgers (a crash mid-append), maybe add a bad ledger, then recover — with one
 * `recover`, or two racing. The world must equal its snapshot, nothing may stay pending, no undo
 * may be replayed twice, and the bad ledger must be reported (exit 5) and not replayed.
 */
const tortureBatch = async (batch: ReadonlyArray<Trial & { torn?: boolean }>, plan: Torture["batches"][number], pick: () => number, seed: number) => {
  const state = tempDir("shiftup-torture-")
  await Promise.all(batch.map((t) => killTrial(t, state)))
  for (const t of batch) {
    const ledger = t.runId === undefined ? undefined : join(state, "ledger", `${t.runId}.jsonl`)
    if (t.torn !== true || ledger === undefined || !existsSync(ledger)) continue
    const text = readFileSync(ledger, "utf8")
    // A torn line only ever ends a ledger: tear one that ends cleanly.
    if (text.endsWith("\n")) appendFileSync(ledger, tornTail(readLedger(ledger), pick))
    else t.torn = false
  }
  const stray = plan.stray === undefined ? undefined : addStray(state, plan.stray)
  const args = ["recover", "--state-dir", state, "--config", config]
  const recovers = plan.race ? await Promise.all([runCli(args), runCli(args)]) : [await runCli(args)]
  plan.codes = recovers.map((r) => r.code)
  const context = `seed ${seed} (replay with SHIFTUP_TORTURE_SEED=${seed}), batch ${JSON.stringify({ stray: plan.stray, race: plan.race })}\n${batch.map((t) => `${describeTrial(t)}${t.torn === true ? ", torn last line" : ""}`).join("\n")}\n${recovers.map((r, i) => `recover ${i + 1}:\n${r.output}`).join("\n")}`
  for (const r of recovers) {
    expect(r.code, context).toBe(stray === undefined ? 0 : 5)
    if (stray !== undefined) expect(r.stderr, context).toContain(`NOT RECOVERED: ledger ${stray.path}`)
  }
  for (const t of batch) if (t.world !== undefined) expectRestored(t.world, `trial ${t.index}\n${context}`)
  expect(doubleReplays(state), context).toEqual([])
  if (stray !== undefined) {
    expect(readFileSync(stray.sentinel, "utf8"), `the bad ledger was replayed\n${context}`).toBe("TAMPERED")
    rmSync(stray.path)
  }
  expect(pendingIntents(state), context).toEqual([])
  for (const t of batch) t.restoredByRecover = t.runId === undefined ? 0 : recovers.flatMap((r) => r.stdout.split("\n")).filter((l) => l.startsWith("restored ") && l.includes(`(run ${t.runId})`)).length
}

describe("crash recovery: SIGKILL at any point, then `shiftup recover`", () => {
  it("restores every file byte for byte after a SIGKILL before, during and after the injections", async () => {
    const trials: Array<Trial> = Array.from({ length: 22 }, (_, index) => ({
      index,
      // Every ledger position once (0 = before the ledger exists: startup), then in the middle
      // of each injection, seen from the files themselves.
      when: index <= recordsOfCompleteRun ? { records: index } : { damaged: (index - recordsOfCompleteRun - 1) % 4 },
      extraDelayMs: Math.floor(Math.random() * 30),
    }))
    // Batches of 7–8 runners at once: positions spread over the batches so each mixes phases.
    const batches = [0, 1, 2].map((b) => trials.filter((t) => t.index % 3 === b))
    for (const [i, batch] of batches.entries()) await runBatch(batch, i === 0)
    const summary = trials.map(describeTrial).join("\n")
    // The trials really covered the phases: some killed before any intent, many with faults in
    // place (so recover had work to do), some during or after the runner's own rollback.
    expect(trials.filter((t) => (t.recordsAtKill ?? 0) <= 1).length, summary).toBeGreaterThanOrEqual(1)
    expect(trials.filter((t) => (t.damagedBeforeRecover ?? 0) > 0).length, summary).toBeGreaterThanOrEqual(6)
    expect(trials.filter((t) => (t.restoredByRecover ?? 0) > 0).length, summary).toBeGreaterThanOrEqual(6)
    expect(trials.filter((t) => t.lastRecordAtKill === "rolled-back").length, summary).toBeGreaterThanOrEqual(1)
    expect(trials.filter((t) => t.lastRecordAtKill === "intent" && (t.damagedBeforeRecover ?? 0) > 0).length, summary).toBeGreaterThanOrEqual(1)
    // About 20–40 s on an idle two-core machine; the margin is for CI boxes under load.
  }, 180_000)

  it("seeded torture: random kill points, torn last lines, bad ledgers beside good ones, two recovers racing", async () => {
    const seed = Number(process.env["SHIFTUP_TORTURE_SEED"] ?? Date.now() % 1_000_000)
    const count = Number(process.env["SHIFTUP_TORTURE_TRIALS"] ?? 56)
    console.log(`crash torture seed ${seed} (replay: SHIFTUP_TORTURE_SEED=${seed}), ${count} trials`)
    const pick = rng(seed)
    const kinds = Object.keys(strays) as Array<Stray>
    const torture: Torture = {
      seed,
      trials: Array.from({ length: count }, (_, index) => ({
        index,
        when: pick() < 0.75 ? { records: Math.floor(pick() * (recordsOfCompleteRun + 1)) } : { damaged: Math.floor(pick() * 4) },
        extraDelayMs: Math.floor(pick() * 30),
        torn: pick() < 0.35,
      })),
      batches: [],
    }
    const size = 8
    for (let b = 0; b * size < count; b++) {
      const plan = { stray: pick() < 0.4 ? kinds[Math.floor(pick() * kinds.length)] : undefined, race: pick() < 0.5 }
      torture.batches.push(plan)
      await tortureBatch(torture.trials.slice(b * size, (b + 1) * size), plan, pick, seed)
    }
    const summary = `seed ${seed}\n${torture.trials.map((t) => `${describeTrial(t)}${t.torn === true ? ", torn last line" : ""}`).join("\n")}\nbatches: ${JSON.stringify(torture.batches)}`
    console.log(summary)
    // The torture reached what it is for: faults in place at the kill, torn ledgers replayed,
    // bad ledgers among good ones, and recovers racing.
    expect(torture.trials.filter((t) => (t.damagedBeforeRecover ?? 0) > 0).length, summary).toBeGreaterThanOrEqual(Math.floor(count / 5))
    expect(torture.trials.filter((t) => t.torn === true).length, summary).toBeGreaterThanOrEqual(Math.floor(count / 8))
    if (count >= 40) {
      expect(torture.batches.some((b) => b.stray !== undefined), summary).toBe(true)
      expect(torture.batches.some((b) => b.race), summary).toBe(true)
    }
  }, 900_000)

  it("removes the temp file of a restore the SIGKILL cut between its write and its rename", async () => {
    // The window is a few microseconds wide, so random kills rarely land in it: kill the runner
    // mid-rollback, then leave exactly what a kill inside that window leaves — the runner's
    // `<file>.shiftup-restore-<pid>` holding part of the original — next to a still-damaged file.
    const w = makeWorld()
    const state = tempDir("shiftup-state-")
    const child = spawnCli(["run", experiment, "--state-dir", state, "--config", config], { env: envFor(w) })
    await waitFor("the rollback under way", () => ledgerRecords(state).some((r) => r.type === "rolled-back"), { everyMs: 2, proc: child })
    child.child.kill("SIGKILL")
    await child.exited
    // The rollback goes newest first (absent.txt, empty.cfg, blob.bin, state.json), 30 ms each.
    const next = damaged(w).find((name) => w.originals.get(name) !== null)
    expect(next, "a file with contents was still to be restored when the runner died").toBeDefined()
    const original = w.originals.get(next ?? "") ?? Buffer.alloc(0)
    writeFileSync(join(w.dir, `${next}.shiftup-restore-${child.pid}`), original.subarray(0, Math.floor(original.length / 2)))

    const rec = await runCli(["recover", "--state-dir", state, "--config", config])
    expect(rec.code, rec.output).toBe(0)
    expectRestored(w, rec.output)
  })

  it("leaves a ledger whose runner is alive alone, unless --force", async () => {
    const w = makeWorld()
    const state = tempDir("shiftup-state-")
    const runner = spawnCli(["run", experiment, "--state-dir", state], { env: envFor(w, 30_000, "file.restore") })
    await waitFor("every fault applied", () => ledgerRecords(state).filter((r) => r.type === "applied").length === 4, { proc: runner })
    expect(damaged(w).length).toBe(4)

    const polite = await runCli(["recover", "--state-dir", state])
    expect(polite.code, "faults of a live run are still in place: exit 5, not all clear").toBe(5)
    expect(polite.stdout).toMatch(new RegExp(`skipped .*still running \\(pid ${runner.pid}\\).*--force`))
    expect(damaged(w).length, "recover without --force must not touch a live run's faults").toBe(4)
    expect(pendingIntents(state).length).toBe(4)

    const forced = await runCli(["recover", "--state-dir", state, "--force"])
    expect(forced.code, forced.output).toBe(0)
    expect((forced.stdout.match(/^restored /gm) ?? []).length, forced.output).toBe(4)
    expectRestored(w, forced.output)
    expect(pendingIntents(state)).toEqual([])

    // The runner is still holding its faults; stop it the hard way and check nothing is owed.
    runner.child.kill("SIGKILL")
    await finish(runner, 10_000)
    const after = await runCli(["recover", "--state-dir", state])
    expect(after.code, after.output).toBe(0)
    expect(after.stdout).toMatch(/nothing to recover/)
    expectRestored(w, after.output)
  }, 120_000)
})

describe("a compensator from the run's config, after a SIGKILL: recover and the watchdog load it from the ledger", () => {
  const start = (state: string, watchdog: boolean) => {
    const dir = tempDir("shiftup-world-")
    writeFileSync(join(dir, "state.txt"), "ORIGINAL")
    const args = ["run", fixture("custom-rollback.ts"), "--config", fixture("rollback.config.ts"), "--state-dir", state, ...(watchdog ? ["--watchdog"] : [])]
    const child = spawnCli(args, { env: { SHIFTUP_FIXTURE_DIR: dir, SHIFTUP_FIXTURE_KIND: "fixture.slow", SHIFTUP_FIXTURE_ROLLBACK_MS: "50" } })
    return { dir, child }
  }
  const killApplied = async (state: string, child: ReturnType<typeof spawnCli>) => {
    await waitFor("the fault applied", () => ledgerRecords(state).some((r) => r.type === "applied"), { proc: child })
    child.child.kill("SIGKILL")
    await child.exited
  }

  it("the watchdog, started without the config, replays the config's compensator, and reports a ledger it cannot read", async () => {
    const state = tempDir("shiftup-state-")
    // Not this runner's, or was it? The watchdog cannot tell, so it must say so.
    mkdirSync(join(state, "ledger"), { recursive: true, mode: 0o700 })
    writeFileSync(join(state, "ledger", "unreadable.jsonl"), "not a ledger\n", { mode: 0o600 })
    const { dir, child } = start(state, true)
    await killApplied(state, child)
    expect(readFileSync(join(dir, "state.txt"), "utf8")).toBe("INJECTED")
    const report = join(state, "watchdog", `${child.pid}.json`)
    await waitFor("the watchdog's report", () => existsSync(report), { timeoutMs: 30_000 })
    const r = JSON.parse(readFileSync(report, "utf8")) as { items: ReadonlyArray<{ outcome: string; error?: string }>; bad: ReadonlyArray<unknown> }
    expect(r.items.map((i) => i.outcome), JSON.stringify(r)).toEqual(["restored"])
    expect(r.bad).toEqual([{ ledger: join(state, "ledger", "unreadable.jsonl"), line: 1, error: expect.stringContaining("line 1: not JSON") }])
    expect(readFileSync(join(state, "watchdog", `${child.pid}.log`), "utf8")).toMatch(/NOT RECOVERED ledger .*unreadable\.jsonl line 1/)
    expect(readFileSync(join(dir, "state.txt"), "utf8")).toBe("ORIGINAL")
    expect(existsSync(join(dir, "markers", "rollback-done"))).toBe(true)
    expect(ledgerRecords(state).filter((x) => x.type === "rolled-back").map((x) => x["by"])).toEqual(["watchdog"])
    expect(pendingIntents(state)).toEqual([])
  }, 90_000)

  it("recover without --config replays it (the ledger names the config file)", async () => {
    const state = tempDir("shiftup-state-")
    const { dir, child } = start(state, false)
    await killApplied(state, child)
    expect(ledgerRecords(state).find((x) => x.type === "intent")?.["module"]).toBe(fixture("rollback.config.ts"))
    const rec = await runCli(["recover", "--state-dir", state])
    expect(rec.code, rec.output).toBe(0)
    expect(rec.stdout).toMatch(/^restored overwrite-state on fixture-state/m)
    expect(readFileSync(join(dir, "state.txt"), "utf8")).toBe("ORIGINAL")
    expect(pendingIntents(state)).toEqual([])
  }, 90_000)
})
