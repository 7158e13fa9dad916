/**
 * The data lab: a real PostgreSQL and a real redis-server from this machine's packages, and the
 * shop application using both (data-lab-app.ts), everything on 127.0.0.1 free ports. The
 * experiments in experiments/data/ run against it (`npm run demo:data`).
 *
 * - PostgreSQL: initdb into a temp dir; the unix socket in that dir (the superuser `postgres`,
 *   trusted, only there); TCP only for role `app`, by password (scram). The password is set over
 *   the socket connection, never on a command line. Database `shop`: `users` (role signed with an
 *   HMAC), `orders`, and `role_audit`, written by a SECURITY DEFINER trigger `app` cannot touch,
 *   which also raises the `integrity_alert` notification when a role becomes admin.
 * - Redis: no persistence; its password set over the connection (`CONFIG SET requirepass`).
 *   Sessions `session:<user>` as JSON `{ user, role }`.
 *
 * `stop` ends everything it started, by pid (the polite signal, SIGKILL after `killAfterMs`,
 * waiting for each exit), and removes the temp dirs. Should the process holding the lab be
 * killed outright (SIGKILL), the kernel still sends each server its polite signal (servers.ts,
 * `dieWithParent`); only the temp dirs stay then.
 */
import { randomBytes } from "node:crypto"
import { type IntegrityAlert, type LabApp, signRole, startLabApp } from "./data-lab-app.ts"
import { postgresBin, type RealServer, redisServerBin, startPostgres, startRedis, whenUp } from "./servers.ts"

export interface DataLabOptions {
  /** `false`: the app trusts the role column (/staff checks no signature). Default true. */
  readonly signedRoles?: boolean
  /** Orders per user (3 users). Default 400. */
  readonly ordersPerUser?: number
  /** Grace before SIGKILL when stopping a server. Default 5 s. */
  readonly killAfterMs?: number
  /** Servers in their own process group (a terminal's Ctrl-C does not reach them). Default false. */
  readonly detached?: boolean
}

export interface DataLab {
  readonly postgres: RealServer
  readonly redis: RealServer
  readonly app: LabApp
  /** The variables experiments/data/*.ts read: URLs (no password in them) and the passwords. */
  readonly env: Readonly<Record<string, string>>
  /** Every process the lab started, by pid. */
  readonly pids: ReadonlyArray<number>
  /** Every temp dir the lab made (removed by `stop`). */
  readonly dirs: ReadonlyArray<string>
  readonly alerts: ReadonlyArray<IntegrityAlert>
  /** Stops the app, closes the clients, stops both servers and removes their dirs. Idempotent. */
  readonly stop: () => Promise<void>
}

export const USERS = [
  { id: 1, name: "alice", role: "admin" },
  { id: 2, name: "bob", role: "user" },
  { id: 3, name: "carol", role: "user" },
] as const

const ITEMS = ["tea, 250 g", "coffee beans", "oat milk", "dark chocolate", "rye bread", "honey"]
const STATUS = ["placed", "paid", "shipped"]

/** The shop's schema, as `postgres`, with the tables `app` owns created as `app`. */
const SCHEMA = `
CREATE TABLE role_audit (id bigserial PRIMARY KEY, user_id int NOT NULL, old_role text, new_role text, changed_by text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION audit_role() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO role_audit (user_id, old_role, new_role, changed_by) VALUES (NEW.id, OLD.role, NEW.role, current_setting('application_name'));
  IF NEW.role = 'admin' THEN
    PERFORM pg_notify('integrity_alert', json_build_object('user', NEW.id, 'from', OLD.role, 'to', NEW.role, 'by', current_setting('application_name'), 'at', clock_timestamp())::text);
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION audit_role() FROM PUBLIC;
SET ROLE app;
CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL UNIQUE, role text NOT NULL, role_sig text NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users, item text NOT NULL, amount_cents int NOT NULL, status text NOT NULL);
RESET ROLE;
CREATE TRIGGER users_role_audit AFTER UPDATE OF role ON users FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role) EXECUTE FUNCTION audit_role();
`

/** Both servers' binaries exist, or a `MissingServer` naming the package — before anything starts. */
const checkBinaries = () => {
  redisServerBin()
  postgresBin("initdb")
  postgresBin("postgres")
}

