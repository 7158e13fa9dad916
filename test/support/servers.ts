/**
 * Real servers from Debian packages for tests, each on a free 127.0.0.1 port with its own temp
 * data directory, stopped by pid (never by name) and its directory removed. A missing binary is
 * an error naming the apt package, so a test that needs it fails and says what to install.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { freePort, requireBinary, type RealServer, startServer, tempDir } from "../../src/demo/servers.ts"

// The process-start code (and PostgreSQL and Redis) is shared with the data demo: src/demo/servers.ts.
export { freePort, type PostgresOptions, type RealServer, startPostgres, startRedis } from "../../src/demo/servers.ts"

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
  const files = ["mysql_system_tables.sql", "mysql_performance_tables.sql", "mysql_system_tables_data.sql"].map((f) => {
    if (!existsSync(join(share, f))) throw new Error(`MariaDB's ${f} not found in ${share}: apt-get install -y mariadb-server`)
    return join(share, f)
  })
  const sql = ["create database if not exists mysql;", "use mysql;", "SET @auth_root_socket='root';", ...files.map((f) => readFileSync(f, "utf8"))].join("\n")
  execFileSync(bin, ["--no-defaults", "--bootstrap", `--datadir=${dir}`, "--user=root", "--log-warnings=0", "--enforce-storage-engine=", "--max-allowed-packet=8M", ...mariadbFast], { input: sql, stdio: ["pipe", "pipe", "pipe"] })
}

/** mariadbd on a free port with its own data dir (`dir` in the result: its socket is `<dir>/sock`). */
export const startMariadb = async (options: MariadbOptions = {}): Promise<RealServer & { readonly dir: string }> => {
  const bin = requireBinary(["/usr/sbin/mariadbd"], "mariadbd", "mariadb-server")
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
  const bin = requireBinary(["/usr/bin/memcached"], "memcached", "memcached")
  const dir = tempDir("memcached")
  const port = await freePort()
  // -U 0: no UDP listener; -u root: memcached refuses to run as root without naming a user.
  return startServer("memcached", bin, ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "8", "-u", "root"], port, { dir })
}

export const startEtcd = async (): Promise<RealServer> => {
  const bin = requireBinary(["/usr/bin/etcd"], "etcd", "etcd-server")
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
  const bin = requireBinary(["/usr/sbin/clickhouse-server"], "clickhouse-server", "clickhouse-server")
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
  const bin = requireBinary(["/usr/sbin/nats-server"], "nats-server", "nats-server")
  const dir = tempDir("nats")
  const port = await freePort()
  return startServer("nats-server", bin, ["-a", "127.0.0.1", "-p", String(port)], port, { dir })
}
