import { Effect, Exit } from "effect"
import { describe, expect, expectTypeOf, it } from "vitest"
import { BudgetExceeded, InjectionFailed, isShiftupError, ProbeFailed, TargetRefused, type ShiftupError } from "shiftup"
import { LedgerError, LoadFailed } from "shiftup/advanced"
import { describeUnknown, EgressDenied, fail, formatIssues } from "../../src/ShiftupError.ts"
import type * as Family from "../../src/ShiftupError.ts"
import { reasonClasses, samples } from "../support/reasons.ts"

const messages: Readonly<Record<ShiftupError["_tag"], string>> = {
  TargetRefused: 'refused "pause" on target "db" by rule floor.production-data-store: production data store',
  BudgetExceeded: "budget rule budget.max-targets: too many targets (limit 2, requested 3); raise the experiment's budget or narrow the step",
  OutsideManifest: '"kill" on "db" is outside the experiment\'s manifest: not declared',
  EgressDenied: "egress to example.com (93.184.216.34) is not allowed; allowed: 127.0.0.0/8, ::1/128. Add it to inventory.egress if this destination is really part of what you observe",
  ProbeFailed: 'probe "status" on "api" failed: ECONNREFUSED',
  InjectionFailed: 'fault "down" on "auth" could not be injected: boom (its compensation was ledgered first and is replayed by the rollback)',
  RollbackFailed: 'rollback of "down" on "auth" failed: timeout; run `shiftup recover` and check the target by hand',
  CredentialsRefused: 'rollback of "data.redis.flushdb" on "cache" cannot succeed as it is: set CACHE_PASSWORD to the password of 127.0.0.1:6390: the server refused the one it holds (WRONGPASS). Nothing was restored; the ledger still holds the before-image: run `shiftup recover` again',
  RecoveryNotObserved: '"health" did not hold within 3000 ms; last observation: 503',
  InvalidExperiment: 'invalid experiment "x":\n  - title: empty\n  - (root): bad',
  InvalidConfig: "invalid config shiftup.config.ts:\n  - budget.maxTargets: negative",
  InvalidArguments: "unknown flag --x; see `shiftup --help`",
  LoadFailed: "cannot load e.ts: no default export",
  TargetUnresolved: 'target "auth" could not be resolved: no container',
  EngineUnavailable: "cannot reach the Docker engine at unix:///var/run/docker.sock: connect ENOENT /var/run/docker.sock. Start it (e.g. dockerd) or point DOCKER_HOST at a running one; nothing was injected",
  LedgerError: "ledger /l.jsonl line 3: EACCES",
  InvalidCompensation: 'ledger /l.jsonl, intent 2: the "file.restore" compensation does not match its kind\'s schema, so it is not replayed (check the ledger was not edited; undo this fault by hand):\n  - path: Expected a string',
  UnknownCompensation: 'no compensator registered for kind "docker.unpause"; load the adapter that defines it (config `compensators`)',
  ApprovalDeclined: 'approval for "overwrite-b" declined: nobody to ask (no terminal); everything injected so far is rolled back',
  ControlDirRefused: "game-day control directory /c (per-user default) is a symbolic link",
  InvalidInventoryFile: "osv/GHSA-1.json at affected[0].ranges[0].events[1]: an event holds exactly one key",
  FindingStoreError: "finding store .shiftup/watch.sqlite: no finding 3f2a in the store",
  UnmappedTarget: 'finding 3f2a: its production target api (https://api.example) is not mapped to a non-production target; add one to `feedback.map` in shiftup.config.ts, e.g. { production: "https://api.example", to: "http://127.0.0.1:8081" }',
}

const refused = new TargetRefused({ target: "db", step: "pause", rule: "floor.production-data-store", detail: "production data store" })

