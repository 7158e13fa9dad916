/**
 * Real servers from Debian packages for tests, each on a free 127.0.0.1 port with its own temp
 * data directory, stopped by pid (never by name) and its directory removed. A missing binary is
 * an error naming the apt package, so a test that needs it fails and says what to install.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface RealServer {
  readonly what: string
  readonly port: number
  readonly pid: number
  /** What the server printed so far (its log, where it logs to the console). */
  readonly output: () => string
  /** SIGTERM (or the server's own fast-shutdown signal), SIGKILL after 10 s, then the data dir goes. */
  readonly stop: () => Promise<void>
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

const requireBinary = (path: string | undefined, what: string, aptPackage: string): string => {
  if (path === undefined || !existsSync(path)) throw new Error(`${what} not found (${path ?? "no candidate"}): apt-get install -y ${aptPackage}`)
  return path
}

const postgresBin = (name: string) => {
  const root = "/usr/lib/postgresql"
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : []
  return requireBinary(versions[0] === undefined ? undefined : join(root, versions[0], "bin", name), `postgres ${name}`, "postgresql")
}

const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `shiftup-${prefix}-`))

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

interface StartOptions {
  readonly uid?: number
  readonly gid?: number
  readonly stopSignal?: NodeJS.Signals
  /** Removed after the process exits. */
  readonly dir: string
}

/** Spawns a server, waits for its port, and returns how to stop it by pid. */
const startServer = async (what: string, command: string, args: ReadonlyArray<string>, port: number, options: StartOptions): Promise<RealServer> => {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...(options.uid === undefined ? {} : { uid: options.uid }), ...(options.gid === undefined ? {} : { gid: options.gid }) })
  let output = ""
  child.stdout?.on("data", (d: Buffer) => void (output += d.toString()))
  child.stderr?.on("data", (d: Buffer) => void (output += d.toString()))
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  // A spawn failure (ENOENT…) is reported as 'error' and then 'exit': waitForPort sees the exit.
  child.on("error", (e) => void (output += `\n${e.message}`))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, options.stopSignal ?? "SIGTERM")
      const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && child.signalCode === null && process.kill(child.pid, "SIGKILL"), 10_000)
      await exited
      clearTimeout(timer)
    }
    rmSync(options.dir, { recursive: true, force: true })
  }
  try {
    await waitForPort(port, child, () => output, what)
  } catch (e) {
    await stop()
    throw e
  }
  return { what, port, pid: child.pid ?? -1, output: () => output, stop }
}

/** redis-server without persistence; `extra` adds flags such as `["--requirepass", "x"]`. */
export const startRedis = async (extra: ReadonlyArray<string> = []): Promise<RealServer> => {
  const bin = requireBinary("/usr/bin/redis-server", "redis-server", "redis-server")
  const dir = tempDir("redis")
  const port = await freePort()
  return startServer("redis-server", bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir, ...extra], port, { dir })
}

export interface PostgresOptions {
  /** Extra server flags, e.g. `["-c", "log_connections=on"]` (its log is the server's `output()`). */
  readonly args?: ReadonlyArray<string>
  /** Replaces pg_hba.conf (initdb's allows everyone without a password). */
  readonly hba?: string
}

/** Postgres refuses to run as root, so as root it runs as the `postgres` user the package creates. */
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
  execFileSync(initdb, ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "--no-instructions"], { stdio: "pipe", ...asUser })
  if (options.hba !== undefined) writeFileSync(join(data, "pg_hba.conf"), options.hba)
  const port = await freePort()
  // SIGINT is postgres' "fast" shutdown: it does not wait for clients to go away.
  return startServer("postgres", postgres, ["-D", data, "-p", String(port), "-k", dir, "-h", "127.0.0.1", "-c", "fsync=off", ...(options.args ?? [])], port, { ...asUser, dir, stopSignal: "SIGINT" })
}

export interface MariadbOptions {
  /**
   * Real grant tables (bootstrapped, ~2 s), so users need their passwords; root connects
   * without one over the socket `<dir>/sock`. Default: an empty data dir with
   * --skip-grant-tables, which starts in about a second and lets anyone in.
   */
  readonly grantTables?: boolean
  /** Extra server flags, e.g. `["--general-log=1", "--general-log-file=…"]`. */
  readonly args?: ReadonlyArray<string>
}

