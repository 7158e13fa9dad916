/**
 * What the tests of a spawned `shiftup watch` read: its JSON log lines (`--log json` on stdout)
 * and the deliveries of its webhook, taken by a real HTTP server on 127.0.0.1 and checked
 * against the HMAC-SHA256 signature over the exact body.
 */
import { createHmac } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { expect } from "vitest"
import type { Proc } from "./proc-cli.ts"

export interface WatchEvent {
  readonly time: string
  readonly level: string
  readonly event: string
  readonly [k: string]: unknown
}

/** Every JSON log line the watcher has printed so far. */
export const events = (p: Proc): ReadonlyArray<WatchEvent> =>
  p
    .stdout()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as WatchEvent)

/** The `finding.changed` lines of `rule` into state `to`. */
export const changed = (p: Proc, rule: string, to: string): ReadonlyArray<WatchEvent> => events(p).filter((e) => e.event === "finding.changed" && e["rule"] === rule && e["to"] === to)

export interface Delivery {
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

export interface Receiver {
  readonly url: string
  /** The deliveries answered 2xx, in arrival order. */
  readonly got: ReadonlyArray<Delivery>
  /** Every request, the refused ones too. */
  readonly requests: () => number
  readonly close: () => Promise<void>
}

/** A webhook receiver on 127.0.0.1 that answers 500 to the first `failFirst` requests (a retry is needed), then 204. */
export const receiver = async (options: { readonly failFirst?: number } = {}): Promise<Receiver> => {
  const got: Array<Delivery> = []
  let requests = 0
  const server = http.createServer((req, res) => {
    let body = ""
    req.on("data", (c: Buffer) => (body += c.toString("utf8")))
    req.on("end", () => {
      requests++
      if (requests <= (options.failFirst ?? 0)) return res.writeHead(500).end()
      got.push({ headers: req.headers, body })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, requests: () => requests, close: () => new Promise<void>((r) => server.close(() => r())) }
}

export interface HookEvent {
  readonly schema: string
  readonly id: string
  readonly event: string
  readonly finding: { readonly rule: string; readonly fingerprint: string; readonly state: string }
}

/** The deliveries' bodies, each checked: signed with `secret` over the exact body, its delivery id in the header, the documented schema. */
export const signedEvents = (got: ReadonlyArray<Delivery>, secret: string): ReadonlyArray<HookEvent> =>
  got.map((d) => {
    expect(d.headers["x-shiftup-signature"]).toBe(`sha256=${createHmac("sha256", secret).update(d.body).digest("hex")}`)
    const e = JSON.parse(d.body) as HookEvent
    expect(d.headers["x-shiftup-delivery"]).toBe(e.id)
    expect(e.schema).toBe("shiftup.watch-event/v1")
    return e
  })
