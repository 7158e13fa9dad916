/**
 * HTTP faults as undici interceptors, against a real loopback HTTP server: each fault's effect
 * as the server and the client see it, the documented composition order with the user's own
 * interceptors (retry included: in `compose(a, b)` the last is outermost), and installation as
 * faults in a run on a fault switch, a plain dispatcher and the global dispatcher, each rolled back.
 */
import { mkdtempSync, rmSync } from "node:fs"
import * as http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { AddressInfo } from "node:net"
import { Expect, Experiment, Http, Probe, run } from "shiftup"
import * as Net from "shiftup/net"
import { Agent, type Dispatcher, getGlobalDispatcher, interceptors, request } from "undici"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"

interface Seen {
  readonly path: string
  readonly authorization: string | undefined
  readonly cookie: string | undefined
}

const seen: Array<Seen> = []
let server: http.Server
let origin: string
let agent: Agent
const body = Buffer.from("0123456789".repeat(100))

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? "", authorization: req.headers.authorization, cookie: req.headers.cookie })
    if (req.url === "/private" && req.headers.authorization !== "Bearer fresh") {
      res.writeHead(401).end("no")
      return
    }
    res.writeHead(200, { "content-type": "text/plain", "strict-transport-security": "max-age=63072000", "content-length": String(body.length) })
    res.end(body)
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  agent = new Agent()
})
afterAll(async () => {
  await agent?.close()
  server?.closeAllConnections()
  await new Promise<void>((r) => server?.close(() => r()))
})
beforeEach(() => {
  seen.length = 0
})

/** Run options with a state dir of its own, removed after the run. */
const inTemp = async <A>(f: (stateDir: string) => Promise<A>): Promise<A> => {
  const dir = mkdtempSync(join(tmpdir(), "shiftup-net-http-"))
  try {
    return await f(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const get = async (dispatcher: Dispatcher, path: string, headers: Record<string, string> = {}) => {
  const r = await request(`${origin}${path}`, { dispatcher, headers })
  return { status: r.statusCode, headers: r.headers, body: Buffer.from(await r.body.arrayBuffer()) }
}

describe("Net.http interceptors: each fault", () => {
  it("delay: the request leaves after the delay", async () => {
    const t0 = performance.now()
    const r = await get(agent.compose(Net.http.delay({ ms: 120 })), "/")
    expect(r.status).toBe(200)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115)
  })

  it("serverError / respond: the client gets the injected status and the server sees nothing", async () => {
    const r = await get(agent.compose(Net.http.serverError()), "/")
    expect(r.status).toBe(503)
    expect(r.headers["x-shiftup-fault"]).toBe("respond")
    expect(r.body.toString()).toContain("injected by shiftup")
    const teapot = await get(agent.compose(Net.http.respond({ status: 418, body: "tea", path: "/tea" })), "/tea")
    expect(teapot).toMatchObject({ status: 418 })
    expect(seen).toEqual([])
  })

  it("stripHeaders: Authorization never reaches the server, which refuses", async () => {
    const client = agent.compose(Net.http.stripHeaders())
    const r = await get(client, "/private", { authorization: "Bearer fresh", "x-other": "kept" })
    expect(r.status).toBe(401)
    expect(seen[0]?.authorization).toBeUndefined()
  })

  it("replayToken and tamperCookie: the server sees the stale token and the forged cookie", async () => {
    const client = agent.compose(Net.http.replayToken({ token: "stale" }), Net.http.tamperCookie({ name: "role", value: "admin" }))
    const r = await get(client, "/private", { authorization: "Bearer fresh", cookie: "session=abc; role=user" })
    expect(r.status).toBe(401)
    expect(seen[0]).toMatchObject({ authorization: "Bearer stale", cookie: "session=abc; role=admin" })
  })

  it("responseHeaders: a dropped HSTS header and a forged one", async () => {
    const r = await get(agent.compose(Net.http.responseHeaders({ drop: ["strict-transport-security"], set: { "x-forged": "1" } })), "/")
    expect(r.headers["strict-transport-security"]).toBeUndefined()
    expect(r.headers["x-forged"]).toBe("1")
  })

  it("corruptBody flips every n-th byte; truncateBody ends early without an error", async () => {
    const corrupted = await get(agent.compose(Net.http.corruptBody({ every: 100 })), "/")
    expect(corrupted.body.length).toBe(body.length)
    const diffs = [...corrupted.body.keys()].filter((i) => corrupted.body[i] !== body[i])
    expect(diffs).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900])
    const truncated = await get(agent.compose(Net.http.truncateBody({ bytes: 250 })), "/")
    expect(truncated.status).toBe(200)
    expect(truncated.body.equals(body.subarray(0, 250))).toBe(true)
  })

  it("abortResponse: the body fails like a dropped connection", async () => {
    const r = await request(`${origin}/`, { dispatcher: agent.compose(Net.http.abortResponse({ afterBytes: 10 })) })
    expect(r.statusCode).toBe(200)
    await expect(r.body.text()).rejects.toMatchObject({ code: "UND_ERR_SOCKET" })
  })

  it("match: only matching requests, and only the first `times`", async () => {
    const client = agent.compose(Net.http.serverError({ path: "/a", times: 1 }))
    expect((await get(client, "/a")).status).toBe(503)
    expect((await get(client, "/a")).status).toBe(200)
    expect((await get(client, "/b")).status).toBe(200)
  })
})

