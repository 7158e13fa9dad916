import { existsSync, readFileSync, writeFileSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { Compensation, Fault, Target, type ShiftupError } from "shiftup"
import { withTempDir } from "../support/prop-world.ts"
import { faultOf } from "../../src/internal/capability.ts"

describe("Compensation", () => {
  it("apply: an unknown kind fails with UnknownCompensation", async () => {
    const e = await Effect.runPromise(Effect.flip(Compensation.apply({}, { kind: "nope", description: "d" })))
    expect(e as ShiftupError).toMatchObject({ _tag: "UnknownCompensation", kind: "nope" })
  })

  it("file.restore restores saved contents, or removes a file that did not exist; twice is like once", async () =>
    withTempDir("comp", async (dir) => {
      const path = join(dir, "config.yaml")
      writeFileSync(path, "changed")
      const restore = Compensation.fileRestore({ target: "t", path, content: Buffer.from("original").toString("base64"), description: "restore" })
      for (let i = 0; i < 2; i++) await Effect.runPromise(Compensation.apply(Compensation.builtins, restore))
      expect(readFileSync(path, "utf8")).toBe("original")
      const remove = Compensation.fileRestore({ target: "t", path, content: null, description: "remove" })
      for (let i = 0; i < 2; i++) await Effect.runPromise(Compensation.apply(Compensation.builtins, remove))
      expect(existsSync(path)).toBe(false)
    }))

  it("Fault.fileWrite saves the original into its compensation before writing", async () =>
    withTempDir("comp", async (dir) => {
      const path = join(dir, "state")
      writeFileSync(path, "v1")
      const f = Fault.fileWrite(Target.make("files", { environment: "lab" }), { id: "overwrite", path, content: "v2" })
      expect(f.safety).toBe("destroy")
      expect(f.kind).toBe("file.restore")
      const c = await Effect.runPromise(faultOf(f).capture)
      expect(c).toMatchObject({ kind: "file.restore", path, content: Buffer.from("v1").toString("base64") })
      await Effect.runPromise(faultOf(f).inject)
      expect(readFileSync(path, "utf8")).toBe("v2")
      await Effect.runPromise(Compensation.apply(Compensation.builtins, c))
      expect(readFileSync(path, "utf8")).toBe("v1")
    }))

  it("http.request sends the switch-off request; a non-2xx answer is a RollbackFailed", async () => {
    const bodies: Array<string> = []
    let status = 204
    const server = http.createServer((req, res) => {
      let body = ""
      req.on("data", (b: Buffer) => (body += b.toString()))
      req.on("end", () => {
        bodies.push(`${req.method} ${req.url} ${body}`)
        res.writeHead(status)
        res.end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/faults`
      const c = Compensation.httpRequest({ target: "lab", method: "POST", url, body: '{"auth":"ok"}', description: "auth back on" })
      await Effect.runPromise(Compensation.apply(Compensation.builtins, c))
      expect(bodies).toEqual([`POST /faults {"auth":"ok"}`])
      status = 500
      const e = await Effect.runPromise(Effect.flip(Compensation.apply(Compensation.builtins, c)))
      expect(e as ShiftupError).toMatchObject({ _tag: "RollbackFailed", target: "lab" })
      expect(e.message).toContain("500")
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
