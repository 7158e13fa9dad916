import { describe, expect, it } from "vitest"
import { Expect, Experiment, Fault, isShiftupError, Probe, type ShiftupError, Step, Target } from "shiftup"
import type { Issue } from "shiftup/advanced"

const lab = Target.make("lab", { environment: "lab" })
const other = Target.make("other", { environment: "lab" })
const fault = (id: string, target = lab) => Fault.make({ id, target, compensation: { kind: "k", description: "d" }, inject: () => {} })
const probe = (target = lab) => Probe.make({ id: `look at ${target.id}`, target, observe: () => 1 })

/** The issues of the `InvalidExperiment` a builder throws. */
const issuesOf = (build: () => unknown): ReadonlyArray<Issue> => {
  try {
    build()
  } catch (e) {
    expect(isShiftupError(e)).toBe(true)
    const reason = e as ShiftupError
    if (reason._tag !== "InvalidExperiment") return expect.fail(`expected InvalidExperiment, got ${reason._tag}`)
    return reason.issues
  }
  return expect.fail("the builder did not throw")
}

const paths = (issues: ReadonlyArray<Issue>) => issues.map((i) => i.path)

describe("Experiment.make", () => {
  it("builds a valid experiment with documented defaults", () => {
    const e = Experiment.make({ id: "gateway.fails-closed.auth-down", title: "t", targets: { lab }, method: [fault("a"), Step.wait(1), Expect.that(probe(), 1), probe()] })
    expect(Experiment.isExperiment(e)).toBe(true)
    expect(e).toMatchObject({ description: "", tags: [], budget: {}, observeProduction: false, policy: {}, hypothesis: [], stopWhen: [], recovery: [], rollbackTimeoutMs: undefined })
    expect(e.body._tag).toBe("Steps")
    expect(Experiment.stepsOf(e)).toHaveLength(4)
    expect(Experiment.make({ id: "x", title: "t", targets: { lab }, method: [], rollbackTimeout: "2 seconds" }).rollbackTimeoutMs).toBe(2000)
  })

  it("reports every issue at once, each with its path", () => {
    const issues = issuesOf(() =>
      Experiment.make({
        id: "Not An Id",
        title: "",
        targets: { lab, junk: 42 as never },
        budget: { maxTargets: -1, maxPercent: 300 },
        hypothesis: [probe() as never],
        method: [fault("a"), 42 as never, fault("b", other), fault("a")],
      }),
    )
    expect(paths(issues)).toEqual(expect.arrayContaining(["id", "title", "targets.junk", "budget.maxTargets", "budget.maxPercent", "hypothesis[0]", "method[1]", "method[2]", "method[3]"]))
    const at = (p: string) => issues.filter((i) => i.path === p).map((i) => i.message).join(" | ")
    expect(at("id")).toContain("lowercase")
    expect(at("title")).toContain("title")
    expect(at("method[1]")).toContain("a step")
    expect(at("method[2]")).toContain('"other", which is not declared')
    expect(at("method[3]")).toContain('fault id "a" is also used at method[0]')
  })

  it("the error message lists the issues with their paths and names the experiment", () => {
    try {
      Experiment.make({ id: "x", title: "", targets: { lab }, method: [fault("b", other)] })
      expect.fail("did not throw")
    } catch (e) {
      const message = (e as Error).message
      expect(message).toContain('invalid experiment "x"')
      expect(message).toContain("  - title:")
      expect(message).toContain("  - method[0]:")
    }
  })

  it("checks targets touched by hypothesis, guards and recovery too", () => {
    const issues = issuesOf(() =>
      Experiment.make({ id: "x", title: "t", targets: { lab }, hypothesis: [Expect.that(probe(other), 1)], stopWhen: [Expect.guard(probe(other), 1)], recovery: [Expect.that(probe(other), 1)], method: [] }),
    )
    expect(paths(issues)).toEqual(["hypothesis[0]", "stopWhen[0]", "recovery[0]"])
  })

  it("two targets with one id are an issue", () => {
    expect(paths(issuesOf(() => Experiment.make({ id: "x", title: "t", targets: { a: lab, b: Target.make("lab") }, method: [] })))).toEqual(["targets"])
  })

  it("an unknown key (a typo) is an issue", () => {
    expect(paths(issuesOf(() => Experiment.make({ id: "x", title: "t", targets: { lab }, method: [], hypothesys: [] } as never)))).toEqual(["hypothesys"])
  })

  it("a target is declared by identity or by id", () => {
    expect(() => Experiment.make({ id: "x", title: "t", targets: { lab }, method: [fault("a", Target.make("lab", { environment: "lab" }))] })).not.toThrow()
  })
})