describe("Net.http interceptors compose with the user's own, in undici's order (last is outermost)", () => {
  const retry = () => interceptors.retry({ maxRetries: 2, minTimeout: 5, maxTimeout: 10, timeoutFactor: 1, statusCodes: [503], methods: ["GET"] })

  it("fault inside retry: compose(fault, retry) — retry sees the injected 503 and hides it", async () => {
    const r = await get(agent.compose(Net.http.serverError({ times: 1 }), retry()), "/")
    expect(r.status).toBe(200)
    expect(seen).toHaveLength(1)
  })

  it("fault outside retry: compose(retry, fault) — the client sees the 503, retry never does", async () => {
    const r = await get(agent.compose(retry(), Net.http.serverError({ times: 1 })), "/")
    expect(r.status).toBe(503)
    expect(seen).toHaveLength(0)
  })

  it("a user's interceptor that adds credentials: order decides whether stripping wins", async () => {
    const addAuth: Net.http.Interceptor = (dispatch) => (opts, handler) => dispatch({ ...opts, headers: { ...(opts.headers as Record<string, string>), authorization: "Bearer fresh" } }, handler)
    expect((await get(agent.compose(Net.http.stripHeaders(), addAuth), "/private")).status).toBe(401)
    expect((await get(agent.compose(addAuth, Net.http.stripHeaders()), "/private")).status).toBe(200)
  })

  it("a fault switch is a pass-through until a fault is added, and again after removal", async () => {
    const faults = Net.http.faultSwitch()
    const client = agent.compose(retry(), faults.interceptor)
    expect((await get(client, "/")).status).toBe(200)
    const remove = faults.add(Net.http.serverError())
    expect((await get(client, "/")).status).toBe(503)
    remove()
    expect(faults.active()).toBe(0)
    expect((await get(client, "/")).status).toBe(200)
  })
})

describe("Net.httpFault: interceptors as faults in a run, rolled back", () => {
  const target = () => Http.target("api", { url: origin, environment: "lab" })
  const statusVia = (dispatcher: () => Dispatcher | undefined) =>
    Probe.make({ id: "GET / through the client", target: target(), observe: async () => (await request(`${origin}/`, { dispatcher: dispatcher() ?? getGlobalDispatcher() })).statusCode })

  it("on a fault switch, a plain dispatcher and the global dispatcher", async () => {
    const faults = Net.http.faultSwitch()
    const switched = agent.compose(faults.interceptor)
    const plain = new Agent()
    const globalBefore = getGlobalDispatcher()
    try {
      const e = Experiment.make({
        id: "net.http-faults",
        title: "t",
        targets: { api: target() },
        budget: { maxConcurrentFaults: 3 },
        method: [
          Net.httpFault({ id: "switch-503", target: target(), on: faults, interceptor: Net.http.serverError() }),
          Net.httpFault({ id: "plain-502", target: target(), on: plain, interceptor: Net.http.serverError({ status: 502 }) }),
          Net.httpFault({ id: "global-504", target: target(), on: "global", interceptor: Net.http.serverError({ status: 504 }) }),
          Expect.that(statusVia(() => switched), 503),
          Expect.that(statusVia(() => plain), 502),
          Expect.that(statusVia(() => undefined), 504),
        ],
        recovery: [Expect.that(statusVia(() => switched), 200), Expect.that(statusVia(() => plain), 200)],
      })
      const j = await inTemp((stateDir) => run(e, { journal: false, stateDir }))
      expect(j.status, j.summary).toBe("passed")
      expect(j.rollbacks.map((r) => `${r.fault}:${r.outcome}`)).toEqual(["global-504:restored", "plain-502:restored", "switch-503:restored"])
      expect(getGlobalDispatcher()).toBe(globalBefore)
      expect(Object.hasOwn(plain, "dispatch")).toBe(false)
      expect(faults.active()).toBe(0)
    } finally {
      await plain.close()
    }
  })

  it("refuses to wrap a composed dispatcher, and says what to do instead", async () => {
    const composed = agent.compose(interceptors.dump())
    const e = Experiment.make({ id: "net.http-composed", title: "t", targets: { api: target() }, method: [Net.httpFault({ id: "x", target: target(), on: composed, interceptor: Net.http.serverError() })] })
    const j = await inTemp((stateDir) => run(e, { journal: false, stateDir }))
    expect(j.status).toBe("aborted")
    expect(JSON.stringify(j.steps)).toContain("faultSwitch")
  })
})
