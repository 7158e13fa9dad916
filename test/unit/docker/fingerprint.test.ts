/**
 * `shiftup/docker` keeps exporting the fingerprint under the names its users know; it is the
 * core's own, which test/unit/internal/fingerprint.test.ts (stand-ins and traps) and
 * test/integration/fingerprint-real.test.ts (real servers) test, so this only pins the re-export.
 */
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { expect, it } from "vitest"
import * as Docker from "shiftup/docker"
import { fingerprint, type FingerprintResult } from "../../../src/docker/index.ts"
import * as Core from "../../../src/internal/fingerprint.ts"

it("is the core's fingerprint, under the Docker adapter's names", () => {
  expect(fingerprint).toBe(Core.fingerprint)
  expect(Docker.fingerprint).toBe(Core.fingerprint)
})

it("answers with engine and evidence as before, and now the contacts", async () => {
  const server = net.createServer((s) => s.on("data", () => s.write("+PONG\r\n")))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  try {
    const result: FingerprintResult = await fingerprint("127.0.0.1", (server.address() as AddressInfo).port)
    expect(result).toMatchObject({ engine: "redis", evidence: 'answered with the RESP line "+PONG"' })
    expect(result.contacts).toHaveLength(1)
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})
