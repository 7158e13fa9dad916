/**
 * The data lab's application: a small shop API on 127.0.0.1 keeping its sessions in Redis and its
 * users and orders in PostgreSQL — with one planted weakness and three defences for the data
 * experiments to find:
 *
 * - `GET /admin` (cookie `sid`) trusts the role it reads back from the session store: a role
 *   rewritten to "admin" in Redis is admin (the weakness); a session that does not parse, or is
 *   not a string, is no session (401, never 500).
 * - `GET /staff?user=N` reads the role from PostgreSQL and checks its HMAC (`role_sig`, a key the
 *   database does not hold): a role flipped in the database fails closed (409).
 * - `GET /integrity/alerts?run=<id>` lists the integrity alerts the database raised (its audit
 *   trigger notifies `integrity_alert` when a role becomes admin), those of one shiftup run when
 *   `run` is given (the trigger records the writer's `application_name`).
 * - `GET /orders` (cookie `sid`) checks every order row's shape before answering: garbled or
 *   encrypted rows fail closed (503, a fixed message), never a 200 with garbage nor a stack trace.
 */
import { createHmac } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** The few calls the app makes to Redis (the `redis` client's shape). */
export interface SessionStore {
  readonly get: (key: string) => Promise<string | null>
}

/** The few calls the app makes to PostgreSQL (a `pg.Pool`'s shape). */
export interface Database {
  readonly query: (sql: string, values?: ReadonlyArray<unknown>) => Promise<{ readonly rows: ReadonlyArray<Record<string, unknown>> }>
}

export interface IntegrityAlert {
  readonly user: number
  readonly from: string | null
  readonly to: string
  /** The `application_name` of the session that wrote the role. */
  readonly by: string
  readonly at: string
}

export interface LabAppOptions {
  readonly sessions: SessionStore
  readonly db: Database
  /** The alerts received so far (the app's LISTEN connection appends to it). */
  readonly alerts: ReadonlyArray<IntegrityAlert>
  /** The key of the roles' HMAC. */
  readonly signingKey: string
  /** `false`: /staff trusts the role column (no signature check). Default true. */
  readonly signedRoles?: boolean
}

export interface LabApp {
  readonly url: string
  readonly port: number
  readonly close: () => Promise<void>
}

export const signRole = (key: string, id: number, role: string) => createHmac("sha256", key).update(`${id}:${role}`).digest("hex")

const ORDER_STATUS = new Set(["placed", "paid", "shipped"])
const ORDER_ITEM = /^[A-Za-z0-9 ,.'-]{1,60}$/

type Answer = readonly [status: number, body: unknown]

const session = async (store: SessionStore, cookie: string | undefined): Promise<{ readonly user: string; readonly role: unknown } | undefined> => {
  const sid = /(?:^|;\s*)sid=([A-Za-z0-9_-]+)/.exec(cookie ?? "")?.[1]
  if (sid === undefined) return undefined
  let raw: string | null
  try {
    raw = await store.get(`session:${sid}`)
  } catch {
    // WRONGTYPE (a session that is not a string any more) is no session either.
    return undefined
  }
  if (raw === null) return undefined
  try {
    const parsed = JSON.parse(raw) as unknown
    if (typeof parsed !== "object" || parsed === null) return undefined
    const { user, role } = parsed as { readonly user?: unknown; readonly role?: unknown }
    return typeof user === "string" ? { user, role } : undefined
  } catch {
    return undefined
  }
}

const routes = (o: LabAppOptions) => async (req: http.IncomingMessage): Promise<Answer> => {
  const url = new URL(req.url ?? "/", "http://lab")
  switch (url.pathname) {
    case "/health":
      return [200, { ok: true }]
    case "/admin": {
      const s = await session(o.sessions, req.headers.cookie)
      if (s === undefined) return [401, { error: "no session" }]
      // The planted weakness: the role is whatever the session store says.
      return s.role === "admin" ? [200, { admin: s.user }] : [403, { error: "not an admin" }]
    }
    case "/staff": {
      const id = Number(url.searchParams.get("user"))
      if (!Number.isInteger(id)) return [400, { error: "user must be a number" }]
      const row = (await o.db.query("SELECT role, role_sig FROM users WHERE id = $1", [id])).rows[0] as { role: string; role_sig: string } | undefined
      if (row === undefined) return [404, { error: "no such user" }]
      if ((o.signedRoles ?? true) && row.role_sig !== signRole(o.signingKey, id, row.role)) return [409, { error: "integrity check failed: the role's signature does not match" }]
      return row.role === "admin" ? [200, { staff: id }] : [403, { error: "not an admin" }]
    }
    case "/orders": {
      const s = await session(o.sessions, req.headers.cookie)
      if (s === undefined) return [401, { error: "no session" }]
      const { rows } = await o.db.query("SELECT o.id, o.item, o.amount_cents, o.status FROM orders o JOIN users u ON u.id = o.user_id WHERE u.name = $1 ORDER BY o.id", [s.user])
      const sound = rows.every((r) => typeof r["item"] === "string" && ORDER_ITEM.test(r["item"]) && typeof r["status"] === "string" && ORDER_STATUS.has(r["status"]))
      // Fails closed: rows that are not what orders look like are not served, nor echoed.
      return sound ? [200, { orders: rows }] : [503, { error: "orders are unavailable: their data failed an integrity check" }]
    }
    case "/integrity/alerts": {
      const run = url.searchParams.get("run")
      return [200, run === null ? o.alerts : o.alerts.filter((a) => a.by === `shiftup run ${run}`.slice(0, 63))]
    }
    default:
      return [404, { error: "not found" }]
  }
}

/** Starts the app on a free 127.0.0.1 port. Any unexpected error is a bare 500: no stack, no message. */
export const startLabApp = (options: LabAppOptions): Promise<LabApp> => {
  const route = routes(options)
  const server = http.createServer((req, res) => {
    const send = ([status, body]: Answer) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))
    route(req).then(send, () => send([500, { error: "internal error" }]))
  })
  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          }),
      })
    })
  })
}
