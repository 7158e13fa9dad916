/**
 * The embedded demo lab: a small "staging" system on loopback — a gateway, an auth service, an
 * alert sink and a control port with a fault switch for the auth service. It has one planted
 * weakness: when the auth service is *slow*, the gateway's auth call times out and it fails
 * OPEN (serves the admin page). When auth is down or erroring, it fails closed and alerts.
 *
 * A second weakness needs two faults in one order, the kind hand-written experiments miss: the
 * gateway keeps a session cache, and when auth comes back while that cache is down it re-warms
 * from a stale fallback list that grants everyone — the admin page is open until the cache is
 * back. Auth down (or erroring) alone, the cache down alone, or the cache back before auth: all
 * fail closed. `startLab({ orderingBug: false })` is the fixed gateway.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as Resource from "../Resource.ts"
import { fail, InvalidConfig } from "../ShiftupError.ts"

export type AuthMode = "ok" | "down" | "slow" | "error"
export type ServiceMode = "ok" | "down"

export interface Alert {
  readonly at: string
  readonly source: string
  readonly kind: string
  readonly detail: string
  /** The run id of the request that caused it (from `x-shiftup-run-id`). */
  readonly runId?: string
}

export interface LabPorts {
  readonly gateway: number
  readonly auth: number
  readonly alerts: number
  readonly control: number
}

export interface Lab {
  readonly ports: LabPorts
  readonly urls: { readonly gateway: string; readonly auth: string; readonly alerts: string; readonly control: string }
  readonly authMode: () => AuthMode
  readonly cacheMode: () => ServiceMode
  readonly alertsMode: () => ServiceMode
  readonly alerts: () => ReadonlyArray<Alert>
  /** Requests seen by each service, for tests. */
  readonly hits: { gateway: number; auth: number; alerts: number; control: number }
  readonly close: () => Promise<void>
}

/** The token the lab's auth service accepts. */
export const adminToken = "demo-admin-token"

/** How long the gateway waits for auth; "slow" mode answers after 1.5 s, beyond it. */
export const gatewayAuthTimeoutMs = 300
const slowAuthMs = 1500

/**
 * Base port of the lab: `SHIFTUP_LAB_PORT` or 47180; the four services use base … base+3.
 * Anything but a whole number from 1 to 65532 is an `InvalidConfig` naming the variable.
 */
export const basePort = (): number => {
  const raw = process.env["SHIFTUP_LAB_PORT"]
  if (raw === undefined) return 47180
  const port = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN
  if (Number.isInteger(port) && port >= 1 && port <= 65532) return port
  throw fail(
    new InvalidConfig({
      source: "(environment)",
      issues: [{ path: "SHIFTUP_LAB_PORT", message: `${JSON.stringify(raw)} is not a base port: set it to a whole number from 1 to 65532 (the lab uses it and the three ports after it), or unset it for 47180` }],
    }),
  )
}

export const portsFrom = (base: number): LabPorts => ({ gateway: base, auth: base + 1, alerts: base + 2, control: base + 3 })

const readBody = (req: http.IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = ""
    req.on("data", (c: Buffer) => (body += c.toString("utf8")))
    req.on("end", () => resolve(body))
    req.on("error", () => resolve(body))
  })

const json = (res: http.ServerResponse, status: number, value: unknown) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(value))
}

const listen = (server: http.Server, port: number) =>
  new Promise<number>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port))
  })

export interface LabOptions {
  /** Base port; 0 picks a free port for each service. Default `SHIFTUP_LAB_PORT` or 47180. */
  readonly base?: number
  /** Plant the auth-recovers-before-the-cache weakness (default true); false is the fixed gateway. */
  readonly orderingBug?: boolean
}

/**
 * Starts the lab on `127.0.0.1`. With `base: 0` every service picks a free port.
 *
 * @example
 * const lab = await startLab()
 * // … run experiments …
 * await lab.close()
 */
