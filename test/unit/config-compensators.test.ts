/**
 * A config may add compensation kinds but never replace a built-in one (issue 11, item 8): a
 * replaced `http.request` undo once made rollback report "restored (0 ms)" having sent nothing.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { defineConfig, isShiftupError, type ShiftupError } from "shiftup"

const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}

describe("defineConfig: compensators", () => {
  it.each(["http.request", "file.restore", "ephemeral"])("refuses to replace the built-in %s, naming the key", (kind) => {
    const e = thrown(() => defineConfig({ compensators: { [kind]: () => Effect.void } }, "team.config.ts"))
    expect(isShiftupError(e)).toBe(true)
    expect(e as ShiftupError).toMatchObject({ _tag: "InvalidConfig", source: "team.config.ts", issues: [{ path: `compensators.${kind}`, message: expect.stringContaining(`"${kind}" is a built-in compensation kind and cannot be replaced`) }] })
  })

  it("adds kinds of its own, as a function or as a spec with schema/verify/settleMs", () => {
    const config = defineConfig({
      compensators: {
        "team.flag": () => Effect.void,
        "team.switch": { apply: () => Effect.void, verify: () => Effect.succeed(undefined), settleMs: 500 },
      },
    })
    expect(Object.keys(config.compensators ?? {})).toEqual(["team.flag", "team.switch"])
  })

  it("refuses a compensator that is neither a function nor a spec with apply", () => {
    const e = thrown(() => defineConfig({ compensators: { "team.x": { verify: () => Effect.succeed(undefined) } as never } }))
    expect((e as ShiftupError).message).toMatch(/compensators\.team\.x: .*a compensator: a function, or \{ apply/)
  })
})
