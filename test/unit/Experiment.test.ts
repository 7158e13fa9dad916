import { describe, expect, it } from "vitest"
import { Expect, Experiment, Fault, Probe, ShiftupError, Step, Target, type Issue } from "shiftup"

const lab = Target.make("lab", { environment: "lab" })
const other = Target.make("other", { environment: "lab" })
const fault = (id: string, target = lab) => Fault.make({ id, target, compensation: { kind: "k", description: "d" }, inject: () => {} })
const probe = (target = lab) => Probe.make({ id: `look at ${target.id}`, target, observe: () => 1 })

/** The issues of the `InvalidExperiment` a builder throws. */
const issuesOf = (build: () => unknown): ReadonlyArray<Issue> => {
  try {
    build()
  } catch (e) {
    expect(e).toBeInstanceOf(ShiftupError)
    const reason = (e as ShiftupError).reason
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