// Fast and unsafe on a crash: these servers hold test data only.
const mariadbFast = ["--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--innodb-log-file-size=4M", "--innodb-buffer-pool-size=32M", "--skip-log-bin"]

/** The grant tables, bootstrapped from the package's own SQL (as mariadb-install-db does, without help tables and sys): ~2 s. */
const bootstrapMariadb = (bin: string, dir: string) => {
  const share = "/usr/share/mysql"
  const files = ["mysql_system_tables.sql", "mysql_performance_tables.sql", "mysql_system_tables_data.sql"].map((f) => requireBinary(join(share, f), `MariaDB's ${f}`, "mariadb-server"))
  const sql = ["create database if not exists mysql;", "use mysql;", "SET @auth_root_socket='root';", ...files.map((f) => readFileSync(f, "utf8"))].join("\n")
  execFileSync(bin, ["--no-defaults", "--bootstrap", `--datadir=${dir}`, "--user=root", "--log-warnings=0", "--enforce-storage-engine=", "--max-allowed-packet=8M", ...mariadbFast], { input: sql, stdio: ["pipe", "pipe", "pipe"] })
}

/** mariadbd on a free port with its own data dir (`dir` in the result: its socket is `<dir>/sock`). */
export const startMariadb = async (options: MariadbOptions = {}): Promise<RealServer & { readonly dir: string }> => {
  const bin = requireBinary("/usr/sbin/mariadbd", "mariadbd", "mariadb-server")
  // In memory where the machine has it: InnoDB's first writes are most of a start.
  const dir = options.grantTables === true && existsSync("/dev/shm") ? mkdtempSync("/dev/shm/shiftup-mariadb-") : tempDir("mariadb")
  if (options.grantTables === true) bootstrapMariadb(bin, dir)
  const port = await freePort()
  const server = await startServer(
    "mariadbd",
    bin,
    [
      "--no-defaults",
      `--datadir=${dir}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      `--socket=${join(dir, "sock")}`,
      `--pid-file=${join(dir, "pid")}`,
      ...(options.grantTables === true ? ["--skip-name-resolve", ...mariadbFast] : ["--skip-grant-tables", "--skip-log-bin"]),
      "--user=root",
      ...(options.args ?? []),
    ],
    port,
    { dir },
  )
  return { ...server, dir }
}

export const startMemcached = async (): Promise<RealServer> => {
  const bin = requireBinary("/usr/bin/memcached", "memcached", "memcached")
  const dir = tempDir("memcached")
  const port = await freePort()
  // -U 0: no UDP listener; -u root: memcached refuses to run as root without naming a user.
  return startServer("memcached", bin, ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "8", "-u", "root"], port, { dir })
}

export const startEtcd = async (): Promise<RealServer> => {
  const bin = requireBinary("/usr/bin/etcd", "etcd", "etcd-server")
  const dir = tempDir("etcd")
  const [client, peer] = [await freePort(), await freePort()]
  const clientUrl = `http://127.0.0.1:${client}`
  const peerUrl = `http://127.0.0.1:${peer}`
  return startServer(
    "etcd",
    bin,
    ["--name", "fp", "--data-dir", join(dir, "data"), "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl, "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", `fp=${peerUrl}`, "--log-level", "error"],
    client,
    { dir },
  )
}

/** ClickHouse 18.16 from Debian starts in about half a second from a config naming only its own dirs. */
export const startClickhouse = async (): Promise<RealServer & { readonly nativePort: number }> => {
  const bin = requireBinary("/usr/sbin/clickhouse-server", "clickhouse-server", "clickhouse-server")
  const dir = tempDir("clickhouse")
  const [http, native] = [await freePort(), await freePort()]
  const config = join(dir, "config.xml")
  writeFileSync(
    config,
    `<?xml version="1.0"?>
<yandex>
  <logger><level>error</level><console>1</console></logger>
  <http_port>${http}</http_port>
  <tcp_port>${native}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size>
</yandex>
`,
  )
  return { ...(await startServer("clickhouse-server", bin, [`--config-file=${config}`], http, { dir })), nativePort: native }
}

export const startNats = async (): Promise<RealServer> => {
  const bin = requireBinary("/usr/sbin/nats-server", "nats-server", "nats-server")
  const dir = tempDir("nats")
  const port = await freePort()
  return startServer("nats-server", bin, ["-a", "127.0.0.1", "-p", String(port)], port, { dir })
}
