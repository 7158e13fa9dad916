/**
 * Property-based chaos against the demo lab, whose gateway has a planted ORDERING bug: it fails
 * open only when auth recovers while its session cache is still down. No single fault shows it.
 * From a catalogue of four faults, fast-check must find it, shrink it to the two faults that cause
 * it (auth down or erroring, and the cache down, auth ending first), replay it from the printed
 * line, and pass once the bug is fixed. Every schedule is a real run: the ledgers must end clean
 * and the lab at its baseline. Seeds are fixed so a failure here is reproducible.
 */
import { Effect } from "effect"
import { Expect, Experiment, Fault, Property, run } from "shiftup"
import { DemoLab, labResource } from "shiftup/testing"
import { describe, expect, it } from "vitest"
import { gatewayOrdering } from "../../experiments/property/gateway.ordering.ts"
import { journals, pendingIntents, repoRoot, runCli, tempDir, useProcessCleanup } from "../support/proc-cli.ts"
import { freeBasePort as freeBase, labForThisFile } from "../support/proc-lab.ts"

useProcessCleanup()
const lab = labForThisFile()

/** Bigger means more faults, then longer in total, then later. */
const size = (s: Property.Schedule) => [s.length, s.reduce((t, x) => t + x.durationMs, 0), s.reduce((t, x) => t + x.startMs, 0)] as const
const smaller = (a: Property.Schedule, b: Property.Schedule) => {
  const [x, y] = [size(a), size(b)]
  return x[0] < y[0] || (x[0] === y[0] && (x[1] < y[1] || (x[1] === y[1] && x[2] < y[2])))
}

/** The ordering bug's shape: an auth outage and the cache outage, overlapping, auth back no later than the cache. */
const isOrderingBug = (s: Property.Schedule) => {
  const authOut = s.find((x) => x.fault === "auth-down" || x.fault === "auth-error")
  const cache = s.find((x) => x.fault === "cache-down")
  return s.length === 2 && authOut !== undefined && cache !== undefined && authOut.startMs + authOut.durationMs <= cache.startMs + cache.durationMs && authOut.startMs + authOut.durationMs > cache.startMs
}

describe("Property.check against the running demo lab", () => {
  it("finds the planted ordering bug, shrinks it to the 2-fault schedule, and leaves the lab at its baseline", async () => {
    const state = tempDir("shiftup-state-")
    const seen: Array<Property.RunInfo> = []
    const r = await Property.check(gatewayOrdering("running"), { seed: 7, run: { stateDir: state }, onRun: (i) => seen.push(i) })
    expect(r.status, Property.describe(r)).toBe("counterexample")
    expect(r.minimal !== undefined && isOrderingBug(r.minimal), Property.show(r.minimal ?? [])).toBe(true)
    // Shrinking is real: strictly smaller than the first failing schedule, and each shrink step a real run.
    expect(r.first).toBeDefined()
    expect(smaller(r.minimal ?? [], r.first ?? []), `${Property.show(r.first ?? [])} → ${Property.show(r.minimal ?? [])}`).toBe(true)
    expect(r.shrinkRuns).toBeGreaterThan(0)
    expect(seen.filter((i) => i.stage === "shrink").length).toBe(r.shrinkRuns)
    expect(r.journal?.findings.map((f) => f.phase)).toEqual(["method"])
    expect(r.replay).toMatch(/^--replay 7:\d+(:\d+)*$/)
    // Every run was a run: one journal each, and nothing left pending or unrestored.
    expect(journals(state).length).toBe(r.runs)
    expect(pendingIntents(state)).toEqual([])
    expect(journals(state).flatMap((j) => j.rollbacks.filter((b) => b.outcome !== "restored"))).toEqual([])
    expect([lab().authMode(), lab().cacheMode(), lab().alertsMode()]).toEqual(["ok", "ok", "ok"])
    // Faults and pairs were exercised, and the coverage says which.
    expect(Object.keys(r.coverage.faults).length).toBeGreaterThanOrEqual(3)
    expect(Object.keys(r.coverage.pairs)).toContain("auth-down + cache-down")

    // The replay reruns exactly the minimal schedule, once.
    const replayed = await Property.check(gatewayOrdering("running"), { replay: Property.parseReplay(r.replay?.replace("--replay ", "") ?? "") ?? { seed: 0, path: "" }, run: { stateDir: state } })
    expect(replayed.status).toBe("counterexample")
    expect(replayed.runs).toBe(1)
    expect(replayed.minimal).toEqual(r.minimal)
  }, 120_000)

  it("ctx.remove rolls back one fault mid-method and keeps the others; removing it twice aborts the run (rolled back) with an error saying so", async () => {
    const state = tempDir("shiftup-state-")
    const { gateway, auth, cache } = DemoLab.targets()
    const authDown = DemoLab.authFault("down")
    const cacheDown = DemoLab.serviceFault("cache")
    const modes: Array<string> = []
    const look = Effect.sync(() => modes.push(`${lab().authMode()}/${lab().cacheMode()}`))
    const e = Experiment.gen({ id: "property.remove", title: "remove one fault", targets: { gateway, auth, cache }, mayInject: { auth: "disrupt", cache: "disrupt" } }, function* (ctx) {
      yield* ctx.inject(authDown)
      yield* ctx.inject(cacheDown)
      yield* look
      yield* ctx.remove(authDown)
      yield* look
      yield* ctx.remove(authDown)
    })
    const j = await run(e, { stateDir: state })
    expect(modes).toEqual(["down/down", "ok/down"])
    expect([j.status, j.abort?.cause]).toEqual(["aborted", "error"])
    expect(j.errors.map((x) => x.message).join("\n")).toMatch(/"auth-down" is not active in this run/)
    expect(j.rollbacks.map((b) => [b.fault, b.outcome])).toEqual([["auth-down", "restored"], ["cache-down", "restored"]])
    expect(pendingIntents(state)).toEqual([])
    expect([lab().authMode(), lab().cacheMode()]).toEqual(["ok", "ok"])
  })
})

