import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Http, Step, Target, Expect, Probe } from "shiftup"

describe("Target and Http.target", () => {
  it("Target.make: one member with the given facts; labels are facts too", async () => {
    const t = Target.make("orders", { environment: "staging", dataStore: "postgres", labels: { team: "x" }, owner: "payments", facts: { image: "postgres:16" } })
    expect(t).toMatchObject({ id: "orders", kind: "generic", environment: "staging", dataStore: "postgres", labels: { team: "x" }, owner: "payments" })
    expect(Target.isTarget(t)).toBe(true)
    expect(await Effect.runPromise(t.resolve)).toEqual({ members: [{ id: "orders", image: "postgres:16", labels: { team: "x" } }], population: 1 })
    expect("environment" in Target.make("u")).toBe(false)
  })

  it("Http.target: the URL's host and port are the facts the policy classifies", async () => {
    const api = Http.target("api", { url: "https://api.prod.example.com/v1", labels: { env: "staging" } })
    expect(api.kind).toBe("http")
    expect(await Effect.runPromise(api.resolve)).toEqual({
      members: [{ id: "https://api.prod.example.com", hostnames: ["api.prod.example.com"], ports: [443], endpoints: [{ host: "api.prod.example.com", port: 443, protocol: "https" }], labels: { env: "staging" } }],
      population: 1,
    })
    const db = Http.target("db", { url: "http://127.0.0.1:5432" })
    expect((await Effect.runPromise(db.resolve)).members[0]?.ports).toEqual([5432])
    expect((await Effect.runPromise(Http.target("p", { url: "http://h" }).resolve)).members[0]?.ports).toEqual([80])
  })

  it("Step helpers: wait durations, targets and safety classes of steps", () => {
    const t = Target.make("t")
    expect(Step.wait("2 seconds")).toEqual({ _tag: "Wait", id: "wait 2s", ms: 2000, issues: [] })
    expect(Step.wait(5, "pause")).toEqual({ _tag: "Wait", id: "pause", ms: 5, issues: [] })
    const p = Probe.make({ id: "p", target: t, observe: () => 1 })
    expect(Step.targetOf(Step.wait(1))).toBeUndefined()
    expect(Step.targetOf(p)).toBe(t)
    expect(Step.targetOf(Expect.that(p, 1))).toBe(t)
    expect(Step.safetyOf(p)).toBe("observe")
  })
})
