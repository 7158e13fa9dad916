/**
 * The Docker lab against a real engine: images built from busybox (no registry), a gateway that
 * fails closed when auth is paused, the planted fail-open weakness, a detector that notices a rogue
 * listener, and nothing left behind. Not skipped without an engine: .ci/run starts dockerd, and a
 * silent skip would hide that it did not.
 */
import * as net from "node:net"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Engine from "../../src/docker/engine.ts"
import { ensureImageMap, ensureImages, hasRedisServer, imageSpecs } from "../../src/testing/docker/images.ts"
import { get, reapLab, startDockerLab, type DockerLab } from "../../src/testing/docker/index.ts"

const runId = `test-docker-lab-${Date.now().toString(36)}-${Math.random().toString(16).slice(2, 6)}`
const engine = Engine.make()
const call = <A, E>(e: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(Effect.mapError(e, (x) => new Error(JSON.stringify(x))))

let closed: DockerLab
let open: DockerLab
const timings: Record<string, number> = {}

const time = async <A>(name: string, f: () => Promise<A>): Promise<A> => {
  const started = performance.now()
  try {
    return await f()
  } finally {
    timings[name] = Math.round(performance.now() - started)
  }
}

beforeAll(async () => {
  const ping = await Effect.runPromiseExit(engine.ping)
  if (ping._tag === "Failure")
    throw new Error(
      `no Docker engine at ${engine.address}: install and start one (apt-get install -y docker.io busybox-static; setsid dockerd --host unix:///var/run/docker.sock > /tmp/dockerd.log 2>&1 &), as .ci/run does`,
    )
  await time("images (first call)", () => call(ensureImages(engine)))
  ;[closed, open] = await time("two labs started", () => Promise.all([call(startDockerLab(engine, { runId, name: "closed" })), call(startDockerLab(engine, { runId, name: "open", failOpen: true }))]))
})

afterAll(async () => {
  await Effect.runPromise(Effect.ignore(reapLab(engine, runId)))
  engine.close()
  console.info(`docker lab timings (ms): ${JSON.stringify(timings)}`)
})

const admin = (lab: DockerLab, authorization?: string) => get(lab.urls.admin, authorization === undefined ? {} : { headers: { authorization } })
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`

/** Pauses the lab's auth container for the duration of `f`. */
const whileAuthPaused = async <A>(lab: DockerLab, f: () => Promise<A>): Promise<A> => {
  await call(engine.pause(lab.containers.auth))
  try {
    return await f()
  } finally {
    await call(engine.unpause(lab.containers.auth))
  }
}

describe("lab images", () => {
  it("are built once: a second call finds every image by its content hash and builds nothing", async () => {
    const built: Array<string> = []
    const refs = await time("images (warm)", () => call(ensureImageMap(engine, { onImage: (s, b) => void (b ? built.push(s.name) : undefined) })))
    expect(built).toEqual([])
    const names = Object.keys(refs).sort()
    expect(names).toEqual(hasRedisServer() ? ["auth", "busybox", "detector", "gateway", "rogue", "session-helper"] : ["auth", "busybox", "detector", "gateway", "rogue"])
    const specs = await call(imageSpecs)
    for (const s of specs) {
      const [image] = await call(engine.images([`shiftup.image-hash=${s.hash}`]))
      expect(image, s.name).toBeDefined()
      expect(image?.tags).toEqual(expect.arrayContaining([s.ref, `${s.repo}:latest`]))
      expect(s.ref).toMatch(/^shiftup-lab\/[a-z-]+:[0-9a-f]{12}$/)
      // Shared across runs: the reaper (which removes `shiftup.run` objects) must leave them alone.
      expect(image?.labels).toMatchObject({ "shiftup.lab": "1", "shiftup.image-hash": s.hash })
      expect(image?.labels["shiftup.run"]).toBeUndefined()
    }
    // The Redis image hides behind an innocent name.
    expect(specs.filter((s) => /redis/i.test(s.ref))).toEqual([])
  })

  it("session-helper is a Redis server under an innocent name (when the host has redis-server)", async () => {
    if (!hasRedisServer()) {
      expect((await call(imageSpecs)).map((s) => s.name)).not.toContain("session-helper")
      return
    }
    const id = await call(engine.run({ image: "shiftup-lab/session-helper:latest", labels: { ...closed.labels("session-helper") }, network: closed.network.name, publish: [{ containerPort: 7000, hostPort: 0 }] }))
    try {
      const port = (await call(engine.inspect(id))).publishedPorts.find((p) => p.containerPort === 7000)?.hostPort ?? 0
      const answer = await redisPing(port)
      expect(answer).toContain("+PONG")
    } finally {
      await call(engine.remove(id))
    }
  })
})

/** `PING` on a Redis port (retried while the server starts). */
const redisPing = async (port: number): Promise<string> => {
  const deadline = Date.now() + 5_000
  let last = ""
  while (Date.now() < deadline) {
    last = await new Promise<string>((resolve) => {
      const s = net.connect(port, "127.0.0.1")
      let got = ""
      s.setTimeout(1_000, () => s.destroy())
      s.on("connect", () => s.write("PING\r\n"))
      s.on("data", (c) => {
        got += c.toString("utf8")
        if (got.includes("\r\n")) s.end()
      })
      s.on("close", () => resolve(got))
      s.on("error", () => resolve(got))
    })
    if (last.includes("+PONG")) return last
    await new Promise((r) => setTimeout(r, 100))
  }
  return last
}

describe("the lab", () => {
  it("is labelled for its run, compose-like, on its own network, published on 127.0.0.1 only", async () => {
    for (const service of ["auth", "gateway", "detector"] as const) {
      const c = await call(engine.inspect(closed.containers[service]))
      expect(c.name).toBe(`${closed.project}-${service}`)
      expect(c.labels).toMatchObject({ "shiftup.run": runId, "shiftup.lab": "1", "shiftup.env": "lab", "com.docker.compose.project": closed.project, "com.docker.compose.service": service })
      expect(c.networks[closed.network.name]?.aliases).toContain(service)
      for (const p of c.publishedPorts) expect(p.hostIp).toBe("127.0.0.1")
    }
    expect(closed.project).toMatch(/^shiftup-lab-[a-z0-9]{1,8}-closed$/)
    const nets = await call(engine.networks([`shiftup.run=${runId}`]))
    expect(nets.map((n) => n.name).sort()).toEqual([closed.network.name, open.network.name].sort())
  })

  it("auth carries a Docker health check that reports healthy", async () => {
    const deadline = Date.now() + 10_000
    let health = ""
    while (Date.now() < deadline && health !== "healthy") {
      health = (await call(engine.inspect(closed.containers.auth))).state.health
      if (health !== "healthy") await new Promise((r) => setTimeout(r, 100))
    }
    expect(health).toBe("healthy")
  })

  it("gateway /health answers 200; /admin admits the lab's credentials and nobody else", async () => {
    expect((await get(closed.urls.health)).status).toBe(200)
    const good = await admin(closed, closed.credentials.authorization)
    expect(good.status).toBe(200)
    expect(good.body).toContain("admin console")
    expect(closed.credentials.authorization).toBe(basic("admin", "demo-admin-token"))
    expect((await admin(closed)).status).toBe(401)
    expect((await admin(closed, basic("admin", "wrong"))).status).toBe(403)
    expect((await admin(closed, "Bearer demo-admin-token")).status).toBe(403)
  })

  it("fails CLOSED while auth is paused: 503 within the gateway's auth timeout, 200 again after", async () => {
    const answers = await whileAuthPaused(closed, async () => {
      const started = performance.now()
      const withCreds = await admin(closed, closed.credentials.authorization)
      const ms = performance.now() - started
      timings["503 while auth paused"] = Math.round(ms)
      return { withCreds, anonymous: await admin(closed), ms }
    })
    expect(answers.withCreds.status).toBe(503)
    expect(answers.withCreds.headers["x-auth-verdict"]).toBe("timeout")
    expect(answers.anonymous.status).toBe(503)
    expect(answers.ms).toBeGreaterThanOrEqual(closed.authTimeoutMs - 50)
    expect(answers.ms).toBeLessThan(closed.authTimeoutMs + 1_000)
    expect((await admin(closed, closed.credentials.authorization)).status).toBe(200)
    expect((await admin(closed)).status).toBe(401)
  })

  it("with failOpen (the planted weakness) serves /admin to anyone while auth is paused", async () => {
    expect((await admin(open)).status).toBe(401)
    const anonymous = await whileAuthPaused(open, () => admin(open))
    expect(anonymous.status).toBe(200)
    expect(anonymous.headers["x-auth-verdict"]).toBe("fail-open")
    expect((await admin(open)).status).toBe(401)
  })

  it("fails closed even with failOpen when auth is gone (refused, not slow)", async () => {
    await call(engine.stop(open.containers.auth, 0))
    try {
      const r = await admin(open)
      expect(r.status).toBe(503)
      expect(r.headers["x-auth-verdict"]).toBe("error")
    } finally {
      await call(engine.start(open.containers.auth))
    }
    const deadline = Date.now() + 10_000
    let status = 0
    while (Date.now() < deadline && status !== 200) status = (await admin(open, open.credentials.authorization)).status
    expect(status).toBe(200)
  })

  it("the detector lists a rogue listener started on the lab network within 5 s", async () => {
    expect((await get(closed.urls.alerts)).body.trim()).toBe("")
    const started = performance.now()
    const rogue = await call(closed.startRogue({ port: 31337 }))
    const ip = (await call(engine.inspect(rogue))).networks[closed.network.name]?.ipv4 ?? "?"
    let body = ""
    while (performance.now() - started < 5_000) {
      body = (await get(closed.urls.alerts)).body
      if (body.includes(`open ${ip}:31337`)) break
      await new Promise((r) => setTimeout(r, 50))
    }
    timings["rogue detected after run()"] = Math.round(performance.now() - started)
    const line = body.split("\n").find((l) => l.endsWith(`open ${ip}:31337`))
    expect(line, `alerts: ${JSON.stringify(body)}`).toMatch(/^\d{10} open \d+\.\d+\.\d+\.\d+:31337$/)
    expect(Math.abs(Number(line?.split(" ")[0]) - Date.now() / 1000)).toBeLessThan(30)
    const labelled = await call(engine.inspect(rogue))
    expect(labelled.labels).toMatchObject({ "shiftup.run": runId, "com.docker.compose.service": "rogue" })
  })

  it("close() removes every container and network of the run", async () => {
    await time("close both labs", () => Promise.all([call(closed.close()), call(open.close())]))
    expect(await call(engine.list({ all: true, labels: [`shiftup.run=${runId}`] }))).toEqual([])
    expect(await call(engine.networks([`shiftup.run=${runId}`]))).toEqual([])
  })
})
