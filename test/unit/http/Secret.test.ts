import { inspect } from "node:util"
import * as fc from "fast-check"
import * as Http from "shiftup/http"
import { describe, expect, it } from "vitest"
import { secretsOf } from "../../../src/Secret.ts"

describe("Secret", () => {
  it("prints as [redacted] in JSON, strings and inspect, and reveals only on request", () => {
    const s = Http.secret("hunter2-password")
    expect(JSON.stringify({ s })).toBe('{"s":"[redacted]"}')
    expect(`${String(s)}`).toBe("[redacted]")
    expect(inspect(s)).not.toContain("hunter2")
    expect(s.reveal()).toBe("hunter2-password")
  })
  it("redact removes a secret and its base64 and URL-encoded forms from any JSON-like value", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 8, maxLength: 40 }).filter((x) => x.trim().length >= 8 && !"[redacted]".includes(x)), fc.string({ maxLength: 20 }), (plain, around) => {
        const secrets = secretsOf([Http.secret(plain)])
        const value = { body: `${around}${plain}${around}`, headers: { echo: Buffer.from(plain).toString("base64") }, list: [encodeURIComponent(plain)], n: 1 }
        const out = JSON.stringify(Http.redact(value, secrets))
        return !out.includes(plain) && !out.includes(Buffer.from(plain).toString("base64")) && out.includes('"n":1')
      }),
      { numRuns: 200 },
    )
  })
  it("strings that are not secrets are left alone, and very short secrets are not used (they would redact everything)", () => {
    expect(secretsOf(["plain", Http.secret("ab")])).toEqual([])
    expect(Http.redactText("a token here", ["token"])).toBe("a [redacted] here")
  })
})
