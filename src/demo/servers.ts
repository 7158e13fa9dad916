/**
 * Real servers from the host's packages (redis-server, PostgreSQL…), each on a free 127.0.0.1
 * port with its own temp directory, for the data demo and the tests: started as children, waited
 * for until their port accepts connections, and stopped by pid — a polite signal, SIGKILL after a
 * grace period, then waiting for the exit — before their directory is removed. A missing binary
 * is a `MissingServer` naming the Debian package to install.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"

export interface RealServer {
  readonly what: string
  readonly port: number
  readonly pid: number
  /** Its temp directory (data, sockets), removed by `stop`. */
  readonly dir: string
  /** What the server printed so far (its log, where it logs to the console). */
  readonly output: () => string
  /** The polite signal, SIGKILL after the grace period, waits for the exit, then removes `dir`. Idempotent. */
  readonly stop: () => Promise<void>
}

/** A server binary that is not installed: says which package brings it. */
export class MissingServer extends Error {
  readonly what: string
  readonly aptPackage: string
  constructor(what: string, aptPackage: string, looked: string) {
    super(`${what} not found (looked in ${looked}): install it with \`apt-get install -y ${aptPackage}\` (Debian/Ubuntu)`)
    this.name = "MissingServer"
    this.what = what
    this.aptPackage = aptPackage
  }
}

/** A port nothing listens on right now (the kernel's choice on 127.0.0.1). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer()
    s.on("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The first executable among `candidates`, else a `MissingServer`. */
export const requireBinary = (candidates: ReadonlyArray<string>, what: string, aptPackage: string): string => {
  const found = candidates.find(executable)
  if (found === undefined) throw new MissingServer(what, aptPackage, candidates.length === 0 ? "no candidate" : candidates.join(", "))
  return found
}

/** `name` on PATH or in the system directories that are often not on it. */
const onPath = (name: string) => [...(process.env["PATH"] ?? "").split(delimiter).filter((d) => d !== ""), "/usr/sbin", "/usr/local/bin", "/usr/bin"].map((d) => join(d, name))

/** redis-server: SHIFTUP_REDIS_SERVER when set, else on PATH or in the usual system directories. */
export const redisServerBin = () => {
  const named = process.env["SHIFTUP_REDIS_SERVER"]
  return requireBinary(named === undefined ? onPath("redis-server") : [named], "redis-server", "redis-server")
}

/**
 * PostgreSQL's server binaries: SHIFTUP_POSTGRES_BINDIR when set, else the newest
 * /usr/lib/postgresql/<major>/bin, else `pg_config --bindir`.
 */
const postgresBinDirs = (): ReadonlyArray<string> => {
  const named = process.env["SHIFTUP_POSTGRES_BINDIR"]
  if (named !== undefined) return [named]
  const root = "/usr/lib/postgresql"
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : []
  const dirs = versions.map((v) => join(root, v, "bin"))
  try {
    dirs.push(execFileSync("pg_config", ["--bindir"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim())
  } catch {
    // No pg_config (libpq-dev) either: the candidates so far are all there is.
  }
  return dirs
}

export const postgresBin = (name: string) => requireBinary(postgresBinDirs().map((d) => join(d, name)), `PostgreSQL's ${name}`, "postgresql")

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `shiftup-${prefix}-`))

const isUp = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.destroy()
      resolve(true)
    })
    s.on("error", () => resolve(false))
  })

/** Resolves once `port` accepts a TCP connection; fails early, with the server's output, if it exits. */
const waitForPort = async (port: number, child: ChildProcess, output: () => string, what: string) => {
  const until = performance.now() + 30_000
  while (performance.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${output()}`)
    if (await isUp(port)) return
    // Polling: a server announces readiness in its own words (or not at all), a port is universal.
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within 30 s:\n${output()}`)
}

/**
 * Retries `connect` while `server` is starting up: its port opens before it accepts sessions
 * (PostgreSQL: "the database system is starting up"). Fails after 30 s with the server's output.
 */
