/** The demo lab's base port comes from SHIFTUP_LAB_PORT: a bad value names the variable and what to set. */
import { afterEach, describe, expect, it } from "vitest"
import { isShiftupError, type ShiftupError } from "shiftup"
import { basePort } from "../../../src/testing/lab.ts"

const before = process.env["SHIFTUP_LAB_PORT"]
afterEach(() => {
  if (before === undefined) delete process.env["SHIFTUP_LAB_PORT"]
  else process.env["SHIFTUP_LAB_PORT"] = before
})

describe("basePort", () => {
  it("47180 by default; a whole number from 1 to 65532 otherwise", () => {
    delete process.env["SHIFTUP_LAB_PORT"]
    expect(basePort()).toBe(47180)
    for (const [raw, port] of [["1", 1], ["20000", 20000], [" 65532 ", 65532]] as const) {
      process.env["SHIFTUP_LAB_PORT"] = raw
      expect(basePort()).toBe(port)
    }
  })

  it.each(["abc", "", "0", "65533", "70000", "1.5", "-1", "80x", "0x50", "1e3"])("%j is an InvalidConfig naming SHIFTUP_LAB_PORT", (raw) => {
    process.env["SHIFTUP_LAB_PORT"] = raw
    try {
      basePort()
      expect.fail("accepted")
    } catch (e) {
      expect(isShiftupError(e)).toBe(true)
      const reason = e as ShiftupError
      expect(reason._tag).toBe("InvalidConfig")
      expect((e as ShiftupError).message).toContain(`SHIFTUP_LAB_PORT: ${JSON.stringify(raw)} is not a base port: set it to a whole number from 1 to 65532`)
    }
  })
})
