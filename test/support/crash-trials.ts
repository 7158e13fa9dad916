/**
 * Crash trials for data engines (invariants 2 and 5; issue 15's "SIGKILL at random ledger points
 * then `recover` → identical checksums"). One trial, from a seed:
 *
 * 1. draws a random fault sequence from the engine's fixture faults and a kill point: after the
 *    k-th intent is fsynced (its injection in flight), after the k-th injection, or during the
 *    rollback after the k-th compensation (the hold then ends at once);
 * 2. `engine.setup(seed)` makes fresh data; `engine.snapshot()` reads it with the test's own
 *    client, not shiftup's (the "before");
 * 3. spawns a real `shiftup run` of the engine's fixture, watches its ledger (no sleeps) and
 *    SIGKILLs it at the point; what was applied and not rolled back must show in the snapshot;
 * 4. `shiftup recover` in a fresh process (the state dir and the password variable, nothing else)
 *    must exit 0 and give back a snapshot equal to the before; no intent is left pending (read
 *    without the library); a second recover (in this process: `recover()`, the CLI's engine) has
 *    nothing to do;
 * 5. the password is in no file of the state dir and in no output.
 * Every run of a file targets the same member, so each run after the first must take over the
 * lease a SIGKILLed run left behind (checked on the lease files). The seed of each trial is in its
 * name and printed; `SHIFTUP_SEED=<n>` runs that one trial only.
 *
 * Adding an engine (MariaDB: about 40 lines):
 * - a fixture `test/fixtures/crash/<engine>.ts` (copy redis.ts): a lab target from
 *   `SHIFTUP_CRASH_URL` + `passwordEnv: SHIFTUP_CRASH_PASSWORD_ENV`, a record `all` of named faults
 *   (each must change what `snapshot` sees), the method `[...SHIFTUP_CRASH_FAULTS, Step.wait(HOLD)]`;
 * - a test file: start the server in `beforeAll`, then `crashTrials(() => ({ name, fixture, faults,
 *   setup, snapshot, password }), { trials })` — `setup(seed)` recreates the data (a schema or
 *   database of its own per seed is best) and returns the fixture's variables (`SHIFTUP_CRASH_URL`,
 *   `SHIFTUP_CRASH_PASSWORD_ENV`, anything else the fixture reads); `snapshot()` returns any value
 *   `toEqual` compares (sorted rows plus a schema dump); `order` puts a drawn sequence in an order
 *   the faults can be applied in, when there is such a constraint.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { incomplete, recover } from "../../src/Recover.ts"
import { ledgerFiles, type LedgerRecord, makeScope, pendingIntents, readLedger, runCli, type Scope, spawnCli, waitFor } from "./proc-cli.ts"

export interface CrashEngine {
  /** In test names and printed lines. */
  readonly name: string
  /** The experiment file (see above for what it reads). */
  readonly fixture: string
  /** The fault names the fixture knows, in an order they can be applied in. */
  readonly faults: ReadonlyArray<string>
  /** A drawn sequence (a subset of `faults`, in their order) made appliable; default as drawn. */
  readonly order?: (drawn: ReadonlyArray<string>) => ReadonlyArray<string>
  /** Fresh data for a trial; returns the fixture's environment variables. */
  readonly setup: (seed: number) => Promise<Readonly<Record<string, string>>>
  /** The data as the test's own client reads it: equal values, equal data. */
  readonly snapshot: () => Promise<unknown>
  /** The variable the target's `passwordEnv` names, and its value. */
  readonly password: { readonly env: string; readonly value: string }
}

export type KillPoint =
  | { readonly _tag: "intent"; readonly k: number }
  | { readonly _tag: "applied"; readonly k: number }
  | { readonly _tag: "rolled-back"; readonly k: number }

/** mulberry32: the whole trial follows from its seed. */
export const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** A non-empty random subset of `faults` (their order kept), and a point to kill the run at. */
export const draw = (engine: CrashEngine, seed: number): { readonly faults: ReadonlyArray<string>; readonly point: KillPoint } => {
  const pick = rng(seed)
  const subset = engine.faults.filter(() => pick() < 0.5)
  const drawn = subset.length > 0 ? subset : [engine.faults[Math.floor(pick() * engine.faults.length)] as string]
  const faults = engine.order?.(drawn) ?? drawn
  const n = faults.length
  const at = (max: number) => 1 + Math.floor(pick() * max)
  const r = pick()
  // Rolling back needs two faults for a point with one done and one still pending.
  const point: KillPoint = r < 0.4 ? { _tag: "intent", k: at(n) } : r < 0.75 || n < 2 ? { _tag: "applied", k: at(n) } : { _tag: "rolled-back", k: at(n - 1) }
  return { faults, point }
}

const count = (records: ReadonlyArray<LedgerRecord>, type: LedgerRecord["type"]) => records.filter((r) => r.type === type).length

/** Every file under `dir`, as text. */
const everything = (dir: string): string => {
  const out: Array<string> = []
  const walk = (d: string) => readdirSync(d).forEach((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : out.push(readFileSync(join(d, f), "utf8"))))
  walk(dir)
  return out.join("\n")
}