export const whenUp = async <A>(what: string, server: RealServer, connect: () => Promise<A>): Promise<A> => {
  const until = performance.now() + 30_000
  for (;;) {
    try {
      return await connect()
    } catch (e) {
      if (performance.now() > until) throw new Error(`${what} did not accept a session within 30 s: ${String(e)}\n${server.output()}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

export interface StartOptions {
  readonly uid?: number
  readonly gid?: number
  /** The polite signal; default SIGTERM. */
  readonly stopSignal?: NodeJS.Signals
  /** How long `stop` waits after the polite signal before SIGKILL; default 10 s. */
  readonly killAfterMs?: number
  /**
   * In its own process group, so a Ctrl-C at the terminal does not reach it: the demo still
   * needs the server to roll back, then stops it itself.
   */
  readonly detached?: boolean
  /**
   * Linux: the kernel sends the server its polite signal when the process that started it dies,
   * even by SIGKILL (`setpriv --pdeathsig`, util-linux), so a killed demo leaves no server
   * running. Without setpriv the server is started as is.
   */
  readonly dieWithParent?: boolean
  /** Removed after the process exits. */
  readonly dir: string
}

const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find(executable)

/** Spawns a server, waits for its port, and returns how to stop it by pid. */
export const startServer = async (what: string, command: string, args: ReadonlyArray<string>, port: number, options: StartOptions): Promise<RealServer> => {
  const stopSignal = options.stopSignal ?? "SIGTERM"
  // setpriv execs the server: the pid is the server's.
  const [file, argv] = options.dieWithParent === true && setpriv !== undefined ? [setpriv, ["--pdeathsig", stopSignal.replace(/^SIG/, ""), "--", command, ...args]] : [command, args]
  const child = spawn(file, argv, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  })
  let output = ""
  child.stdout?.on("data", (d: Buffer) => void (output += d.toString()))
  child.stderr?.on("data", (d: Buffer) => void (output += d.toString()))
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  // A spawn failure (ENOENT…) is reported as 'error' and then 'exit': waitForPort sees the exit.
  child.on("error", (e) => void (output += `\n${e.message}`))
  const running = () => child.exitCode === null && child.signalCode === null && child.pid !== undefined
  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      if (running()) {
        child.kill(stopSignal)
        const timer = setTimeout(() => running() && child.kill("SIGKILL"), options.killAfterMs ?? 10_000)
        await exited
        clearTimeout(timer)
      }
      rmSync(options.dir, { recursive: true, force: true })
    })())
  try {
    await waitForPort(port, child, () => output, what)
  } catch (e) {
    await stop()
    throw e
  }
  return { what, port, pid: child.pid ?? -1, dir: options.dir, output: () => output, stop }
}

export type ServerOptions = Pick<StartOptions, "killAfterMs" | "detached" | "dieWithParent">

/** redis-server without persistence; `extra` adds flags such as `["--requirepass", "x"]` (tests only: a flag shows in `ps`). */
export const startRedis = async (extra: ReadonlyArray<string> = [], options: ServerOptions = {}): Promise<RealServer> => {
  const bin = redisServerBin()
  const dir = tempDir("redis")
  const port = await freePort()
  return startServer("redis-server", bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir, ...extra], port, { dir, ...options })
}

export interface PostgresOptions extends ServerOptions {
  /** Extra server flags, e.g. `["-c", "log_connections=on"]` (its log is the server's `output()`). */
  readonly args?: ReadonlyArray<string>
  /** Replaces pg_hba.conf (initdb's allows everyone without a password). */
  readonly hba?: string
}

/**
 * initdb into a temp dir, then postgres on a free 127.0.0.1 port with its unix socket in that dir
 * (`server.dir`). Postgres refuses to run as root, so as root it runs as the `postgres` user the
 * package creates. Its polite signal is SIGINT, the "fast" shutdown: SIGTERM ("smart") waits for
 * every client to leave, and a SIGKILLed postmaster leaves its backends behind.
 */
export const startPostgres = async (options: PostgresOptions = {}): Promise<RealServer> => {
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
  try {
    execFileSync(initdb, ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "--no-instructions"], { stdio: "pipe", ...asUser })
  } catch (e) {
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
  if (options.hba !== undefined) writeFileSync(join(data, "pg_hba.conf"), options.hba)
  const port = await freePort()
  return startServer("postgres", postgres, ["-D", data, "-p", String(port), "-k", dir, "-h", "127.0.0.1", "-c", "fsync=off", ...(options.args ?? [])], port, {
    ...asUser,
    dir,
    stopSignal: "SIGINT",
    ...(options.killAfterMs === undefined ? {} : { killAfterMs: options.killAfterMs }),
    ...(options.detached === undefined ? {} : { detached: options.detached }),
    ...(options.dieWithParent === undefined ? {} : { dieWithParent: options.dieWithParent }),
  })
}