describe("the options of checks, guards and waits", () => {
  const p = probe()
  /** `issue path → message` of an experiment built around `parts`. */
  const issuesAt = (parts: Partial<Experiment.Definition>) => {
    const issues = issuesOf(() => Experiment.make({ id: "x", title: "t", targets: { lab }, method: [], ...parts }))
    return Object.fromEntries(issues.map((i) => [i.path, i.message]))
  }

  it("a during check with NaN samples and a negative burst is refused, not a vacuous pass", () => {
    const at = issuesAt({ method: [fault("a"), Step.wait(1), Expect.during(p, 1, { samples: Number.NaN, burst: -3 })] })
    expect(at).toEqual({
      "method[2].options.samples": "must be a whole number of rounds, at least 1, got NaN",
      "method[2].options.burst": "must be a whole number of concurrent observations per round, at least 1, got -3",
    })
  })

  // Each bad value with the path and the message fragment its issue must carry.
  const cases: ReadonlyArray<readonly [string, Partial<Experiment.Definition>, string, string]> = [
    ["during: zero samples", { method: [Expect.during(p, 1, { samples: 0 })] }, "method[0].options.samples", "at least 1, got 0"],
    ["during: fractional samples", { method: [Expect.during(p, 1, { samples: 2.5 })] }, "method[0].options.samples", "whole number"],
    ["during: infinite samples", { method: [Expect.during(p, 1, { samples: Number.POSITIVE_INFINITY })] }, "method[0].options.samples", "got Infinity"],
    ["during: burst 0", { method: [Expect.during(p, 1, { burst: 0 })] }, "method[0].options.burst", "at least 1"],
    ["during: negative every", { method: [Expect.during(p, 1, { every: -5 })] }, "method[0].options.every", "0 or more, got -5"],
    ["during: every NaN", { method: [Expect.during(p, 1, { every: Number.NaN })] }, "method[0].options.every", "expected a duration"],
    ["during: every not a duration", { method: [Expect.during(p, 1, { every: "soon" as never })] }, "method[0].options.every", 'got "soon"'],
    ["during: a typo in an option name", { method: [Expect.during(p, 1, { sample: 3 } as never)] }, "method[0].options.sample", ""],
    ["eventually: within 0", { recovery: [Expect.eventually(p, 1, { within: 0 })] }, "recovery[0].options.within", "more than 0"],
    ["eventually: within Infinity", { recovery: [Expect.eventually(p, 1, { within: Number.POSITIVE_INFINITY })] }, "recovery[0].options.within", "finite"],
    ["eventually: within not a duration", { recovery: [Expect.eventually(p, 1, { within: "half a minute" as never })] }, "recovery[0].options.within", "expected a duration"],
    ["eventually: every 0 (a busy loop)", { recovery: [Expect.recovers(p, 1, { within: "1 second", every: 0 })] }, "recovery[0].options.every", "more than 0"],
    ["detects: negative within", { method: [Expect.detects(p, 1, { within: "-5 seconds" })] }, "method[0].options.within", "more than 0"],
    ["guard: negative every", { stopWhen: [Expect.guard(p, 1, { every: -1 })] }, "stopWhen[0].options.every", "more than 0, got -1"],
    ["guard: every NaN", { stopWhen: [Expect.guard(p, 1, { every: Number.NaN })] }, "stopWhen[0].options.every", "expected a duration"],
    ["that: unknown severity", { hypothesis: [Expect.that(p, 1, { severity: "urgent" as never })] }, "hypothesis[0].options.severity", ""],
    ["wait: negative", { method: [Step.wait(-1000)] }, "method[0].duration", "0 or more, got -1000"],
    ["wait: NaN", { method: [Step.wait(Number.NaN)] }, "method[0].duration", "expected a duration"],
    ["wait: Infinity", { method: [Step.wait("Infinity")] }, "method[0].duration", "finite"],
    ["wait: not a duration", { method: [Step.wait("forever" as never)] }, "method[0].duration", 'got "forever"'],
    ["wait: an object that is no duration", { method: [Step.wait({ secs: 5 } as never)] }, "method[0].duration", "expected a duration"],
    ["rollbackTimeout: not a duration", { rollbackTimeout: "abc" as never }, "rollbackTimeout", 'got "abc"'],
  ]
  it.each(cases)("%s", (_, parts, path, fragment) => {
    const at = issuesAt(parts)
    expect(Object.keys(at)).toEqual([path])
    expect(at[path]).toContain(fragment)
  })

  it("one bad check used in hypothesis, method, recovery is reported at each place, with every other issue", () => {
    const bad = Expect.during(p, 1, { samples: Number.NaN })
    const at = issuesAt({ title: "", hypothesis: [bad], method: [bad, Step.wait(-1)], recovery: [bad], stopWhen: [Expect.guard(p, 1, { every: 0 })] })
    expect(Object.keys(at).sort()).toEqual(["hypothesis[0].options.samples", "method[0].options.samples", "method[1].duration", "recovery[0].options.samples", "stopWhen[0].options.every", "title"])
  })

  it("building a check with bad options does not throw: the experiment reports it", () => {
    expect(() => Expect.eventually(p, 1, { within: "whenever" as never })).not.toThrow()
    expect(() => Step.wait("forever" as never)).not.toThrow()
    expect(Step.wait("forever" as never).id).toBe("wait forever")
  })

  it("good options have no issues; every Duration.Input form is accepted", () => {
    const good = [
      Expect.during(p, 1, { samples: 3, burst: 2, every: "10 millis" }),
      Expect.during(p, 1, { every: 0 }),
      Expect.eventually(p, 1, { within: [2, 0] }),
      Expect.detects(p, 1, { within: { seconds: 2 }, every: 50 }),
      Expect.guard(p, 1, { every: "1 second" }),
      Step.wait(0),
      Step.wait("2 minutes"),
    ]
    for (const item of good) expect(item.issues).toEqual([])
    expect(() => Experiment.make({ id: "x", title: "t", targets: { lab }, method: good.filter((g) => g._tag !== "Guard") as never, stopWhen: [Expect.guard(p, 1)] })).not.toThrow()
  })

  it("a generator experiment's hypothesis, guards and recovery are checked too", () => {
    const issues = issuesOf(() => Experiment.gen({ id: "x", title: "t", targets: { lab }, mayInject: {}, recovery: [Expect.eventually(p, 1, { within: -1 })] }, function* () {}))
    expect(paths(issues)).toEqual(["recovery[0].options.within"])
  })
})

describe("Experiment.gen", () => {
  it("builds a generator experiment with its manifest", () => {
    const e = Experiment.gen({ id: "x", title: "t", targets: { lab }, mayInject: { lab: "destroy" } }, function* () {})
    expect(e.body).toMatchObject({ _tag: "Gen", mayInject: { lab: "destroy" } })
  })

  it("reports manifest keys that are not targets, bad classes and other issues together", () => {
    const issues = issuesOf(() => Experiment.gen({ id: "", title: "t", targets: { lab }, mayInject: { lab: "nuke" as never, ghost: "disrupt" } }, function* () {}))
    expect(paths(issues)).toEqual(expect.arrayContaining(["id", "mayInject.lab", "mayInject.ghost"]))
    expect(issues.find((i) => i.path === "mayInject.ghost")?.message).toContain("not a key of `targets`")
  })

  it("needs a generator function", () => {
    expect(paths(issuesOf(() => Experiment.gen({ id: "x", title: "t", targets: { lab }, mayInject: {} }, 42 as never)))).toEqual(["run"])
  })
})
