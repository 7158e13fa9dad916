/**
 * The pure parts of property-based chaos: the schedules fast-check draws stay inside their bounds
 * (unique faults, whole ticks inside the window, overlap capped), a property is refused at build
 * time with every problem named, and the replay line parses back.
 */
import fc from "fast-check"
import { Expect, Fault, Http, Probe, Property } from "shiftup"
import { describe, expect, it } from "vitest"

const api = Http.target("api", { url: "http://127.0.0.1:1", environment: "lab" })
const other = Http.target("other", { url: "http://127.0.0.1:2", environment: "lab" })
const sw = (id: string, target = api) => Fault.httpSwitch(target, { id, url: `${target.url}/faults`, on: "{}", off: "{}" })
const invariant = Expect.that(Probe.status(api, "/"), Expect.oneOf(200))
const base = { id: "p.unit", title: "unit", targets: { api }, invariants: [invariant] }

describe("Property.make", () => {
  it("draws schedules inside the bounds", () => {
    const p = Property.make({ ...base, faults: { a: sw("a"), b: sw("b"), c: sw("c"), d: sw("d") }, schedule: { maxFaults: 3, window: "500 millis", tick: "50 millis", maxOverlap: 2 } })
    fc.assert(
      fc.property(Property.schedules(fc, p), (s) => {
        expect(s.length).toBeGreaterThanOrEqual(1)
        expect(s.length).toBeLessThanOrEqual(3)
        expect(new Set(s.map((x) => x.fault)).size).toBe(s.length)
        for (const x of s) {
          expect(x.startMs % 50).toBe(0)
          expect(x.durationMs % 50).toBe(0)
          expect(x.durationMs).toBeGreaterThan(0)
          expect(x.startMs + x.durationMs).toBeLessThanOrEqual(500)
        }
        expect(Property.overlapOf(s)).toBeLessThanOrEqual(2)
      }),
      { numRuns: 300 },
    )
  })

  it("refuses a property with every problem named", () => {
    const bad = () =>
      Property.make({ ...base, invariants: [], faults: { a: sw("a", other), b: "nope" as never }, schedule: { maxFaults: 0, tick: "0 millis" }, runs: 1.5 })
    expect(bad).toThrow(/faults\.a: touches target "other", which is not declared/)
    expect(bad).toThrow(/faults\.b: expected a Fault/)
    expect(bad).toThrow(/invariants: give at least one invariant/)
    expect(bad).toThrow(/schedule\.maxFaults: must be a positive whole number/)
    expect(bad).toThrow(/schedule\.tick: must be a positive duration/)
    expect(bad).toThrow(/runs: must be a positive whole number/)
    expect(() => Property.make({ ...base, faults: {} })).toThrow(/faults: give the property a catalogue/)
  })

  it("builds each schedule's run with the manifest of its catalogue and the overlap as the fault budget", () => {
    const p = Property.make({ ...base, faults: { a: sw("a"), b: sw("b") }, schedule: { maxOverlap: 1 } })
    const e = p.experimentOf([{ fault: "a", startMs: 0, durationMs: 100 }])
    expect(e.body._tag === "Gen" && e.body.mayInject).toEqual({ api: "disrupt" })
    expect(e.budget.maxConcurrentFaults).toBe(1)
    expect(e.tags).toContain("property")
  })
})

describe("schedules", () => {
  it("overlapOf counts faults active at once; one ending as another starts does not overlap", () => {
    expect(Property.overlapOf([])).toBe(0)
    expect(Property.overlapOf([{ fault: "a", startMs: 0, durationMs: 100 }, { fault: "b", startMs: 100, durationMs: 100 }])).toBe(1)
    expect(Property.overlapOf([{ fault: "a", startMs: 0, durationMs: 300 }, { fault: "b", startMs: 100, durationMs: 100 }, { fault: "c", startMs: 150, durationMs: 10 }])).toBe(3)
  })

  it("parseReplay reads back `<seed>:<path>` and nothing else", () => {
    expect(Property.parseReplay("42:12:1:1")).toEqual({ seed: 42, path: "12:1:1" })
    expect(Property.parseReplay("-7:0")).toEqual({ seed: -7, path: "0" })
    for (const bad of ["", "42", "42:", "x:1", "42:1:a"]) expect(Property.parseReplay(bad)).toBeUndefined()
  })
})