describe("ShiftupError: one family of tagged reasons", () => {
  it.each(samples.map((r) => [r._tag, r] as const))("%s: the message is derived from the fields", (_, reason) => {
    expect(reason.message).toBe(messages[reason._tag])
    expect(isShiftupError(reason)).toBe(true)
    expect(reason.name).toBe(reason._tag)
    // The mark of the family is no field: not in the JSON, not among the keys.
    expect(JSON.stringify(reason)).not.toContain("shiftup/ShiftupError")
    expect(Object.keys(reason).some((k) => k.includes("ShiftupError"))).toBe(false)
  })

  it("EgressDenied without a setting names the experiment's budget.egress", () => {
    expect(new EgressDenied({ host: "db", address: "10.0.0.5", allowed: ["127.0.0.0/8"] }).message).toBe(
      "egress to db (10.0.0.5) is not allowed; allowed: 127.0.0.0/8. Add it to budget.egress if this destination is really part of the experiment",
    )
  })

  it("the samples cover every reason the module exports, each with a distinct _tag", () => {
    expect(samples.map((r) => r._tag).sort()).toEqual([...reasonClasses().keys()].sort())
    expect(new Set(samples.map((r) => r._tag)).size).toBe(samples.length)
  })

  it("the ShiftupError type is exactly the union of the exported reason classes", () => {
    type Classes = { [K in keyof typeof Family]: (typeof Family)[K] extends abstract new (...args: never) => infer I ? I : never }[keyof typeof Family]
    expectTypeOf<Classes>().toEqualTypeOf<ShiftupError>()
  })

  it("Effect.catchTag handles one reason and leaves the others in the error channel", async () => {
    const program = (e: ShiftupError): Effect.Effect<string, ShiftupError> => Effect.fail(e)
    const handled = (e: ShiftupError) => program(e).pipe(Effect.catchTag("TargetRefused", (r) => Effect.succeed(`refused by ${r.rule}`)))
    expectTypeOf(handled).returns.toEqualTypeOf<Effect.Effect<string, Exclude<ShiftupError, TargetRefused>>>()
    expect(await Effect.runPromise(handled(refused))).toBe("refused by floor.production-data-store")
    const other = new ProbeFailed({ probe: "p", target: "t", detail: "d" })
    expect(await Effect.runPromise(Effect.flip(handled(other)))).toBe(other)
  })

  it("Effect.catchTags handles several reasons by tag", async () => {
    const program: Effect.Effect<number, TargetRefused | BudgetExceeded> = Effect.fail(new BudgetExceeded({ rule: "budget.max-targets", limit: 1, requested: 2, detail: "d" }))
    const handled = program.pipe(Effect.catchTags({ TargetRefused: () => Effect.succeed(1), BudgetExceeded: (b) => Effect.succeed(b.limit) }))
    expectTypeOf(handled).toEqualTypeOf<Effect.Effect<number>>()
    expect(await Effect.runPromise(handled)).toBe(1)
  })

  it("a reason is yieldable: yield* fails the Effect with it", async () => {
    const program = Effect.gen(function* () {
      yield* refused
      return "unreachable"
    })
    expectTypeOf(program).toEqualTypeOf<Effect.Effect<string, TargetRefused>>()
    const exit = await Effect.runPromiseExit(program)
    expect(exit).toStrictEqual(Exit.fail(refused))
  })

  it("isShiftupError tells the family from other errors with a similar shape", () => {
    expect(isShiftupError({ _tag: "TargetRefused", target: "db", step: "s", rule: "r", detail: "d" })).toBe(false)
    expect(isShiftupError(new Error("plain"))).toBe(false)
    expect(isShiftupError(undefined)).toBe(false)
  })

  it("fail returns the reason itself, typed as the family", () => {
    const e = fail(refused)
    expect(e).toBe(refused)
    expectTypeOf(e).toEqualTypeOf<ShiftupError>()
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
    expect(new LedgerError({ path: "/l.jsonl", detail: "EACCES" }).message).toBe("ledger /l.jsonl: EACCES")
    expect(new LedgerError({ path: "/l.jsonl", line: 3, detail: "it is null, not a ledger record", errno: "EIO" }).message).toBe("ledger /l.jsonl line 3: it is null, not a ledger record")
  })

  it("describeUnknown renders anything thrown on one line", () => {
    expect(describeUnknown(new Error("plain"))).toBe("plain")
    expect(describeUnknown(new TypeError("typed"))).toBe("TypeError: typed")
    expect(describeUnknown("text")).toBe("text")
    expect(describeUnknown({ a: 1 })).toBe('{"a":1}')
    expect(describeUnknown(undefined)).toBe("undefined")
    // A reason's message already says what it is.
    expect(describeUnknown(new LoadFailed({ file: "f", detail: "d" }))).toBe("cannot load f: d")
  })
})