describe("Property.check with a lab per schedule", () => {
  it("passes within its run cap once the ordering bug is fixed", async () => {
    const base = await freeBase()
    const previous = process.env["SHIFTUP_LAB_PORT"]
    process.env["SHIFTUP_LAB_PORT"] = String(base)
    try {
      const state = tempDir("shiftup-state-")
      const r = await Property.check(gatewayOrdering({ orderingBug: false }), { seed: 7, runs: 25, run: { stateDir: state } })
      expect(r.status, Property.describe(r)).toBe("passed")
      expect(r.runs).toBe(25)
      expect(pendingIntents(state)).toEqual([])
    } finally {
      process.env["SHIFTUP_LAB_PORT"] = previous
    }
  }, 120_000)

  it("a run that does not return to the baseline stops the property: a finding about the system, not a counterexample", async () => {
    const base = await freeBase()
    const previous = process.env["SHIFTUP_LAB_PORT"]
    process.env["SHIFTUP_LAB_PORT"] = String(base)
    try {
      const { gateway, auth } = DemoLab.targets()
      const anonymous = DemoLab.adminStatus("anonymous")
      // A rollback that "restores" auth into another broken mode: the baseline is gone after it.
      const sticky = Fault.httpSwitch(auth, { id: "auth-sticky", url: `http://127.0.0.1:${base + 3}/faults`, on: JSON.stringify({ auth: "down" }), off: JSON.stringify({ auth: "error" }) })
      const p = Property.make({
        id: "property.baseline-lost",
        title: "a fault whose rollback leaves auth erroring",
        targets: { gateway, auth },
        resources: { lab: labResource() },
        faults: { sticky },
        hypothesis: [Expect.that(anonymous, Expect.oneOf(401, 403))],
        invariants: [Expect.that(anonymous, Expect.oneOf(401, 403, 503))],
        runs: 10,
      })
      const r = await Property.check(p, { seed: 1, run: { stateDir: tempDir("shiftup-state-") } })
      expect(r.status).toBe("stopped")
      expect(r.runs).toBe(1)
      expect(r.stoppedBy?.reason).toMatch(/did not return to its baseline after the rollback/)
      expect(r.minimal).toBeUndefined()
    } finally {
      process.env["SHIFTUP_LAB_PORT"] = previous
    }
  })
})

describe("`shiftup run` of a property file", () => {
  it("prints progress, the minimal schedule and a replay line that reproduces it (exit 1)", async () => {
    const base = await freeBase()
    const state = tempDir("shiftup-state-")
    const file = `${repoRoot}experiments/property/gateway.ordering.ts`
    const env = { SHIFTUP_LAB_PORT: String(base) }
    const r = await runCli(["run", file, "--seed", "7", "--state-dir", state], { env, timeoutMs: 100_000 })
    expect(r.code, r.output).toBe(1)
    expect(r.stdout).toMatch(/^ {2}\s*1 search [✓✗!] /m)
    expect(r.stdout).toMatch(/COUNTEREXAMPLE after \d+ run\(s\) \(\d+ shrink run\(s\)/)
    const minimal = /minimal: +(.+?) {2}\(run/.exec(r.stdout)?.[1]
    expect(minimal, r.stdout).toMatch(/^(auth-down|auth-error)@\d+\+\d+ms, cache-down@\d+\+\d+ms$|^cache-down@\d+\+\d+ms, (auth-down|auth-error)@\d+\+\d+ms$/)
    const replay = /replay: npx shiftup run (\S+) (--replay \S+)/.exec(r.stdout)
    expect(replay, r.stdout).not.toBeNull()
    const again = await runCli(["run", file, ...(replay?.[2] ?? "").split(" "), "--state-dir", state], { env, timeoutMs: 60_000 })
    expect(again.code, again.output).toBe(1)
    expect(again.stdout).toContain(`minimal:       ${minimal}`)
    expect(again.stdout).toMatch(/COUNTEREXAMPLE after 1 run\(s\)/)
    expect(pendingIntents(state)).toEqual([])
  }, 150_000)

  it("a bad --replay is invalid input (exit 4) that says what to give", async () => {
    const r = await runCli(["run", `${repoRoot}experiments/property/gateway.ordering.ts`, "--replay", "yesterday"], { timeoutMs: 30_000 })
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/--replay yesterday: expected <seed>:<path>/)
  })
})
