/**
 * The data-store fingerprint against real servers on loopback: redis (open and password
 * protected), postgres and mariadb from Debian packages, each started from its own temp data
 * directory on a free 127.0.0.1 port and stopped by pid. A missing binary fails the file and
 * names the apt package. Also: what must NOT be recognised (HTTP, a silent port, an echo server,
 * a server-first non-MySQL banner, a closed port).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { fingerprint, type FingerprintResult } from "../../../src/docker/Fingerprint.ts"

const cleanups: Array<() => Promise<void> | void> = []

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer()
    s.on("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })

const requireBinary = (path: string | undefined, what: string, aptPackage: string): string => {
  if (path === undefined || !existsSync(path)) throw new Error(`${what} not found (${path ?? "no candidate"}): apt-get install -y ${aptPackage}`)
  return path
}

const postgresBin = (name: string) => {
  const root = "/usr/lib/postgresql"
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : []
  return requireBinary(versions[0] === undefined ? undefined : join(root, versions[0], "bin", name), `postgres ${name}`, "postgresql")
}

const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), `shiftup-fp-${prefix}-`))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Resolves once `port` accepts a TCP connection; fails early, with the server's output, if it exits. */
const waitForPort = async (port: number, child: ChildProcess, output: () => string, what: string) => {
  const until = performance.now() + 30_000
  while (performance.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${output()}`)
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => {
        s.destroy()
        resolve(true)
      })
      s.on("error", () => resolve(false))
    })
    if (up) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within 30 s:\n${output()}`)
}

/** Spawns a server, waits for its port, and registers a stop by pid (SIGTERM, SIGKILL after 10 s). */
const startServer = async (what: string, command: string, args: ReadonlyArray<string>, port: number, options: { readonly uid?: number; readonly gid?: number; readonly stopSignal?: NodeJS.Signals } = {}) => {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...(options.uid === undefined ? {} : { uid: options.uid }), ...(options.gid === undefined ? {} : { gid: options.gid }) })
  let output = ""
  child.stdout?.on("data", (d: Buffer) => void (output += d.toString()))
  child.stderr?.on("data", (d: Buffer) => void (output += d.toString()))
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    if (child.pid !== undefined) process.kill(child.pid, options.stopSignal ?? "SIGTERM")
    const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, "SIGKILL"), 10_000)
    await exited
    clearTimeout(timer)
  })
  await waitForPort(port, child, () => output, what)
  return port
}

const startRedis = async (extra: ReadonlyArray<string> = []) => {
  const bin = requireBinary("/usr/bin/redis-server", "redis-server", "redis-server")
  const dir = tempDir("redis")
  const port = await freePort()
  return startServer("redis-server", bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir, ...extra], port)
}

/** Postgres refuses to run as root, so as root it runs as the `postgres` user the package creates. */
const startPostgres = async () => {
  const initdb = postgresBin("initdb")
  const postgres = postgresBin("postgres")
  const dir = tempDir("pg")
  const asUser: { uid?: number; gid?: number } = {}
  if (process.getuid?.() === 0) {
    asUser.uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim())
    asUser.gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim())
    chownSync(dir, asUser.uid, asUser.gid)
  }
  const data = join(dir, "data")
  execFileSync(initdb, ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "--no-instructions"], { stdio: "pipe", ...asUser })
  const port = await freePort()
  // SIGINT is postgres' "fast" shutdown: it does not wait for clients to go away.
  return startServer("postgres", postgres, ["-D", data, "-p", String(port), "-k", dir, "-h", "127.0.0.1", "-c", "fsync=off"], port, { ...asUser, stopSignal: "SIGINT" })
}

/** An empty data dir with --skip-grant-tables starts in about a second; no mariadb-install-db needed. */
const startMariadb = async () => {
  const bin = requireBinary("/usr/sbin/mariadbd", "mariadbd", "mariadb-server")
  const dir = tempDir("mariadb")
  const port = await freePort()
  return startServer(
    "mariadbd",
    bin,
    ["--no-defaults", `--datadir=${dir}`, `--port=${port}`, "--bind-address=127.0.0.1", `--socket=${join(dir, "sock")}`, `--pid-file=${join(dir, "pid")}`, "--skip-grant-tables", "--user=root", "--skip-log-bin"],
    port,
  )
}

