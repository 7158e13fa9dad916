import { describe, expect, it } from "vitest"
import {
  BudgetExceeded, ControlDirRefused, describeUnknown, EgressDenied, fail, formatIssues, InjectionFailed, InvalidArguments, InvalidCompensation, InvalidConfig, InvalidExperiment, LedgerError, LoadFailed, OutsideManifest, ProbeFailed,
  RecoveryNotObserved, RollbackFailed, ShiftupError, TargetRefused, TargetUnresolved, UnknownCompensation, type Reason,
} from "shiftup"

describe("ShiftupError", () => {
  const cases: ReadonlyArray<readonly [Reason, string]> = [
    [new TargetRefused({ target: "db", step: "pause", rule: "floor.production-data-store", detail: "production data store" }), 'refused "pause" on target "db" by rule floor.production-data-store: production data store'],
    [new BudgetExceeded({ rule: "budget.max-targets", limit: 2, requested: 3, detail: "too many targets" }), "budget rule budget.max-targets: too many targets (limit 2, requested 3); raise the experiment's budget or narrow the step"],
    [new OutsideManifest({ step: "kill", target: "db", detail: "not declared" }), '"kill" on "db" is outside the experiment\'s manifest: not declared'],
    [new EgressDenied({ host: "example.com", address: "93.184.216.34", allowed: ["127.0.0.0/8", "::1/128"] }), "egress to example.com (93.184.216.34) is not allowed; allowed: 127.0.0.0/8, ::1/128. Add it to budget.egress if this destination is really part of the experiment"],
    [new ProbeFailed({ probe: "status", target: "api", detail: "ECONNREFUSED" }), 'probe "status" on "api" failed: ECONNREFUSED'],
    [new InjectionFailed({ fault: "down", target: "auth", detail: "boom", compensation: "ledgered" }), 'fault "down" on "auth" could not be injected: boom (its compensation was ledgered first and is replayed by the rollback)'],
    [new RollbackFailed({ fault: "down", target: "auth", detail: "timeout" }), 'rollback of "down" on "auth" failed: timeout; run `shiftup recover` and check the target by hand'],
    [new RecoveryNotObserved({ check: "health", withinMs: 3000, last: "503" }), '"health" did not hold within 3000 ms; last observation: 503'],
    [new InvalidExperiment({ source: '"x"', issues: [{ path: "title", message: "empty" }, { path: "", message: "bad" }] }), 'invalid experiment "x":\n  - title: empty\n  - (root): bad'],
    [new InvalidConfig({ source: "shiftup.config.ts", issues: [{ path: "budget.maxTargets", message: "negative" }] }), "invalid config shiftup.config.ts:\n  - budget.maxTargets: negative"],
    [new InvalidArguments({ detail: "unknown flag --x" }), "unknown flag --x; see `shiftup --help`"],
    [new LoadFailed({ file: "e.ts", detail: "no default export" }), "cannot load e.ts: no default export"],
    [new TargetUnresolved({ target: "auth", detail: "no container" }), 'target "auth" could not be resolved: no container'],
    [new LedgerError({ path: "/l.jsonl", detail: "EACCES" }), "ledger /l.jsonl: EACCES"],
    [new InvalidCompensation({ path: "/l.jsonl", seq: 2, kind: "file.restore", issues: [{ path: "path", message: "Expected a string" }] }), 'ledger /l.jsonl, intent 2: the "file.restore" compensation does not match its kind\'s schema, so it is not replayed (check the ledger was not edited; undo this fault by hand):\n  - path: Expected a string'],
    [new UnknownCompensation({ kind: "docker.unpause" }), 'no compensator registered for kind "docker.unpause"; load the adapter that defines it (config `compensators`)'],
    [new ControlDirRefused({ path: "/c", source: "per-user default", detail: "is a symbolic link" }), "game-day control directory /c (per-user default) is a symbolic link"],
  ]

  it.each(cases)("%s: the message is derived from the fields", (reason, message) => {
    expect(reason.message).toBe(message)
    const e = fail(reason)
    expect(e).toBeInstanceOf(ShiftupError)
    expect(e._tag).toBe("ShiftupError")
    expect(e.reason).toBe(reason)
    expect(e.message).toBe(message)
  })

  it("every reason has a distinct _tag", () => {
    expect(new Set(cases.map(([r]) => r._tag)).size).toBe(cases.length)
  })

  it("formatIssues renders the root path readably", () => {
    expect(formatIssues([{ path: "", message: "m" }, { path: "a.b[0]", message: "n" }])).toBe("  - (root): m\n  - a.b[0]: n")
  })

  it("InjectionFailed says what became of the compensation only when it is known", () => {
    const base = { fault: "down", target: "auth", detail: "boom" }
    expect(new InjectionFailed({ ...base, compensation: "none" }).message).toBe('fault "down" on "auth" could not be injected: boom (nothing was ledgered or touched, so there is nothing to undo)')
    expect(new InjectionFailed(base).message).toBe('fault "down" on "auth" could not be injected: boom')
    expect(new InjectionFailed(base).message).not.toContain("compensation was still run")
  })

  it("LedgerError names the line when there is one", () => {
    expect(new LedgerError({ path: "/l.jsonl", line: 3, detail: "it is null, not a ledger record", errno: "EIO" }).message).toBe("ledger /l.jsonl line 3: it is null, not a ledger record")
  })

  it("describeUnknown renders anything thrown on one line", () => {
    expect(describeUnknown(new Error("plain"))).toBe("plain")
    expect(describeUnknown(new TypeError("typed"))).toBe("TypeError: typed")
    expect(describeUnknown("text")).toBe("text")
    expect(describeUnknown({ a: 1 })).toBe('{"a":1}')
    expect(describeUnknown(undefined)).toBe("undefined")
    // A ShiftupError's message already says what it is.
    expect(describeUnknown(fail(new LoadFailed({ file: "f", detail: "d" })))).toBe("cannot load f: d")
  })
})