/** The pids holding a target lease (this test file's own home directory: isolate-user-dirs.ts). */
const leaseHolders = (): ReadonlyArray<number> => {
  const dir = join(homedir(), ".local", "state", "shiftup", "leases")
  let files: Array<string>
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".lease"))
  } catch {
    return []
  }
  return files.flatMap((f) => {
    try {
      return [(JSON.parse(readFileSync(join(dir, f), "utf8")) as { readonly pid: number }).pid]
    } catch {
      return []
    }
  })
}

/** One trial; returns the line that describes it (printed by the caller). */
export const trial = async (engine: CrashEngine, seed: number, keep: Scope, dead: { pid?: number }): Promise<string> => {
  const { faults, point } = draw(engine, seed)
  // Where a trial's time goes, printed with it: a slow phase is a finding of its own.
  let last = Date.now()
  const times: Array<string> = []
  const lap = (what: string) => {
    times.push(`${what} ${Date.now() - last} ms`)
    last = Date.now()
  }
  const env = await engine.setup(seed)
  const before = await engine.snapshot()
  lap("setup")
  // Kept to the end of the file: the next run takes this one's lease over by reading its ledger.
  const state = keep.tempDir(`shiftup-crash-${engine.name}-`)
  const secret = { [engine.password.env]: engine.password.value }
  const runner = spawnCli(["run", engine.fixture, "--state-dir", state], {
    env: { ...env, ...secret, SHIFTUP_CRASH_SEED: String(seed), SHIFTUP_CRASH_FAULTS: faults.join(","), SHIFTUP_CRASH_HOLD: point._tag === "rolled-back" ? "0" : "60000" },
  })
  // Polled every millisecond: parsed again only when the ledger grew.
  let seen = { size: -1, records: [] as ReadonlyArray<LedgerRecord> }
  const records = () => {
    const files = ledgerFiles(state)
    const size = files.reduce((n, f) => n + (statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0)
    if (size !== seen.size) seen = { size, records: files.flatMap(readLedger) }
    return seen.records
  }
  await waitFor(`${point._tag} ${point.k}`, () => count(records(), point._tag) >= point.k, { proc: runner, timeoutMs: 60_000, everyMs: 1 })
  runner.child.kill("SIGKILL")
  await runner.exited
  lap("run")
  const left = records()
  const context = `${engine.name} seed ${seed}: faults ${faults.join(",")}, kill after ${point._tag} ${point.k} (ledger: ${count(left, "intent")} intents, ${count(left, "applied")} applied, ${count(left, "rolled-back")} rolled back)`
  // Dead runs leave their lease; this run got past planning only by taking the last one over.
  if (dead.pid !== undefined) expect(leaseHolders(), `${context}: the dead run's lease was not taken over`).not.toContain(dead.pid)
  // A run killed mid-flight holds its lease; one whose every fault was already rolled back may
  // have finished and released it before the kill landed (kill points "rolled-back k" race the end).
  const mayHaveEnded = count(left, "rolled-back") >= count(left, "intent")
  if (!mayHaveEnded) expect(leaseHolders(), `${context}: the run held no lease`).toContain(runner.pid)
  dead.pid = runner.pid
  const done = new Set(left.filter((r) => r.type === "rolled-back").map((r) => r.seq))
  if (left.some((r) => r.type === "applied" && !done.has(r.seq))) expect(await engine.snapshot(), `${context}: a fault applied and not rolled back changed nothing`).not.toEqual(before)
  const rec = await runCli(["recover", "--state-dir", state], { env: secret })
  lap("recover")
  expect(rec.code, `${context}\n${rec.output}`).toBe(0)
  expect(await engine.snapshot(), `${context}\n${rec.output}`).toEqual(before)
  expect(pendingIntents(state), context).toEqual([])
  const again = await Effect.runPromise(recover({ stateDir: state }))
  expect(again.items.length === 0 && !incomplete(again), `${context}: a second recover had work: ${JSON.stringify(again)}`).toBe(true)
  for (const [what, text] of [["the state dir", everything(state)], ["the run's output", runner.output()], ["recover's output", rec.output]] as const)
    expect(text.includes(engine.password.value), `${context}: the password is in ${what}`).toBe(false)
  lap("checks")
  return `${context}; ${times.join(", ")}`
}

/**
 * `trials` tests, one per seed (seeds follow from one base, printed); `SHIFTUP_SEED=<n>` runs
 * the trial of seed n only. The engine is a thunk: its server starts in the file's `beforeAll`.
 */
export const crashTrials = (engine: () => CrashEngine, options: { readonly trials: number; readonly name: string }): void => {
  const given = process.env["SHIFTUP_SEED"]
  const base = Number(given ?? Date.now() % 100_000)
  const seeds = given === undefined ? Array.from({ length: options.trials }, (_, i) => base + i) : [base]
  const dead: { pid?: number } = {}
  const keep = makeScope()
  afterAll(() => keep.cleanup())
  describe(`SIGKILL of a real \`shiftup run\` holding ${options.name} data faults at a random ledger point, then \`shiftup recover\``, () => {
    for (const seed of seeds)
      it(`restores the data exactly (seed ${seed}; SHIFTUP_SEED=${seed} replays it)`, async () => {
        console.log(await trial(engine(), seed, keep, dead))
      }, 120_000)
  })
}