export const startDataLab = async (options: DataLabOptions = {}): Promise<DataLab> => {
  checkBinaries()
  // dieWithParent: should the lab's process be killed outright, its servers still stop.
  const serverOptions = { killAfterMs: options.killAfterMs ?? 5000, detached: options.detached ?? false, dieWithParent: true }
  const stops: Array<() => Promise<void>> = []
  const stopAll = async () => {
    // Reverse order: the app and its clients first, the servers last.
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined)
  }
  try {
    const hba = ["local all postgres trust", "host shop app 127.0.0.1/32 scram-sha-256", ""].join("\n")
    // Both at once (initdb is most of the start-up); whichever started is stopped if the other fails.
    const started = await Promise.allSettled([startRedis([], serverOptions), startPostgres({ ...serverOptions, hba, args: ["-c", "password_encryption=scram-sha-256"] })] as const)
    for (const s of started) if (s.status === "fulfilled") stops.push(s.value.stop)
    const [redisStarted, postgresStarted] = started
    if (redisStarted.status === "rejected") throw redisStarted.reason
    if (postgresStarted.status === "rejected") throw postgresStarted.reason
    const [redis, postgres] = [redisStarted.value, postgresStarted.value]

    const [{ createClient }, { default: pg }] = await Promise.all([import("redis"), import("pg")])
    const redisPassword = randomBytes(16).toString("hex")
    const pgPassword = randomBytes(16).toString("hex")
    const signingKey = randomBytes(32).toString("hex")

    // Redis: the password is set over the connection (on a command line it would show in `ps`).
    const redisClient = (password?: string) => {
      const c = createClient({ url: `redis://127.0.0.1:${redis.port}`, ...(password === undefined ? {} : { password }), socket: { reconnectStrategy: false } })
      c.on("error", () => undefined)
      return c
    }
    const bootstrap = await whenUp("redis-server", redis, async () => {
      const c = redisClient()
      await c.connect()
      return c
    })
    await bootstrap.configSet("requirepass", redisPassword)
    bootstrap.destroy()
    const sessions = redisClient(redisPassword)
    await sessions.connect()
    stops.push(async () => sessions.destroy())
    for (const u of USERS) await sessions.set(`session:${u.name}`, JSON.stringify({ user: u.name, role: u.role }))

    // PostgreSQL: the superuser only over the socket in the server's own temp dir.
    const asSuperuser = (database: string) => new pg.Client({ host: postgres.dir, port: postgres.port, user: "postgres", database })
    const admin = await whenUp("postgres", postgres, async () => {
      const c = asSuperuser("postgres")
      c.on("error", () => undefined)
      try {
        await c.connect()
      } catch (e) {
        await c.end().catch(() => undefined)
        throw e
      }
      return c
    })
    await admin.query(`CREATE ROLE app LOGIN PASSWORD ${admin.escapeLiteral(pgPassword)}`)
    await admin.query("CREATE DATABASE shop OWNER app")
    await admin.end()
    const shop = asSuperuser("shop")
    await shop.connect()
    try {
      await shop.query("BEGIN")
      await shop.query(SCHEMA)
      for (const u of USERS) await shop.query("INSERT INTO users VALUES ($1, $2, $3, $4)", [u.id, u.name, u.role, signRole(signingKey, u.id, u.role)])
      const perUser = options.ordersPerUser ?? 400
      await shop.query(
        `INSERT INTO orders SELECT n, 1 + (n - 1) / $1, ($2::text[])[1 + n % $3], 100 + (n * 37) % 9900, ($4::text[])[1 + n % 3] FROM generate_series(1, $1 * ${USERS.length}) AS n`,
        [perUser, ITEMS, ITEMS.length, STATUS],
      )
      await shop.query("COMMIT")
    } finally {
      await shop.end()
    }

    const connection = { host: "127.0.0.1", port: postgres.port, user: "app", password: pgPassword, database: "shop" }
    const pool = new pg.Pool({ ...connection, max: 4 })
    pool.on("error", () => undefined)
    stops.push(() => pool.end())
    const alerts: Array<IntegrityAlert> = []
    const listener = new pg.Client(connection)
    listener.on("error", () => undefined)
    await listener.connect()
    stops.push(() => listener.end())
    listener.on("notification", (n) => {
      if (n.channel === "integrity_alert" && n.payload !== undefined) alerts.push(JSON.parse(n.payload) as IntegrityAlert)
    })
    await listener.query("LISTEN integrity_alert")

    const app = await startLabApp({ sessions, db: { query: (sql, values) => pool.query(sql, values === undefined ? undefined : [...values]) }, alerts, signingKey, signedRoles: options.signedRoles ?? true })
    stops.push(app.close)

    let stopping: Promise<void> | undefined
    return {
      postgres,
      redis,
      app,
      alerts,
      env: {
        SHIFTUP_SESSIONS_REDIS_URL: `redis://127.0.0.1:${redis.port}`,
        SHIFTUP_SESSIONS_REDIS_PASSWORD: redisPassword,
        SHIFTUP_SESSIONS_APP_URL: app.url,
        SHIFTUP_PG_URL: `postgres://app@127.0.0.1:${postgres.port}/shop`,
        SHIFTUP_PG_PASSWORD: pgPassword,
        SHIFTUP_APP_URL: app.url,
      },
      pids: [redis.pid, postgres.pid],
      dirs: [redis.dir, postgres.dir],
      stop: () => (stopping ??= stopAll()),
    }
  } catch (e) {
    await stopAll()
    throw e
  }
}