export const startLab = async (options: LabOptions = {}): Promise<Lab> => {
  const base = options.base ?? basePort()
  let mode: AuthMode = "ok"
  let cache: ServiceMode = "ok"
  let alertsMode: ServiceMode = "ok"
  /** The ordering weakness armed: auth came back while the cache was down. */
  let staleFallback = false
  const alerts: Array<Alert> = []
  const hits = { gateway: 0, auth: 0, alerts: 0, control: 0 }
  const pending = new Set<NodeJS.Timeout>()
  const ports = { gateway: 0, auth: 0, alerts: 0, control: 0 }
  /** Where the gateway calls auth: its own port, or another loopback port (a fault proxy) set through the control port. */
  let authRoute: number | null = null

  const auth = http.createServer(async (req, res) => {
    hits.auth++
    await readBody(req)
    if (mode === "down") return req.socket.destroy()
    if (mode === "error") return json(res, 500, { error: "auth backend unavailable" })
    const answer = () => {
      const ok = req.headers.authorization === `Bearer ${adminToken}`
      json(res, ok ? 200 : 401, ok ? { user: "admin" } : { error: "invalid token" })
    }
    if (mode === "slow") {
      const t = setTimeout(() => {
        pending.delete(t)
        if (!res.destroyed) answer()
      }, slowAuthMs)
      pending.add(t)
    } else answer()
  })

  const raiseAlert = (kind: string, detail: string, req: http.IncomingMessage) => {
    const runId = req.headers["x-shiftup-run-id"]
    const body = JSON.stringify({ source: "gateway", kind, detail, ...(typeof runId === "string" ? { runId } : {}) })
    const r = http.request({ host: "127.0.0.1", port: ports.alerts, method: "POST", path: "/alerts", headers: { "content-type": "application/json" } })
    r.on("error", () => undefined)
    r.end(body)
  }

  /** Asks the auth service; resolves to its status, "timeout" or "unreachable". */
  const verify = (authorization: string | undefined) =>
    new Promise<number | "timeout" | "unreachable">((resolve) => {
      const r = http.request(
        { host: "127.0.0.1", port: authRoute ?? ports.auth, method: "POST", path: "/verify", headers: authorization === undefined ? {} : { authorization }, timeout: gatewayAuthTimeoutMs },
        (res) => {
          res.resume()
          res.on("end", () => resolve(res.statusCode ?? 0))
        },
      )
      r.on("timeout", () => {
        r.destroy()
        resolve("timeout")
      })
      r.on("error", () => resolve("unreachable"))
      r.end()
    })

  const gateway = http.createServer(async (req, res) => {
    hits.gateway++
    await readBody(req)
    const path = new URL(req.url ?? "/", "http://lab").pathname
    if (path === "/health") return json(res, 200, { status: "ok" })
    if (path === "/admin") {
      // PLANTED WEAKNESS (ordering): re-warmed from the stale fallback list, which grants everyone.
      if (staleFallback) return json(res, 200, { page: "admin console", from: "stale-fallback" })
      const verdict = await verify(req.headers.authorization)
      if (verdict === 200) return json(res, 200, { page: "admin console" })
      if (verdict === 401 || verdict === 403) return json(res, 401, { error: "unauthorised" })
      if (verdict === "timeout") {
        // PLANTED WEAKNESS: "don't lock admins out when auth is slow" — fails open, silently.
        return json(res, 200, { page: "admin console", degraded: true })
      }
      raiseAlert("auth-unavailable", `auth answered ${verdict}`, req)
      return json(res, 503, { error: "authentication unavailable" })
    }
    json(res, 404, { error: "not found" })
  })

  const sink = http.createServer(async (req, res) => {
    hits.alerts++
    const body = await readBody(req)
    if (alertsMode === "down") return json(res, 503, { error: "alert sink unavailable" })
    const url = new URL(req.url ?? "/", "http://lab")
    if (req.method === "POST" && url.pathname === "/alerts") {
      try {
        const a = JSON.parse(body) as Omit<Alert, "at">
        alerts.push({ at: new Date().toISOString(), source: String(a.source), kind: String(a.kind), detail: String(a.detail), ...(a.runId === undefined ? {} : { runId: String(a.runId) }) })
        return json(res, 202, { accepted: true })
      } catch {
        return json(res, 400, { error: "alert must be JSON" })
      }
    }
    if (req.method === "GET" && url.pathname === "/alerts") {
      const run = url.searchParams.get("run")
      return json(res, 200, run === null ? alerts : alerts.filter((a) => a.runId === run))
    }
    json(res, 404, { error: "not found" })
  })

  const control = http.createServer(async (req, res) => {
    hits.control++
    const body = await readBody(req)
    const url = new URL(req.url ?? "/", "http://lab")
    if (url.pathname !== "/faults") return json(res, 404, { error: "not found" })
    const state = () => ({ auth: mode, cache, alerts: alertsMode, authPort: authRoute ?? ports.auth })
    if (req.method === "GET") return json(res, 200, state())
    let parsed: Record<string, unknown>
    try {
      parsed = JSON.parse(body) as Record<string, unknown>
    } catch {
      return json(res, 400, { error: "body must be JSON" })
    }
    // {"authPort": 41234} routes the gateway's auth calls to 127.0.0.1:41234; null routes them straight again.
    const p = parsed["authPort"]
    if ("authPort" in parsed && p !== null && !(Number.isInteger(p) && (p as number) > 0 && (p as number) < 65536)) return json(res, 400, { error: "authPort must be a port number or null" })
    const a = parsed["auth"]
    if ("auth" in parsed && a !== "ok" && a !== "down" && a !== "slow" && a !== "error") return json(res, 400, { error: 'auth must be one of "ok", "down", "slow", "error"' })
    for (const key of ["cache", "alerts"] as const)
      if (key in parsed && parsed[key] !== "ok" && parsed[key] !== "down") return json(res, 400, { error: `${key} must be "ok" or "down"` })
    if ("authPort" in parsed) authRoute = p as number | null
    if ("cache" in parsed) {
      cache = parsed["cache"] as ServiceMode
      if (cache === "ok") staleFallback = false
    }
    if ("alerts" in parsed) alertsMode = parsed["alerts"] as ServiceMode
    if ("auth" in parsed) {
      const was = mode
      mode = a as AuthMode
      if (options.orderingBug !== false && was !== "ok" && mode === "ok" && cache === "down") staleFallback = true
    }
    return json(res, 200, state())
  })

  const servers = { gateway, auth, alerts: sink, control }
  const wanted = base === 0 ? portsFrom(0) : portsFrom(base)
  try {
    for (const name of ["alerts", "auth", "gateway", "control"] as const) ports[name] = await listen(servers[name], wanted[name])
  } catch (e) {
    for (const s of Object.values(servers)) s.close()
    const err = e as NodeJS.ErrnoException
    throw new Error(
      err.code === "EADDRINUSE" ? `demo lab: port ${String((err as { port?: number }).port ?? "")} is in use; set SHIFTUP_LAB_PORT to a free base port (the lab uses four ports from it)` : `demo lab: ${err.message}`,
    )
  }
  const url = (p: number) => `http://127.0.0.1:${p}`
  return {
    ports,
    urls: { gateway: url(ports.gateway), auth: url(ports.auth), alerts: url(ports.alerts), control: url(ports.control) },
    authMode: () => mode,
    cacheMode: () => cache,
    alertsMode: () => alertsMode,
    alerts: () => alerts,
    hits,
    close: async () => {
      for (const t of pending) clearTimeout(t)
      await Promise.all(
        Object.values(servers).map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections()
              s.close(() => resolve())
            }),
        ),
      )
    },
  }
}

/**
 * The demo lab as a run-owned resource: an experiment that declares it in `resources` gets a lab
 * started after its plan is accepted and closed at the very end of the run (on every exit path),
 * on `base` (default `SHIFTUP_LAB_PORT` or 47180).
 *
 * @example
 * resources: { lab: labResource() }
 */
export const labResource = (options: LabOptions = {}): Resource.Resource<Lab> =>
  Resource.make({ id: "demo-lab", title: "the embedded demo lab", acquire: () => startLab(options), release: (lab) => lab.close() })