const listen = async (server: net.Server | http.Server) => {
  const sockets = new Set<net.Socket>()
  server.on("connection", (s: net.Socket) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
    s.on("error", () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  )
  return (server.address() as AddressInfo).port
}

const int32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeInt32LE(n)
  return b
}

/**
 * No real MongoDB is installable here (it is not in Debian 12 and no other registry is reachable),
 * so this stands in for mongod's wire behaviour: a message with a bad header closes the
 * connection; an OP_MSG is answered with an OP_MSG { ok: 1.0 } whose responseTo is its requestID.
 */
const mongoLike = (socket: net.Socket) => {
  let buffered = Buffer.alloc(0)
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    if (buffered.length < 16) return
    const length = buffered.readInt32LE(0)
    if (length < 16 || length > 48_000_000 || buffered.readInt32LE(12) !== 2013) return void socket.destroy()
    if (buffered.length < length) return
    const ok = Buffer.concat([Buffer.from([0x01]), Buffer.from("ok\0"), Buffer.alloc(8)])
    ok.writeDoubleLE(1, 4)
    const document = Buffer.concat([int32(4 + ok.length + 1), ok, Buffer.from([0])])
    const payload = Buffer.concat([int32(0), Buffer.from([0]), document])
    socket.write(Buffer.concat([int32(16 + payload.length), int32(99), int32(buffered.readInt32LE(4)), int32(2013), payload]))
  })
}

/** Fingerprints twice (fresh connections each time) and requires the same answer both times. */
const twice = async (port: number, options?: { readonly timeoutMs?: number }): Promise<FingerprintResult> => {
  const first = await fingerprint("127.0.0.1", port, options)
  const second = await fingerprint("127.0.0.1", port, options)
  expect(second).toEqual(first)
  return first
}

/**
 * A server that could not start is kept as its error and rethrown by each test that needs it, so
 * a missing package shows up as failed tests naming it (a failing beforeAll would only skip them).
 */
const real: Record<"redis" | "redisAuth" | "postgres" | "mariadb", number | Error> = { redis: 0, redisAuth: 0, postgres: 0, mariadb: 0 }
const ports = { mongo: 0, http: 0, silent: 0, echo: 0, ssh: 0, closed: 0 }
const realPort = (name: keyof typeof real): number => {
  const port = real[name]
  if (port instanceof Error) throw port
  return port
}

beforeAll(async () => {
  const failed = (e: unknown) => (e instanceof Error ? e : new Error(String(e)))
  ;[real.redis, real.redisAuth, real.postgres, real.mariadb] = await Promise.all([
    startRedis().catch(failed),
    startRedis(["--requirepass", "x"]).catch(failed),
    startPostgres().catch(failed),
    startMariadb().catch(failed),
  ])
  ports.mongo = await listen(net.createServer(mongoLike))
  ports.http = await listen(http.createServer((_req, res) => res.end("hello")))
  ports.silent = await listen(net.createServer(() => undefined))
  ports.echo = await listen(net.createServer((s) => s.pipe(s)))
  ports.ssh = await listen(net.createServer((s) => s.write("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")))
  ports.closed = await freePort()
}, 120_000)

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
}, 60_000)

