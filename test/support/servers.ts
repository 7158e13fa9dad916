/**
 * Real servers from Debian packages for tests, each on a free 127.0.0.1 port with its own temp
 * data directory, stopped by pid (never by name) and its directory removed. A missing binary is
 * an error naming the apt package, so a test that needs it fails and says what to install.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { freePort, requireBinary, type RealServer, startServer, tempDir } from "../../src/demo/servers.ts"

// The process-start code (and PostgreSQL and Redis) is shared with the data demo: src/demo/servers.ts.
export { freePort, type PostgresOptions, type RealServer, startPostgres, startRedis } from "../../src/demo/servers.ts"

/** An empty data dir with --skip-grant-tables starts in about a second; no mariadb-install-db needed. */
export const startMariadb = async (): Promise<RealServer> => {
  const bin = requireBinary(["/usr/sbin/mariadbd"], "mariadbd", "mariadb-server")
  const dir = tempDir("mariadb")
  const port = await freePort()
  return startServer(
    "mariadbd",
    bin,
    ["--no-defaults", `--datadir=${dir}`, `--port=${port}`, "--bind-address=127.0.0.1", `--socket=${join(dir, "sock")}`, `--pid-file=${join(dir, "pid")}`, "--skip-grant-tables", "--user=root", "--skip-log-bin"],
    port,
    { dir },
  )
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