describe("fingerprint recognises real data stores", () => {
  it("redis answers PING with +PONG", async () => {
    expect(await twice(realPort("redis"))).toEqual({ engine: "redis", evidence: 'answered inline PING with "+PONG"' })
  })

  it("redis with a password is still recognised by its NOAUTH error", async () => {
    const result = await twice(realPort("redisAuth"))
    expect(result.engine).toBe("redis")
    expect(result.evidence).toMatch(/^answered inline PING with "-NOAUTH/)
  })

  it("postgres answers SSLRequest with 'N' (no TLS configured)", async () => {
    expect(await twice(realPort("postgres"))).toEqual({ engine: "postgres", evidence: "answered SSLRequest with 'N'" })
  })

  it("mariadb greets first with a protocol 10 handshake naming its version", async () => {
    const result = await twice(realPort("mariadb"))
    expect(result.engine).toBe("mysql")
    expect(result.evidence).toMatch(/^sent a MySQL handshake first \(protocol 10, server ".*MariaDB.*"\)$/)
  })

  it("a MongoDB wire responder answers OP_MSG hello with an OP_MSG reply", async () => {
    const result = await twice(ports.mongo)
    expect(result.engine).toBe("mongodb")
    expect(result.evidence).toBe("answered OP_MSG hello with an OP_MSG reply")
  })

  it("recognition is quick: a real server answers long before the deadline", async () => {
    for (const port of [realPort("redis"), realPort("postgres"), realPort("mariadb"), ports.mongo]) {
      const t0 = performance.now()
      expect((await fingerprint("127.0.0.1", port)).engine).toBeDefined()
      expect(performance.now() - t0).toBeLessThan(1000)
    }
  })
})

describe("fingerprint does not mistake other services for data stores", () => {
  it("an HTTP server is not redis (its 400 is not a RESP error)", async () => {
    const result = await twice(ports.http)
    expect(result.engine).toBeUndefined()
    expect(result.evidence).toMatch(/^no recognisable answer within 1500 ms \(first answer: "HTTP\/1\.1 400/)
  })

  it("a silent port is undefined, within the deadline", async () => {
    const t0 = performance.now()
    expect(await fingerprint("127.0.0.1", ports.silent, { timeoutMs: 500 })).toEqual({ engine: undefined, evidence: "no recognisable answer within 500 ms" })
    expect(performance.now() - t0).toBeLessThan(800)
  })

  it("an echo server is not mongodb (its echo does not answer our request id)", async () => {
    expect((await twice(ports.echo)).engine).toBeUndefined()
  })

  it("a server that speaks first but not as MySQL is undefined without further probes", async () => {
    expect(await twice(ports.ssh)).toEqual({ engine: undefined, evidence: 'spoke first, not as MySQL: "SSH-2.0-OpenSSH_9.2p1 Debian-2"' })
  })

  it("a closed port is 'connection refused'", async () => {
    expect(await twice(ports.closed)).toEqual({ engine: undefined, evidence: "connection refused" })
  })

  it("never throws, even for a port that cannot exist", async () => {
    const result = await fingerprint("127.0.0.1", 70_000)
    expect(result.engine).toBeUndefined()
    expect(result.evidence).toMatch(/^could not connect: /)
  })
})

describe("fingerprint recognises refusals replayed from real servers", () => {
  const replay = async (answer: (request: Buffer) => Buffer | undefined, first?: Buffer) =>
    listen(
      net.createServer((s) => {
        if (first !== undefined) s.end(first)
        s.on("data", (request: Buffer) => {
          const reply = answer(request)
          if (reply !== undefined) s.end(reply)
        })
      }),
    )

  it("a MySQL server refusing this host sends an error packet first: still mysql", async () => {
    const message = Buffer.from("Host '172.17.0.1' is not allowed to connect to this MariaDB server")
    const payload = Buffer.concat([Buffer.from([0xff, 0x6a, 0x04]), message]) // error 1130
    const header = Buffer.from([payload.length & 0xff, payload.length >> 8, 0, 0])
    const port = await replay(() => undefined, Buffer.concat([header, payload]))
    expect(await twice(port)).toEqual({ engine: "mysql", evidence: `sent a MySQL error packet first (1130: "${message.toString()}")` })
  })

  it("a postgres answering SSLRequest with an ErrorResponse: still postgres", async () => {
    const fields = Buffer.from("SFATAL\0C08P01\0Munsupported frontend protocol 1234.5679\0\0")
    const length = Buffer.alloc(4)
    length.writeUInt32BE(4 + fields.length)
    const port = await replay((request) => (request.length === 8 && request.readUInt32BE(4) === 80877103 ? Buffer.concat([Buffer.from("E"), length, fields]) : undefined))
    const result = await twice(port)
    expect(result.engine).toBe("postgres")
    expect(result.evidence).toBe('answered SSLRequest with an ErrorResponse "FATAL: unsupported frontend protocol 1234.5679"')
  })
})
